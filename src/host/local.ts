// Assembles this machine's host role: its manager record, the docker agent, the engine sync with readiness, health and heartbeat, and its balancer and traffic metrics.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agents/types.js';
import { DockerAgent } from '../docker/agent.js';
import { dockerClient, parseDockerEngine } from '../docker/engine.js';
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
  /** Where the other hosts reach this one's published ports (`--address`); default 127.0.0.1. */
  address?: string;
  /** The engine this host manages (`--docker`); default DOCKER_HOST, else the local socket. */
  docker?: string;
  /** TLS cert directory for a tcp:// engine (`--docker-cert-path`); default DOCKER_CERT_PATH, else ~/.docker. */
  dockerCertPath?: string;
  /** Slots this host offers (`--slots`); default 1000. */
  slots?: number;
  /** Seconds between sweeps (`--interval`). */
  intervalSeconds: number;
  /** This host's balancer and traffic metrics (started and stopped with the host). */
  traffic: HostTraffic;
  /** The agent to use instead of the local Docker engine (simulations and tests). */
  agent?: Agent;
  probe?: ReadinessProbe;
  /** Mints the token each instance gets as REACTOR_TOKEN. */
  instanceToken?: (instanceId: string) => string;
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
    const address = options.address ?? '127.0.0.1';
    // A bad --docker value or a missing TLS file fails here, before anything is registered.
    const engine = options.agent ? undefined : parseDockerEngine(options.docker, { certPath: options.dockerCertPath });
    const docker = engine ? dockerClient(engine) : undefined;
    const problems = engine ? await probeHost(docker, engine.url) : [];
    for (const problem of problems) options.log.warn({ component: 'host' }, problem);
    const managerId = options.agent?.managerId ?? localManagerId(options.dataDir);
    await options.managers.register({
      id: managerId,
      name: options.name,
      address,
      slots: options.slots,
      clouds: ['docker'],
      loadbalancers: ['nginx'],
      problems,
    });
    const agent = options.agent ?? new DockerAgent({ managerId, address, docker, engine: engine?.url, log: options.log });
    let host: LocalHost | undefined;
    const sync = new EngineSync({
      store: options.store,
      bus: options.bus,
      events: options.events,
      instances: options.instances,
      agent,
      apiUrl: () => host?.apiUrl ?? '',
      apiToken: options.instanceToken,
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
   * Starts once the API listens (the address containers reach it on goes
   * into them as REACTOR_API). Resolves once nginx serves; the first sweep (adopting
   * what an earlier process left) goes on.
   */
  async start(apiUrl: string): Promise<void> {
    this.apiUrl = apiUrl;
    void this.sync.start();
    await this.traffic.start(this.managerId);
  }

  /** Stops the engine sync, then the balancer; containers keep running (a restart adopts them), and nginx too with `keepNginx`. */
  async stop(keepNginx = false): Promise<void> {
    await this.sync.stop();
    await this.agent.close();
    await this.traffic.stop(keepNginx);
  }
}
