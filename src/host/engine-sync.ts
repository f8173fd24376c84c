// Makes this host's Docker engine match the instance records assigned to its manager: launch, adopt, report lost, remove, and clear away what nobody owns.
import type { Agent, AgentContainer, ContainerExit } from '../agents/types.js';
import { LaunchError } from '../agents/types.js';
import { parseEndpointConfigCached } from '../config/index.js';
import type { EndpointConfig } from '../config/model.js';
import { containerSpecFor } from '../docker/spec.js';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { InstanceService } from '../instances/service.js';
import { Lanes } from '../lanes/lanes.js';
import { SingleFlight } from '../lanes/single-flight.js';
import type { Logger } from '../log/logger.js';
import { InstanceEventKinds } from '../model/events.js';
import { CONTROLLER_LEASE } from '../model/states.js';
import type { EndpointRecord, InstanceRecord, Store } from '../store/types.js';
import type { Time, Timer } from '../time/timers.js';
import { groupBy } from '../util/group.js';
import { Health } from './health.js';
import { heartbeat } from './heartbeat.js';
import type { ReadinessProbe } from './probe.js';
import { diffHost, short, type HostAction } from './repair.js';

/** See `EngineSyncOptions.concurrency`. */
export const DEFAULT_SYNC_CONCURRENCY = 32;

export interface EngineSyncOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  instances: InstanceService;
  agent: Agent;
  /** GraphQL URL handed to instances as REACTOR_API (known once the API listens). */
  apiUrl: () => string;
  /** The token handed to an instance as REACTOR_TOKEN (allows setInstanceMetrics for it alone). */
  apiToken?: (instanceId: string) => string;
  time: Time;
  probe: ReadinessProbe;
  /** Milliseconds between readiness probes of a starting instance. */
  readinessPollMs: number;
  /** Seconds between sweeps (repair, health checks, heartbeat); 0 = no timer (tests call `sweep`). */
  intervalSeconds: number;
  /** Syncs of different endpoints that may run at once (engine calls, health probes, memory). */
  concurrency?: number;
  log: Logger;
}

/** This host's containers and every instance record, read once by a sweep and grouped by endpoint. */
interface SweepSnapshot {
  containers: Map<string, AgentContainer[]>;
  records: Map<string, InstanceRecord[]>;
  endpoints: Map<string, EndpointRecord>;
  /** Lane generations read just before the listing: a lane that ran since reads afresh. */
  generations: Map<string, number>;
  /** The whole listing, for the sweep's heartbeat. */
  listed: AgentContainer[];
  /** The controller's term, read after the records (see `sync`): one read for the whole sweep. */
  term: number;
}

interface SyncRequest {
  snapshot: SweepSnapshot | undefined;
  /** Health-check the RUNNING instances in this sync (sweeps do). */
  health: boolean;
}

/**
 * The host side of the desired state. It reacts to what concerns its own
 * manager: a record written STARTING or REMOVING for it, one of its
 * containers exiting, and a sweep every interval (which also checks health
 * and beats the heartbeat). Each endpoint syncs in its own lane; a sync is
 * the pure diff of `repair.ts` applied in order. It never decides how many
 * instances there are: that is the controller's, and they meet only in the
 * store.
 */
export class EngineSync {
  private readonly lanes: Lanes<SyncRequest>;
  readonly health: Health;
  private readonly managerId: string;
  private unwatch: (() => void)[] = [];
  private timer: Timer | undefined;
  private readonly sweeps = new SingleFlight();
  private heartbeatRunning: Promise<void> | undefined;
  private heartbeatAgain: Promise<void> | undefined;
  private stopped = false;
  /** +1 for every launch or removal of a container: a listing taken at another value may be stale. */
  private containerChanges = 0;

