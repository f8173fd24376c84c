// Keeps each endpoint's containers in line with its plan: observe (records vs containers), check health, decide (policy), place (scheduler), apply (agents).
import pLimit, { type LimitFunction } from 'p-limit';
import type { Agent, AgentContainer, ContainerExit } from '../agents/types.js';
import { LaunchError } from '../agents/types.js';
import { parseEndpointConfigCached } from '../config/index.js';
import type { EndpointConfig } from '../config/model.js';
import { containerSpecFor } from '../docker/spec.js';
import type { EventBus } from '../events/bus.js';
import { RECONFIGURING_KINDS, type EventRecorder } from '../events/recorder.js';
import { planPlacements, type ManagerView, type PlacementRequest } from '../scheduler/placement.js';
import { newId } from '../store/ids.js';
import type { EndpointRecord, InstanceRecord, InstanceStatus, Store } from '../store/types.js';
import { ScalingPolicy } from '../control/policy.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions, type EndpointPlan, type InstancePolicy, type RoundInput, type RoundMode } from './policy.js';
import { httpReadiness, type ReadinessProbe } from './readiness.js';
import { InstanceEventKinds, type InstanceService } from './service.js';
import { groupBy } from '../util/group.js';


/** See `ReconcilerOptions.roundConcurrency`. */
export const DEFAULT_ROUND_CONCURRENCY = 32;

/** Statuses whose record should have a running container. */
const HAS_CONTAINER = new Set<InstanceStatus>(['STARTING', 'RUNNING', 'DECOMMISSIONED']);
/** Container lists longer than this are indexed by instance id rather than scanned. */
const INDEX_ABOVE = 32;

/** The cloud a problem line is about (`docker: engine not reachable…` → docker); placement only cares about its own. */
const DOCKER_PROBLEM = /^docker:/;

export interface ReconcilerOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  instances: InstanceService;
  /** The agents of this process, by manager id (the local one; later remote ones behind a transport). */
  agents: Map<string, Agent>;
  /** GraphQL URL handed to instances as REACTOR_API. */
  apiUrl: string;
  clock?: () => Date;
  backoff?: BackoffOptions;
  readiness?: ReadinessProbe;
  /**
   * Rounds of different endpoints that may run at once (default 32). It bounds
   * what a sweep of many endpoints holds open together: engine calls, health
   * probes (one socket per instance), memory. Up to this many minus one slow
   * endpoints still leave room for the others.
   */
  roundConcurrency?: number;
  /** Milliseconds between readiness probes of a starting instance. Default 50 (a new instance should join the balancer as soon as it answers). */
  readinessPollMs?: number;
  /**
   * Decides each endpoint's plan. Default: the scaling policy with no samples
   * and no decision store (min_instances on a start, replacements, cleanup);
   * the control loop passes its own, which also evaluates the rules.
   */
  policy?: InstancePolicy;
  log?: (line: string) => void;
}

interface QueuedRound {
  promise: Promise<void>;
  /** Upgraded to `evaluate` when an evaluation joins a queued trigger round. */
  mode: RoundMode;
  causes: Set<string>;
  /** The containers listed by the sweep that queued this round, if it may use them (see `sweep`). */
  snapshot: SweepSnapshot | undefined;
}

interface Lane {
  tail: Promise<void>;
  /** A round queued behind the running one; later triggers join it (it will see their changes). */
  queued: QueuedRound | null;
  /** +1 whenever a round or lane work starts: a container listing older than that may be stale for this endpoint. */
  generation: number;
  /** A round or lane work is in progress. */
  busy: boolean;
}

/**
 * Every agent's containers and every instance record, listed once by a sweep
 * and grouped by endpoint. Instance records change only in their endpoint's
 * lane, so a lane whose generation is unchanged may use them as they are.
 */
interface SweepSnapshot {
  byAgent: Map<string, Map<string, AgentContainer[]> | null>;
  /** Each agent's whole listing, and `containerChanges` when it was taken: the sweep's heartbeat reuses it if nothing changed since. */
  listed: Map<string, AgentContainer[]>;
  containerChanges: number;
  instances: Map<string, InstanceRecord[]>;
  /** Lane generations read just before the listing; -1 for lanes busy then (their changes may race the listing). */
  generations: Map<string, number>;
}

interface Failures {
  count: number;
  /** Epoch ms before which no launch is tried. */
  nextAt: number;
}

