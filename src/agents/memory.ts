// An Agent whose containers live in a Map: for scale simulations and pure tests of the reconciler, never for real work.
import type { Agent, AgentContainer, ContainerExit, ContainerSpec, LaunchedContainer, LaunchError } from './types.js';

/**
 * Launches are instant and every container "runs". Addresses are on
 * 127.255.0.0/16 (loopback, where nothing of ours listens), so a probe that
 * was not faked by mistake can never leave the machine; the last octet is
 * the agent's `host` number, so the agents of a simulated cluster never
 * hand out one address twice (as real hosts, each with its own address,
 * never do). Subclasses add behaviour by overriding `launch` and calling
 * `super.launch`.
 */
export class MemoryAgent implements Agent {
  readonly address: string;
  readonly containers = new Map<string, AgentContainer>();
  /** Launches asked for, including failed ones. */
  launches = 0;
  /** When set, every launch fails with it. */
  failWith: LaunchError | undefined;
  private next = 1;

  constructor(
    readonly managerId: string,
    /** 1..255: the last octet of this agent's addresses. */
    private readonly host = 1,
  ) {
    this.address = `127.255.0.${host}`;
  }

  async launch(spec: ContainerSpec): Promise<LaunchedContainer> {
    this.launches++;
    if (this.failWith) throw this.failWith;
    const n = this.next++;
    const containerId = `${this.managerId}-c${n}`;
    const address = `127.255.${Math.floor(n / 60000) % 256}.${this.host}:${1024 + (n % 60000)}`;
    this.containers.set(containerId, {
      containerId,
      instanceId: spec.instanceId,
      endpoint: spec.endpoint,
      slots: spec.slots,
      running: true,
      state: 'running',
      address,
    });
    return { containerId, address };
  }

  async remove(containerId: string): Promise<void> {
    this.containers.delete(containerId);
  }

  async list(): Promise<AgentContainer[]> {
    return [...this.containers.values()];
  }

  watch(_onExit: (exit: ContainerExit) => void): () => void {
    return () => {};
  }

  async problems(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {}
}