  constructor(private readonly options: EngineSyncOptions) {
    this.managerId = options.agent.managerId;
    this.lanes = new Lanes<SyncRequest>({
      run: (endpoint, request) => this.sync(endpoint, request),
      merge: (queued, next) => {
        queued.health ||= next.health;
        queued.snapshot ??= next.snapshot;
      },
      failed: (endpoint, error) => options.log.error({ component: 'host', endpoint, err: error }, `sync failed: ${(error as Error).message}`),
      concurrency: options.concurrency ?? DEFAULT_SYNC_CONCURRENCY,
    });
    this.health = new Health({
      store: options.store,
      instances: options.instances,
      time: options.time,
      probe: options.probe,
      pollMs: options.readinessPollMs,
      exclusive: (endpoint, work) => this.lanes.exclusive(endpoint, work),
      configOf: async (endpoint) => {
        const record = await options.store.endpoints.get(endpoint);
        return record ? this.parse(record) : null;
      },
      log: options.log,
    });
  }

  /** Listens, then sweeps once now (adopting what an earlier process left) and every interval after. */
  start(): Promise<void> {
    const { agent, bus, time, intervalSeconds } = this.options;
    this.unwatch.push(agent.watch((exit) => this.onExit(exit)));
    this.unwatch.push(
      bus.watch('instanceChanges', (change) => {
        const status = change.instance.status;
        if (change.instance.managerId === this.managerId && (status === 'STARTING' || status === 'REMOVING')) void this.request(change.endpoint);
      }),
    );
    if (intervalSeconds > 0) {
      // Half an interval out of phase with the controller's evaluations: the health probes of a sweep are
      // connections to every instance, and must not be counted as traffic in the sample taken before a decision.
      const ms = intervalSeconds * 1000;
      this.timer = time.timers.setTimeout(() => {
        if (this.stopped) return;
        this.timer = time.timers.setInterval(() => void this.sweep(), ms);
        void this.sweep();
      }, ms / 2);
    }
    return this.sweep();
  }

  /** Stops listening and waits for syncs in flight; containers keep running (a restart adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    for (const unwatch of this.unwatch) unwatch();
    await this.health.stop();
    await this.sweeps.settled();
    await this.lanes.stop();
  }

  /** Resolves when every sync queued so far is done; `activity` counts syncs started (for tests and simulations). */
  async idle(): Promise<void> {
    await this.sweeps.settled();
    await this.lanes.idle();
  }

  get activity(): number {
    return this.lanes.started;
  }

  /** A sync of one endpoint (merged with one already queued). */
  request(endpoint: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.lanes.request(endpoint, { snapshot: undefined, health: false });
  }

  /**
   * A sync of every endpoint that has a record or a container here, with
   * health checks, then the heartbeat. The engine and the store are listed
   * once for all of them; an endpoint's sync uses that listing only if
   * nothing ran in its lane since it was taken.
   */
  sweep(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.sweeps.run(async () => {
      try {
        const generations = this.lanes.generations();
        const [records, endpointList] = await Promise.all([this.options.store.instances.list(), this.options.store.endpoints.list()]);
        const listed = await this.options.agent.list();
        const changes = this.containerChanges;
        const snapshot: SweepSnapshot = {
          containers: groupBy(listed, (c) => c.endpoint || undefined),
          records: groupBy(records, (r) => r.endpoint),
          endpoints: new Map(endpointList.map((e) => [e.name, e])),
          generations,
          listed,
          term: await this.controllerTerm(),
        };
        const names = new Set<string>(snapshot.containers.keys());
        for (const record of records) if (record.managerId === this.managerId) names.add(record.endpoint);
        await Promise.all([...names].map((name) => this.lanes.request(name, { snapshot, health: true })));
        // The listing still counts the used slots right if no container came or went since.
        await this.heartbeatSoon(this.containerChanges === changes ? listed : undefined);
      } catch (error) {
        if (!this.stopped) this.options.log.error({ component: 'host', err: error }, `sweep failed: ${(error as Error).message}`);
      }
    });
  }