export class Reconciler {
  private readonly store: Store;
  private readonly instances: InstanceService;
  private readonly events: EventRecorder;
  private readonly agents: Map<string, Agent>;
  private apiUrl: string;
  private readonly clock: () => Date;
  private readonly backoff: BackoffOptions;
  private readonly readiness: ReadinessProbe;
  private readonly readinessPollMs: number;
  private readonly policy: InstancePolicy;
  /** Consecutive failed health checks per RUNNING instance id (error_marks). */
  private readonly healthFailures = new Map<string, number>();
  private readonly log: (line: string) => void;
  private readonly bus: EventBus;

  private readonly lanes = new Map<string, Lane>();
  private readonly roundSlots: LimitFunction;
  private readonly failures = new Map<string, Failures>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly watchers = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private placementLock: Promise<void> = Promise.resolve();
  private sweeping: Promise<void> | null = null;
  /** +1 before and after every launch or removal of a container: a listing taken when it had another value may be stale. */
  private containerChanges = 0;
  private lastSweep: SweepSnapshot | undefined;
  private heartbeatRunning: Promise<void> | undefined;
  private heartbeatAgain: Promise<void> | undefined;
  private readonly sweeps = new Set<Promise<void>>();
  private unwatch: (() => void)[] = [];
  private subscription: AsyncIterableIterator<unknown> | undefined;
  private stopped = false;
  private started = false;

  constructor(options: ReconcilerOptions) {
    this.store = options.store;
    this.bus = options.bus;
    this.events = options.events;
    this.instances = options.instances;
    this.agents = options.agents;
    this.apiUrl = options.apiUrl;
    this.clock = options.clock ?? (() => new Date());
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.readiness = options.readiness ?? httpReadiness;
    this.readinessPollMs = options.readinessPollMs ?? 50;
    this.roundSlots = pLimit(options.roundConcurrency ?? DEFAULT_ROUND_CONCURRENCY);
    this.policy = options.policy ?? new ScalingPolicy();
    this.log = options.log ?? (() => {});
  }

