// The Agent contract: what the control plane asks of a host that runs containers, small enough for a network transport to implement.
import type { DockerSection } from '../config/model.js';

/**
 * Everything a host needs to start one instance, as plain JSON (so a remote
 * agent can receive it over the API unchanged).
 */
export interface ContainerSpec {
  instanceId: string;
  endpoint: string;
  /** Slots the instance takes (also written on the container, so the host can recount). */
  slots: number;
  /** Backend port inside the container; published on the host with an ephemeral port. */
  port: number;
  /** The `[cloud:docker]` section: image, command, user, environment, memLimit, dns, hostname. */
  docker: DockerSection;
  /** GraphQL URL given to the instance as REACTOR_API. */
  apiUrl: string;
  /** The instance's own token, given to it as REACTOR_TOKEN: it allows setInstanceMetrics for this instance only. */
  apiToken?: string;
}

/** A started container. */
export interface LaunchedContainer {
  containerId: string;
  /** `host:port` the balancer uses. */
  address: string;
}

/** One of the agent's own (labelled) containers, as the host sees it now. */
export interface AgentContainer {
  containerId: string;
  instanceId: string;
  endpoint: string;
  slots: number;
  /** True while the container's process runs. */
  running: boolean;
  /** Docker's state word: created, running, exited, dead… */
  state: string;
  /** `host:port`, when the port is published (running containers). */
  address: string | null;
}

/** A container of this agent stopped or vanished (seen in the engine's event stream). */
export interface ContainerExit {
  containerId: string;
  instanceId: string | null;
  endpoint: string | null;
  /** Engine action: die, stop, kill, oom, destroy. */
  action: string;
}

/** Why an agent failed; the reconciler reacts differently to each. */
export type LaunchFailureKind = 'IMAGE_UNAVAILABLE' | 'BAD_SPEC' | 'ENGINE';

/** A launch that failed, with what the engine answered. */
export class LaunchError extends Error {
  constructor(
    readonly kind: LaunchFailureKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LaunchError';
  }
}

/**
 * A host that runs containers for Reactor. The local DockerAgent implements it
 * in-process; a remote agent will implement it over the API. Every method is
 * idempotent where it can be (remove of a missing container succeeds).
 */
export interface Agent {
  /** The manager this agent registers as. */
  readonly managerId: string;
  /** Address published ports are reached on (127.0.0.1 for the local agent). */
  readonly address: string;
  /**
   * Creates and starts a container for `spec`, pulling its image when missing.
   * Fails with a LaunchError; leaves no container behind when it fails.
   */
  launch(spec: ContainerSpec): Promise<LaunchedContainer>;
  /** Stops (briefly) and removes a container; a missing one is not an error. */
  remove(containerId: string): Promise<void>;
  /** The agent's own containers (by label), running or not. */
  list(): Promise<AgentContainer[]>;
  /** Calls `onExit` whenever one of the agent's containers stops or goes away; returns an unsubscribe function. */
  watch(onExit: (exit: ContainerExit) => void): () => void;
  /** What keeps this host from running containers; empty when it can. */
  problems(): Promise<string[]>;
  /** Releases connections and streams. */
  close(): Promise<void>;
}