  /** Beats the heartbeat now (coalesced with one in progress). */
  heartbeat(): Promise<void> {
    return this.heartbeatSoon();
  }

  private heartbeatSoon(listed?: AgentContainer[]): Promise<void> {
    if (this.heartbeatRunning) {
      this.heartbeatAgain ??= this.heartbeatRunning.then(() => {
        this.heartbeatAgain = undefined;
        return this.heartbeatSoon();
      });
      return this.heartbeatAgain;
    }
    const run = heartbeat(this.options.store, this.options.agent, this.options.time.now(), listed)
      .catch((error: unknown) => this.options.log.error({ component: 'host', err: error }, `heartbeat failed: ${(error as Error).message}`))
      .finally(() => {
        if (this.heartbeatRunning === run) this.heartbeatRunning = undefined;
      });
    this.heartbeatRunning = run;
    return run;
  }

  private onExit(exit: ContainerExit): void {
    if (exit.endpoint) void this.request(exit.endpoint);
  }

  /** One endpoint: read (or reuse the sweep's) records and containers, diff, apply. */
  private async sync(endpoint: string, request: SyncRequest): Promise<void> {
    const { store, agent } = this.options;
    const fresh = request.snapshot && this.lanes.unchangedSince(endpoint, request.snapshot.generations) ? request.snapshot : undefined;
    const records = fresh ? (fresh.records.get(endpoint) ?? []) : await store.instances.list({ endpoint });
    const containers = fresh ? (fresh.containers.get(endpoint) ?? []) : (await agent.list()).filter((c) => c.endpoint === endpoint);
    const endpointRecord = fresh ? (fresh.endpoints.get(endpoint) ?? null) : await store.endpoints.get(endpoint);
    const config = endpointRecord ? this.parse(endpointRecord) : null;
    // Read after the records: a record written by a controller deposed before this read is then never acted on
    // (one claimed meanwhile by a newer term waits for the next sync).
    const term = fresh ? fresh.term : await this.controllerTerm();
    const actions = diffHost({ managerId: this.managerId, records, containers, term });
    let changed = false;
    const launches: InstanceRecord[] = [];
    for (const action of actions) {
      if (action.kind === 'launch') launches.push(action.record);
      else changed = (await this.apply(action, config)) || changed;
    }
    if (launches.length > 0) {
      changed = true;
      await Promise.all(launches.map((record) => this.launch(record, config)));
    }
    if (request.health && config && endpointRecord?.state === 'RUNNING') {
      const mine = records.filter((r) => r.managerId === this.managerId);
      await this.health.check(mine, config);
    }
    if (changed && !request.snapshot && !this.stopped) await this.heartbeatSoon();
  }

  /** The current controller term (0 before any controller took the lease). */
  private async controllerTerm(): Promise<number> {
    return (await this.options.store.leases.get(CONTROLLER_LEASE))?.term ?? 0;
  }