  /**
   * Starts listening: a trigger round of every endpoint now (adopting
   * containers left by an earlier process), plus an immediate round of an
   * endpoint whenever it changes or one of its containers exits. Periodic
   * evaluation rounds come from the control loop (`sweep('evaluate')`).
   */
  start(apiUrl?: string): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    if (apiUrl) this.apiUrl = apiUrl;
    for (const agent of this.agents.values()) {
      this.unwatch.push(agent.watch((exit) => this.onExit(exit)));
    }
    void this.listen();
    return this.sweep('trigger', 'start');
  }

  /** Stops the loop and waits for rounds in flight; containers keep running (a restart adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const unwatch of this.unwatch) unwatch();
    await this.subscription?.return?.();
    for (const watcher of this.watchers.values()) watcher.abort.abort();
    await Promise.all([...this.watchers.values()].map((w) => w.done));
    await Promise.all([...this.sweeps]);
    await Promise.all([...this.lanes.values()].map((lane) => lane.tail));
  }

  /**
   * A round of every endpoint that has a record, an instance or a container;
   * then each agent's heartbeat. Each agent's containers are listed once for
   * the whole sweep (not once per endpoint); an endpoint's round uses that
   * listing only if no round of that endpoint started since it was taken,
   * otherwise it lists again (a launch made meanwhile must not look lost).
   * Endpoints run in their own lanes, side by side: a slow one holds up only
   * itself. Resolves when every round of this sweep is done; `onQueued`
   * hears once they are all queued.
   */
  sweep(mode: RoundMode = 'evaluate', cause = '', onQueued?: () => void): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.sweeping && mode === 'trigger') return this.sweeping;
    const run = (async () => {
      try {
        // Generations first: a lane that starts work after this reading no longer matches it, so it reads afresh.
        const generations = new Map<string, number>();
        for (const [name, lane] of this.lanes) generations.set(name, lane.busy ? -1 : lane.generation);
        const names = new Set<string>();
        for (const endpoint of await this.store.endpoints.list()) names.add(endpoint.name);
        const instances = groupBy(await this.store.instances.list(), (instance) => instance.endpoint);
        for (const name of instances.keys()) names.add(name);
        const byAgent = new Map<string, Map<string, AgentContainer[]> | null>();
        const listed = new Map<string, AgentContainer[]>();
        const containerChanges = this.containerChanges;
        await Promise.all(
          [...this.agents.values()].map(async (agent) => {
            let containers: AgentContainer[];
            try {
              containers = await agent.list();
            } catch {
              byAgent.set(agent.managerId, null);
              return;
            }
            listed.set(agent.managerId, containers);
            const grouped = groupBy(containers, (container) => container.endpoint || undefined);
            for (const name of grouped.keys()) names.add(name);
            byAgent.set(agent.managerId, grouped);
          }),
        );
        const snapshot: SweepSnapshot = { byAgent, listed, containerChanges, instances, generations };
        this.lastSweep = snapshot;
        const rounds: Promise<void>[] = [];
        for (const name of names) rounds.push(this.reconcile(name, mode, cause, snapshot));
        onQueued?.();
        await Promise.all(rounds);
        await this.heartbeatSoon();
        // Only this sweep's own heartbeat may reuse its listing; later ones list afresh.
        if (this.lastSweep === snapshot) this.lastSweep = undefined;
      } catch (error) {
        if (!this.stopped) this.log(`reconciler: round failed: ${(error as Error).message}`);
      } finally {
        onQueued?.();
      }
    })();
    const tracked = run.finally(() => {
      this.sweeps.delete(tracked);
      if (this.sweeping === tracked) this.sweeping = null;
    });
    this.sweeps.add(tracked);
    this.sweeping = tracked;
    return tracked;
  }

  /**
   * Runs one round for an endpoint, never two at once for the same endpoint.
   * Requests that arrive while a round runs share one follow-up round; if any
   * of them is an evaluation, that round evaluates.
   */
  reconcile(endpoint: string, mode: RoundMode = 'trigger', cause = '', snapshot?: SweepSnapshot): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const lane = this.lane(endpoint);
    if (lane.queued) {
      const queued = lane.queued;
      if (mode === 'evaluate') queued.mode = 'evaluate';
      if (cause) queued.causes.add(cause);
      // A snapshot from before other requests joined is still fine: the check happens when the round starts.
      if (snapshot && !queued.snapshot) queued.snapshot = snapshot;
      return queued.promise;
    }
    const queued: QueuedRound = { promise: Promise.resolve(), mode, causes: new Set(cause ? [cause] : []), snapshot };
    queued.promise = lane.tail.then(async () => {
      lane.queued = null;
      if (this.stopped) return;
      // The sweep's listing is only good if nothing ran in this lane since it was taken.
      const fresh = queued.snapshot && (queued.snapshot.generations.get(endpoint) ?? 0) === lane.generation ? queued.snapshot : undefined;
      lane.generation++;
      lane.busy = true;
      try {
        // A round of a sweep leaves the heartbeat to the sweep's end: one per sweep, not one per endpoint.
        await this.roundSlots(() => this.round(endpoint, queued.mode, [...queued.causes].join(', '), fresh, queued.snapshot !== undefined));
      } catch (error) {
        if (!this.stopped) await this.roundFailed(endpoint, error);
      } finally {
        lane.busy = false;
      }
    });
    lane.queued = queued;
    lane.tail = queued.promise;
    return queued.promise;
  }

  /** An error in one endpoint's round is that endpoint's event, not the loop's end. */
  private async roundFailed(endpoint: string, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.log(`reconciler: ${endpoint}: ${message}`);
    await this.events
      .record(endpoint, InstanceEventKinds.ROUND_FAILED, `round of ${endpoint} failed: ${message}; the next round tries again`, { error: message })
      .catch(() => {});
  }

  /**
   * A heartbeat after rounds that changed something: requests that arrive
   * while one runs share one more run afterwards (a round of many endpoints
   * costs two heartbeats, not one per endpoint).
   */
  private heartbeatSoon(): Promise<void> {
    if (this.heartbeatRunning) {
      this.heartbeatAgain ??= this.heartbeatRunning.then(() => {
        this.heartbeatAgain = undefined;
        return this.heartbeatSoon();
      });
      return this.heartbeatAgain;
    }
    const run = this.heartbeat()
      .catch((error: unknown) => this.log(`reconciler: heartbeat failed: ${(error as Error).message}`))
      .finally(() => {
        if (this.heartbeatRunning === run) this.heartbeatRunning = undefined;
      });
    this.heartbeatRunning = run;
    return run;
  }

  /**
   * Updates each agent's manager record: used slots from its labelled
   * containers (plus launches in flight), problems, lastSeen. The latest
   * sweep's listing stands in for a new one while no container was launched
   * or removed since it was taken.
   */
  async heartbeat(): Promise<void> {
    const sweep = this.lastSweep?.containerChanges === this.containerChanges ? this.lastSweep : undefined;
    for (const agent of this.agents.values()) {
      let containers: AgentContainer[] = [];
      const problems = await agent.problems();
      if (problems.length === 0) containers = sweep?.listed.get(agent.managerId) ?? (await agent.list().catch(() => []));
      const records = await this.store.instances.list({ managerId: agent.managerId });
      let inFlight = 0;
      let withContainer: Set<string> | undefined;
      for (const r of records) {
        if (r.status !== 'STARTING' || r.containerId !== null) continue;
        withContainer ??= new Set(containers.map((c) => c.instanceId));
        if (!withContainer.has(r.id)) inFlight += r.slots;
      }
      let used = inFlight;
      for (const c of containers) used += c.slots;
      const existing = await this.store.managers.get(agent.managerId);
      if (!existing) continue;
      // Only the fields the heartbeat owns: an operator's slots set meanwhile stay.
      await this.store.managers.update(agent.managerId, {
        usedSlots: used,
        lastSeen: this.clock(),
        problems: [...existing.problems.filter((p) => !DOCKER_PROBLEM.test(p)), ...problems],
      });
    }
  }

  private lane(endpoint: string): Lane {
    let lane = this.lanes.get(endpoint);
    if (!lane) this.lanes.set(endpoint, (lane = { tail: Promise.resolve(), queued: null, generation: 0, busy: false }));
    return lane;
  }

  /** Runs `work` in the endpoint's lane (after any round in flight), not coalesced. */
  private exclusive(endpoint: string, work: () => Promise<void>): Promise<void> {
    const lane = this.lane(endpoint);
    const run = lane.tail.then(async () => {
      if (this.stopped) return;
      lane.generation++;
      lane.busy = true;
      await work()
        .catch((error: unknown) => this.log(`reconciler: ${endpoint}: ${(error as Error).message}`))
        .finally(() => (lane.busy = false));
    });
    lane.tail = run;
    return run;
  }

  private async listen(): Promise<void> {
    const subscription = this.bus.subscribe('endpointEvents');
    this.subscription = subscription;
    try {
      for await (const event of subscription) {
        if (RECONFIGURING_KINDS.has(event.kind)) void this.reconcile(event.endpoint, 'trigger', event.kind);
      }
    } catch (error) {
      // A slow-consumer cut: resubscribe; the periodic round covers anything missed.
      if (!this.stopped) {
        this.log(`reconciler: endpoint events: ${(error as Error).message}`);
        void this.listen();
      }
    }
  }

  private onExit(exit: ContainerExit): void {
    if (exit.endpoint) void this.reconcile(exit.endpoint, 'trigger', `container ${exit.action}`);
  }

  /**
   * One round for one endpoint: observe the containers, check the health of
   * RUNNING instances (evaluation rounds), ask the policy for a plan, then
   * apply it — remove, decommission, recommission, place and launch — and
   * tell the policy what was applied.
   */
  private async round(endpoint: string, mode: RoundMode, cause: string, snapshot?: SweepSnapshot, inSweep = false): Promise<void> {
    const record = await this.store.endpoints.get(endpoint);
    const config = record ? this.parse(record) : null;
    const observed = await this.observe(endpoint, snapshot);
    let changed = observed.changed;
    // A stored configuration that no longer parses must not read as "min_instances 0": change nothing.
    if (record && !config) return;
    // The records observe read are still current unless it changed some.
    let instances = changed ? await this.store.instances.list({ endpoint }) : observed.records;
    if (mode === 'evaluate' && record?.state === 'RUNNING' && config) {
      if (await this.checkHealth(instances, config)) {
        changed = true;
        instances = await this.store.instances.list({ endpoint });
      }
    }
    const input: RoundInput = {
      endpoint,
      state: record?.state ?? null,
      config,
      instances,
      mode,
      cause,
      now: this.clock(),
    };
    const plan = await this.policy.plan(input);
    // Indexed only when the plan acts: most rounds hold, and a Map per endpoint per round adds up.
    let index: Map<string, InstanceRecord> | undefined;
    const byId = (id: string) => (index ??= new Map(instances.map((i) => [i.id, i]))).get(id);
    if (plan.remove.length > 0) {
      changed = true;
      await Promise.all(plan.remove.map((id) => this.removeInstance(byId(id), plan.reasons?.[id] ?? plan.why)));
    }
    if (plan.decommission.length > 0 || plan.recommission.length > 0) {
      changed = true;
      const timeout = config?.endpoint.decommissionedTimeout ?? 0;
      await Promise.all([
        ...plan.decommission.map((id) => this.decommission(byId(id), timeout, plan.reasons?.[id] ?? plan.why)),
        ...plan.recommission.map((id) => this.recommission(byId(id), plan.reasons?.[id] ?? plan.why)),
      ]);
    }
    const pending = instances.filter((i) => i.status === 'PENDING' && !plan.remove.includes(i.id));
    if (record && config && (plan.launch > 0 || pending.length > 0)) {
      changed = (await this.place(record, config, plan.launch, pending)) || changed;
    }
    if (this.policy.applied) {
      await this.policy.applied(input, plan).catch((error: unknown) => this.log(`reconciler: ${endpoint}: keeping the decision failed: ${(error as Error).message}`));
    }
    if (changed && !this.stopped) {
      if (!inSweep) await this.heartbeatSoon();
      if (plan.remove.length > 0) void this.kickPending(endpoint);
    }
  }

  /**
   * Probes every RUNNING instance once (the readiness probe: HTTP on
   * health_path, any answer when none is set). error_marks failures in a row
   * mark it ERROR with an event; the policy then deletes it and the target
   * brings a replacement. A success clears its marks. Returns true if any
   * instance was marked.
   */
  private async checkHealth(instances: readonly InstanceRecord[], config: EndpointConfig): Promise<boolean> {
    const running = instances.filter((i) => i.status === 'RUNNING' && i.address);
    const marks = config.endpoint.errorMarks;
    const healthPath = config.endpoint.healthPath;
    // All probes at once; the bookkeeping after, in one pass (no async closure per instance: this runs for every instance each interval).
    const answers = await Promise.all(running.map((i) => this.readiness(i.address!, healthPath).catch(() => false)));
    let marked = false;
    const failing: Promise<unknown>[] = [];
    for (let n = 0; n < running.length; n++) {
      const instance = running[n];
      if (answers[n]) {
        if (this.healthFailures.size > 0) this.healthFailures.delete(instance.id);
        continue;
      }
      const failures = (this.healthFailures.get(instance.id) ?? 0) + 1;
      this.healthFailures.set(instance.id, failures);
      if (failures < marks) continue;
      this.healthFailures.delete(instance.id);
      marked = true;
      const why = `failed ${failures} health checks in a row (GET ${healthPath || '/'} at ${instance.address}; error_marks ${marks})`;
      failing.push(
        this.instances.update(instance, { status: 'ERROR', reason: why }, InstanceEventKinds.INSTANCE_ERROR, `instance ${instance.id} failed: ${why}; replacing it`, {
          failure: 'HEALTH_CHECK',
          errorMarks: marks,
        }),
      );
    }
    await Promise.all(failing);
    return marked;
  }

  /** Out of the balancer (the nginx sync serves RUNNING instances only); it drains until a later round deletes it. */
  private async decommission(record: InstanceRecord | undefined, timeoutSeconds: number, why: string): Promise<void> {
    if (!record || record.status !== 'RUNNING') return;
    this.healthFailures.delete(record.id);
    await this.instances.update(
      record,
      { status: 'DECOMMISSIONED', decommissionedAt: this.clock(), reason: why },
      InstanceEventKinds.INSTANCE_DECOMMISSIONED,
      `instance ${record.id} decommissioned: out of the balancer, draining until its connections close or ${timeoutSeconds} s pass`,
      { why },
    );
  }

  /** Back into the balancer: it is still running and warm, cheaper than a launch. */
  private async recommission(record: InstanceRecord | undefined, why: string): Promise<void> {
    if (!record || record.status !== 'DECOMMISSIONED') return;
    await this.instances.update(
      record,
      { status: 'RUNNING', decommissionedAt: null, reason: null },
      InstanceEventKinds.INSTANCE_RECOMMISSIONED,
      `instance ${record.id} recommissioned: back in the balancer at ${record.address}`,
      { why },
    );
  }

  private parse(record: EndpointRecord): EndpointConfig | null {
    try {
      return parseEndpointConfigCached(record.configText);
    } catch (error) {
      this.log(`reconciler: ${record.name}: stored configuration does not parse: ${(error as Error).message}`);
      return null;
    }
  }

  /**
   * Compares the endpoint's records with its containers on our agents:
   * adopts containers whose record lacks their id, marks records whose
   * container exited or vanished LOST, drops STARTING records whose container
   * was never created (a crash between the two writes), and removes
   * labelled containers no record owns. Says whether anything changed, with the records it read.
   */
  private async observe(endpoint: string, snapshot?: SweepSnapshot): Promise<{ changed: boolean; records: InstanceRecord[] }> {
    let changed = false;
    const records = snapshot ? (snapshot.instances.get(endpoint) ?? []) : await this.store.instances.list({ endpoint });
    for (const agent of this.agents.values()) {
      let containers: AgentContainer[];
      const listed = snapshot?.byAgent.get(agent.managerId);
      if (listed) {
        containers = listed.get(endpoint) ?? [];
      } else {
        try {
          containers = (await agent.list()).filter((c) => c.endpoint === endpoint);
        } catch (error) {
          this.log(`reconciler: ${endpoint}: listing containers failed: ${(error as Error).message}`);
          continue;
        }
      }
      // An endpoint usually has a handful of containers: a scan beats building a Map for each one every round.
      const byInstance = containers.length > INDEX_ABOVE ? new Map(containers.map((c) => [c.instanceId, c])) : undefined;
      // Containers some record owns; a short list is cheaper than a Set at these sizes.
      const owned: string[] = [];
      for (const record of records) {
        if (record.managerId !== agent.managerId) continue;
        const container =
          (byInstance ? byInstance.get(record.id) : containers.find((c) => c.instanceId === record.id)) ??
          (record.containerId === null ? undefined : containers.find((c) => c.containerId === record.containerId));
        if (container) owned.push(container.containerId);
        if (!HAS_CONTAINER.has(record.status)) continue;
        if (!container) {
          changed = true;
          if (record.containerId === null) {
            await this.instances.remove(record, `instance ${record.id} dropped: its container was never created`, {
              reason: 'NO_CONTAINER',
            });
          } else {
            await this.markLost(record, `container ${short(record.containerId)} is gone`);
          }
        } else if (!container.running) {
          changed = true;
          if (record.containerId === null) {
            await this.changeContainers(() => agent.remove(container.containerId));
            await this.instances.remove(record, `instance ${record.id} dropped: its container never ran (${container.state})`, {
              reason: 'NO_CONTAINER',
            });
          } else {
            await this.markLost(record, `container ${short(container.containerId)} ${container.state}`);
          }
        } else if (record.containerId !== container.containerId || record.address !== container.address) {
          changed = true;
          const adopted = await this.instances.update(
            record,
            { containerId: container.containerId, address: container.address },
            InstanceEventKinds.INSTANCE_ADOPTED,
            `instance ${record.id} adopted container ${short(container.containerId)} at ${container.address}`,
          );
          if (adopted.status === 'STARTING') this.watchReadiness(adopted);
        } else if (record.status === 'STARTING') {
          this.watchReadiness(record);
        }
      }
      const isOwned = owned.length > INDEX_ABOVE ? new Set(owned) : owned;
      for (const container of containers) {
        if (isOwned instanceof Set ? isOwned.has(container.containerId) : isOwned.includes(container.containerId)) continue;
        changed = true;
        await this.changeContainers(() => agent.remove(container.containerId));
        await this.events.record(
          endpoint,
          InstanceEventKinds.ORPHAN_REMOVED,
          `removed container ${short(container.containerId)}: no instance of ${endpoint} owns it`,
          { containerId: container.containerId, instanceId: container.instanceId, managerId: agent.managerId },
        );
      }
    }
    return { changed, records };
  }

  private async markLost(record: InstanceRecord, why: string): Promise<void> {
    // A container that never became ready counts as a failed launch (a crash loop backs off).
    if (record.status === 'STARTING') this.fail(record.endpoint);
    await this.instances.update(record, { status: 'LOST', reason: why }, InstanceEventKinds.INSTANCE_LOST, `instance ${record.id} lost: ${why}`);
  }

  /** Container first, record second: a crash in between leaves a record whose container is gone, which the next round cleans. */
  private async removeInstance(record: InstanceRecord | undefined, why: string): Promise<void> {
    if (!record) return;
    this.healthFailures.delete(record.id);
    this.watchers.get(record.id)?.abort.abort();
    const agent = record.managerId ? this.agents.get(record.managerId) : undefined;
    if (agent && record.containerId) await this.changeContainers(() => agent.remove(record.containerId!));
    await this.instances.remove(record, `instance ${record.id} removed (${why})`, { why });
  }

  /** Re-runs the endpoints whose instances wait for room, after room was freed. */
  private async kickPending(except: string): Promise<void> {
    const waiting = new Set(
      (await this.store.instances.list()).filter((i) => i.status === 'PENDING' && i.endpoint !== except).map((i) => i.endpoint),
    );
    for (const endpoint of waiting) void this.reconcile(endpoint, 'trigger', 'slots freed');
  }

  /**
   * Places the endpoint's waiting instances plus `count` new ones (unless a
   * launch backoff is running), records placed ones as STARTING on their
   * manager BEFORE their containers exist, then launches them.
   */
  private async place(record: EndpointRecord, config: EndpointConfig, count: number, pending: InstanceRecord[]): Promise<boolean> {
    const endpoint = record.name;
    const failures = this.failures.get(endpoint);
    const now = this.clock().getTime();
    if (failures && failures.nextAt > now) {
      this.scheduleRetry(endpoint, failures.nextAt - now);
      return false;
    }
    const slots = config.docker.slots;
    const fresh = Array.from({ length: count }, () => newId());
    const requests: PlacementRequest[] = [
      ...pending.map((p) => ({ instanceId: p.id, endpoint, slots, cloud: config.endpoint.cloud })),
      ...fresh.map((instanceId) => ({ instanceId, endpoint, slots, cloud: config.endpoint.cloud })),
    ];
    const pendingById = new Map(pending.map((p) => [p.id, p]));

    const placed = await this.withPlacementLock(async () => {
      const plan = planPlacements({ managers: await this.managerViews(), requests });
      const starting: InstanceRecord[] = [];
      for (const placement of plan.placements) {
        const message = `instance ${placement.instanceId} placed on ${placement.reason}`;
        const waiting = pendingById.get(placement.instanceId);
        starting.push(
          waiting
            ? await this.instances.update(
                waiting,
                { status: 'STARTING', managerId: placement.managerId, reason: null },
                InstanceEventKinds.INSTANCE_PLACED,
                message,
              )
            : await this.instances.create(
                { id: placement.instanceId, endpoint, slots, status: 'STARTING', managerId: placement.managerId, reason: null },
                InstanceEventKinds.INSTANCE_CREATED,
                message,
              ),
        );
      }
      for (const wait of plan.pending) {
        const waiting = pendingById.get(wait.instanceId);
        const data = { skipped: wait.skipped };
        if (!waiting) {
          await this.instances.create(
            { id: wait.instanceId, endpoint, slots, status: 'PENDING', managerId: null, reason: wait.reason },
            InstanceEventKinds.INSTANCE_PENDING,
            `instance ${wait.instanceId} pending: ${wait.reason}`,
            data,
          );
        } else if (waiting.reason !== wait.reason) {
          await this.instances.update(waiting, { reason: wait.reason }, InstanceEventKinds.INSTANCE_PENDING, `instance ${wait.instanceId} pending: ${wait.reason}`, data);
        }
      }
      return starting;
    });

    let imageReported = false;
    await Promise.all(
      placed.map(async (instance) => {
        const agent = this.agents.get(instance.managerId!)!;
        try {
          const launched = await this.changeContainers(() => agent.launch(containerSpecFor(endpoint, config, instance.id, this.apiUrl)));
          const started = await this.instances.update(
            instance,
            { containerId: launched.containerId, address: launched.address },
            InstanceEventKinds.INSTANCE_STARTED,
            `instance ${instance.id} started container ${short(launched.containerId)} at ${launched.address}`,
          );
          this.watchReadiness(started, config);
        } catch (error) {
          const retryMs = this.fail(endpoint);
          const retry = `next attempt in ${Math.ceil(retryMs / 1000)} s`;
          if (error instanceof LaunchError && error.kind === 'IMAGE_UNAVAILABLE') {
            if (!imageReported) {
              imageReported = true;
              await this.events.record(endpoint, InstanceEventKinds.IMAGE_UNAVAILABLE, `${error.message}; ${retry}`, {
                ...error.details,
                retryInMs: retryMs,
              });
            }
            await this.instances.update(
              instance,
              { status: 'PENDING', managerId: null, reason: `${error.message}; ${retry}` },
              InstanceEventKinds.INSTANCE_PENDING,
              `instance ${instance.id} pending: image ${config.docker.image} unavailable`,
            );
          } else {
            const message = error instanceof Error ? error.message : String(error);
            await this.instances.update(
              instance,
              { status: 'ERROR', reason: message },
              InstanceEventKinds.INSTANCE_ERROR,
              `instance ${instance.id} failed to start: ${message}; ${retry}`,
              error instanceof LaunchError ? { failure: error.kind, ...error.details } : {},
            );
          }
        }
      }),
    );
    return true;
  }

  /** The scheduler's view of the managers: used slots from their reports or our records, whichever is more. */
  private async managerViews(): Promise<ManagerView[]> {
    const [managers, instances] = await Promise.all([this.store.managers.list(), this.store.instances.list()]);
    const placed = new Map<string, number>();
    for (const instance of instances) {
      if (instance.status === 'PENDING' || !instance.managerId) continue;
      placed.set(instance.managerId, (placed.get(instance.managerId) ?? 0) + instance.slots);
    }
    return managers.map((manager) => ({
      id: manager.id,
      name: manager.name,
      slots: manager.slots,
      usedSlots: Math.max(manager.usedSlots, placed.get(manager.id) ?? 0),
      problems: [
        ...(this.agents.has(manager.id) ? [] : ['no agent of this manager is connected']),
        ...manager.problems.filter((p) => DOCKER_PROBLEM.test(p)),
      ],
      clouds: manager.clouds,
    }));
  }

  /** Launches and removals go through here, so a listing can tell whether it is still current (`containerChanges`). */
  private async changeContainers<T>(work: () => Promise<T>): Promise<T> {
    this.containerChanges++;
    try {
      return await work();
    } finally {
      this.containerChanges++;
    }
  }

  private async withPlacementLock<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.placementLock;
    let release!: () => void;
    this.placementLock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Counts a failed launch; returns the delay before the next one. */
  private fail(endpoint: string): number {
    const failures = this.failures.get(endpoint) ?? { count: 0, nextAt: 0 };
    failures.count += 1;
    const delay = backoffDelay(failures.count, this.backoff);
    failures.nextAt = this.clock().getTime() + delay;
    this.failures.set(endpoint, failures);
    this.scheduleRetry(endpoint, delay);
    return delay;
  }

  private scheduleRetry(endpoint: string, delayMs: number): void {
    if (this.stopped || this.retryTimers.has(endpoint)) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(endpoint);
      void this.reconcile(endpoint, 'trigger', 'launch retry');
    }, delayMs + 10);
    timer.unref();
    this.retryTimers.set(endpoint, timer);
  }

  /** Probes a STARTING instance until it answers (→ RUNNING) or unregistered_timeout passes (→ ERROR, replaced). */
  private watchReadiness(instance: InstanceRecord, config?: EndpointConfig): void {
    if (this.stopped || this.watchers.has(instance.id) || !instance.address) return;
    const abort = new AbortController();
    const done = (async () => {
      const settings = config ?? (await this.configOf(instance.endpoint));
      const timeoutMs = (settings?.endpoint.unregisteredTimeout ?? 120) * 1000;
      const healthPath = settings?.endpoint.healthPath ?? '';
      const deadline = instance.createdAt.getTime() + timeoutMs;
      while (!abort.signal.aborted) {
        if (await this.readiness(instance.address!, healthPath)) {
          await this.exclusive(instance.endpoint, () => this.markReady(instance));
          return;
        }
        if (this.clock().getTime() > deadline) {
          await this.exclusive(instance.endpoint, () => this.markUnready(instance, timeoutMs));
          return;
        }
        await sleep(this.readinessPollMs, abort.signal);
      }
    })()
      .catch((error: unknown) => this.log(`reconciler: readiness of ${instance.id}: ${(error as Error).message}`))
      .finally(() => this.watchers.delete(instance.id));
    this.watchers.set(instance.id, { abort, done });
  }

  private async configOf(endpoint: string): Promise<EndpointConfig | null> {
    const record = await this.store.endpoints.get(endpoint);
    return record ? this.parse(record) : null;
  }

  private async markReady(instance: InstanceRecord): Promise<void> {
    const current = await this.store.instances.get(instance.id);
    if (!current || current.status !== 'STARTING' || current.containerId !== instance.containerId) return;
    this.failures.delete(instance.endpoint);
    await this.instances.update(current, { status: 'RUNNING', reason: null }, InstanceEventKinds.INSTANCE_RUNNING, `instance ${instance.id} is running at ${current.address}`);
  }

  private async markUnready(instance: InstanceRecord, timeoutMs: number): Promise<void> {
    const current = await this.store.instances.get(instance.id);
    if (!current || current.status !== 'STARTING' || current.containerId !== instance.containerId) return;
    this.fail(instance.endpoint);
    const why = `not ready ${timeoutMs / 1000} s after it was created (unregistered_timeout)`;
    await this.instances.update(current, { status: 'ERROR', reason: why }, InstanceEventKinds.INSTANCE_ERROR, `instance ${instance.id} failed: ${why}`);
    void this.reconcile(instance.endpoint, 'trigger', 'instance not ready');
  }
}

function short(containerId: string): string {
  return containerId.slice(0, 12);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
