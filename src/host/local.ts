// Assembles this machine's host role: its manager record, the docker agent, the engine sync with readiness, health and heartbeat, and its balancer and traffic metrics.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agents/types.js';
import { DockerAgent } from '../docker/agent.js';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { InstanceService } from '../instances/service.js';
import type { Logger } from '../log/logger.js';
import { probeHost } from '../managers/probe.js';
import type { ManagerService } from '../managers/service.js';
import type { Store } from '../store/types.js';
import { systemTime, type Time } from '../time/timers.js';
import { EngineSync } from './engine-sync.js';
import { httpReadiness, type ReadinessProbe } from './probe.js';
import type { HostTraffic } from './traffic.js';

export interface LocalHostOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  instances: InstanceService;
  managers: ManagerService;
  dataDir: string;
  /** The manager's name (`--name`). */
  name: string;
  /** Slots this host offers (`--slots`); default 1000. */
  slots?: number;
  /** Seconds between sweeps (`--interval`). */
  intervalSeconds: number;
  /** This host's balancer and traffic metrics (started and stopped with the host). */
  traffic: HostTraffic;
  /** The agent to use instead of the local Docker engine (simulations and tests). */
  agent?: Agent;
  probe?: ReadinessProbe;
  readinessPollMs?: number;
  time?: Time;
  log: Logger;
}

/** The local manager keeps its id across restarts, so its containers and slots stay its own. */
export function localManagerId(dataDir: string): string {
  const file = join(dataDir, 'manager-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}

/**
 * What every server does for its own machine: it registers its manager
 * (slots, clouds, what it lacks), makes its engine match the instances
 * assigned to that manager, and reports what it sees. It never imports the
 * controller; the two meet in the store.
 */
export class LocalHost {
  private apiUrl = '';

  private constructor(
    readonly managerId: string,
    readonly agent: Agent,
    readonly sync: EngineSync,
    readonly traffic: HostTraffic,
  ) {}

  static async create(options: LocalHostOptions): Promise<LocalHost> {
    const problems = options.agent ? [] : await probeHost();
    for (const problem of problems) options.log.warn({ component: 'host' }, problem);
    const managerId = options.agent?.managerId ?? localManagerId(options.dataDir);
    await options.managers.register({
      id: managerId,
      name: options.name,
      address: '127.0.0.1',
      slots: options.slots,
      clouds: ['docker'],
      loadbalancers: ['nginx'],
      problems,
    });
    const agent = options.agent ?? new DockerAgent({ managerId, address: '127.0.0.1', log: options.log });
    let host: LocalHost | undefined;
    const sync = new EngineSync({
      store: options.store,
      bus: options.bus,
      events: options.events,
      instances: options.instances,
      agent,
      apiUrl: () => host?.apiUrl ?? '',
      time: options.time ?? systemTime,
      probe: options.probe ?? httpReadiness,
      // A new instance should join the balancer as soon as it answers.
      readinessPollMs: options.readinessPollMs ?? 50,
      intervalSeconds: options.intervalSeconds,
      log: options.log,
    });
    host = new LocalHost(managerId, agent, sync, options.traffic);
    return host;
  }

  /**
   * Starts once the API listens (its URL goes into containers as
   * REACTOR_API). Resolves once nginx serves; the first sweep (adopting
   * what an earlier process left) goes on.
   */
  async start(apiUrl: string): Promise<void> {
    this.apiUrl = apiUrl;
    void this.sync.start();
    await this.traffic.start();
  }

  /** Stops the engine sync, then the balancer; containers keep running (a restart adopts them), and nginx too with `keepNginx`. */
  async stop(keepNginx = false): Promise<void> {
    await this.sync.stop();
    await this.agent.close();
    await this.traffic.stop(keepNginx);
  }
}