  /** Applies one repair action (all but launches); true if it changed anything. */
  private async apply(action: Exclude<HostAction, { kind: 'launch' }>, config: EndpointConfig | null): Promise<boolean> {
    const { instances, events } = this.options;
    const agent = this.counted;
    switch (action.kind) {
      case 'watch':
        this.health.watch(action.record, config);
        return false;
      case 'adopt': {
        const { record, container } = action;
        const adopted = await instances.change(
          record.id,
          { containerId: container.containerId, address: container.address },
          InstanceEventKinds.INSTANCE_ADOPTED,
          `instance ${record.id} adopted container ${short(container.containerId)} at ${container.address}`,
        );
        if (adopted?.status === 'STARTING') this.health.watch(adopted, config);
        return true;
      }
      case 'lost': {
        const { record, why, beforeReady, remove } = action;
        this.health.forget(record.id);
        if (remove) await agent.remove(remove.containerId);
        await instances.change(
          record.id,
          { status: 'LOST', reason: why },
          InstanceEventKinds.INSTANCE_LOST,
          `instance ${record.id} lost: ${why}`,
          // A container that never became ready counts as a failed launch (a crash loop backs off).
          beforeReady ? { failure: 'EXITED_BEFORE_READY', message: why } : {},
          { status: [record.status] },
        );
        return true;
      }
      case 'clear': {
        const { record, container } = action;
        this.health.forget(record.id);
        // Container first, record second: a crash in between leaves a REMOVING record whose container is gone, which the next sync clears.
        if (container) await agent.remove(container.containerId);
        await instances.remove(record, `instance ${record.id} removed (${record.reason ?? 'removing'})`, { why: record.reason });
        return true;
      }
      case 'orphan': {
        const { container, why } = action;
        await agent.remove(container.containerId);
        await events.record(container.endpoint, InstanceEventKinds.ORPHAN_REMOVED, `removed container ${short(container.containerId)}: ${why}`, {
          containerId: container.containerId,
          instanceId: container.instanceId,
          managerId: this.managerId,
        });
        return true;
      }
    }
  }

  /**
   * Creates and starts the container of a STARTING record, then records its
   * id and address (only while the record is still STARTING: a record
   * removed meanwhile gets its container removed again). A failure is
   * reported on the record with its kind, for the controller's back-off.
   */
  private async launch(record: InstanceRecord, config: EndpointConfig | null): Promise<void> {
    const { instances } = this.options;
    const agent = this.counted;
    if (!config) return; // no endpoint (any more): the controller takes the record away
    try {
      const launched = await agent.launch(containerSpecFor(record.endpoint, config, record.id, this.options.apiUrl(), this.options.apiToken?.(record.id)));
      const started = await instances.change(
        record.id,
        { containerId: launched.containerId, address: launched.address },
        InstanceEventKinds.INSTANCE_STARTED,
        `instance ${record.id} started container ${short(launched.containerId)} at ${launched.address}`,
        {},
        { status: ['STARTING'] },
      );
      if (started) this.health.watch(started, config);
      else if (!(await this.options.store.instances.get(record.id))) await agent.remove(launched.containerId);
      else void this.request(record.endpoint); // it became REMOVING while starting: the next sync clears it
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const details = error instanceof LaunchError ? error.details : {};
      if (error instanceof LaunchError && error.kind === 'IMAGE_UNAVAILABLE') {
        await instances.change(
          record.id,
          { status: 'PENDING', managerId: null, reason: message },
          InstanceEventKinds.INSTANCE_PENDING,
          `instance ${record.id} pending: image ${config.docker.image} unavailable`,
          { failure: 'IMAGE_UNAVAILABLE', message, ...details },
          { status: ['STARTING'] },
        );
      } else {
        await instances.change(
          record.id,
          { status: 'ERROR', reason: message },
          InstanceEventKinds.INSTANCE_ERROR,
          `instance ${record.id} failed to start: ${message}`,
          { failure: error instanceof LaunchError ? error.kind : 'ENGINE', message, ...details },
          { status: ['STARTING'] },
        );
      }
    }
  }

  /** The agent's launch and remove, counted in `containerChanges`. */
  private readonly counted = {
    launch: async (spec: Parameters<Agent['launch']>[0]) => {
      this.containerChanges++;
      return this.options.agent.launch(spec).finally(() => this.containerChanges++);
    },
    remove: async (containerId: string) => {
      this.containerChanges++;
      return this.options.agent.remove(containerId).finally(() => this.containerChanges++);
    },
  };

  private parse(record: EndpointRecord): EndpointConfig | null {
    try {
      return parseEndpointConfigCached(record.configText);
    } catch (error) {
      this.options.log.error({ component: 'host', endpoint: record.name }, `stored configuration does not parse: ${(error as Error).message}`);
      return null;
    }
  }
}
