// Keeps each endpoint's containers in line with its plan: observe (records vs containers), decide (policy), place (scheduler), apply (agents).
import type { Agent, AgentContainer, ContainerExit } from '../agents/types.js';
import { LaunchError } from '../agents/types.js';
import { parseEndpointConfig } from '../config/index.js';
import type { EndpointConfig } from '../config/model.js';
import { containerSpecFor } from '../docker/spec.js';
import type { EventBus } from '../events/bus.js';
import { EventKinds, type EventRecorder } from '../events/recorder.js';
import { planPlacements, type ManagerView, type PlacementRequest } from '../scheduler/placement.js';
import { newId } from '../store/ids.js';
import type { EndpointRecord, InstanceRecord, Store } from '../store/types.js';
import { backoffDelay, DEFAULT_BACKOFF, interimPlan, type BackoffOptions, type EndpointPlan, type PolicyInput } from './policy.js';
import { httpReadiness, type ReadinessProbe } from './readiness.js';
import { InstanceEventKinds, type InstanceService } from './service.js';

/** Endpoint events after which the endpoint is reconciled at once instead of at the next tick. */
const TRIGGER_KINDS = new Set<string>([
  EventKinds.STATE_CHANGED,
  EventKinds.CONFIG_CHANGED,
  EventKinds.ENDPOINT_MANAGED,
  EventKinds.ENDPOINT_UNMANAGED,
]);

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
  /** Milliseconds between full rounds (every endpoint, plus heartbeats). Default 10 s. */
  intervalMs?: number;
  clock?: () => Date;
  backoff?: BackoffOptions;
  readiness?: ReadinessProbe;
  /** Milliseconds between readiness probes of a starting instance. Default 100. */
  readinessPollMs?: number;
  /** Decides each endpoint's plan from its state and instances; default the interim min_instances policy. */
  policy?: (input: PolicyInput & { config: EndpointConfig | null }) => EndpointPlan;
  log?: (line: string) => void;
}

interface Lane {
  tail: Promise<void>;
  /** A round queued behind the running one; later triggers join it (it will see their changes). */
  queued: Promise<void> | null;
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
  private readonly intervalMs: number;
  private readonly clock: () => Date;
  private readonly backoff: BackoffOptions;
  private readonly readiness: ReadinessProbe;
  private readonly readinessPollMs: number;
  private readonly policy: NonNullable<ReconcilerOptions['policy']>;
  private readonly log: (line: string) => void;
  private readonly bus: EventBus;

  private readonly lanes = new Map<string, Lane>();
  private readonly failures = new Map<string, Failures>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly watchers = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private placementLock: Promise<void> = Promise.resolve();
  private sweeping: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
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
    this.intervalMs = options.intervalMs ?? 10_000;
    this.clock = options.clock ?? (() => new Date());
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.readiness = options.readiness ?? httpReadiness;
    this.readinessPollMs = options.readinessPollMs ?? 100;
    this.policy = options.policy ?? ((input) => interimPlan(input));
    this.log = options.log ?? (() => {});
  }

  /**
   * Starts the loop: a full round now (adopting containers left by an earlier
   * process), then one every interval, plus an immediate round of an endpoint
   * whenever it changes or one of its containers exits.
   */
  start(apiUrl?: string): void {
    if (this.started) return;
    this.started = true;
    if (apiUrl) this.apiUrl = apiUrl;
    for (const agent of this.agents.values()) {
      this.unwatch.push(agent.watch((exit) => this.onExit(exit)));
    }
    void this.listen();
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the loop and waits for rounds in flight; containers keep running (a restart adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const unwatch of this.unwatch) unwatch();
    await this.subscription?.return?.();
    for (const watcher of this.watchers.values()) watcher.abort.abort();
    await Promise.all([...this.watchers.values()].map((w) => w.done));
    await this.sweeping;
    await Promise.all([...this.lanes.values()].map((lane) => lane.tail));
  }

  /** Every endpoint that has a record, an instance or a container, reconciled; then each agent's heartbeat. */
  sweep(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.sweeping ??= (async () => {
      try {
        const names = new Set<string>();
        for (const endpoint of await this.store.endpoints.list()) names.add(endpoint.name);
        for (const instance of await this.store.instances.list()) names.add(instance.endpoint);
        for (const agent of this.agents.values()) {
          for (const container of await agent.list().catch(() => [] as AgentContainer[])) {
            if (container.endpoint) names.add(container.endpoint);
          }
        }
        await Promise.all([...names].map((name) => this.reconcile(name)));
        await this.heartbeat();
      } catch (error) {
        if (!this.stopped) this.log(`reconciler: round failed: ${(error as Error).message}`);
      } finally {
        this.sweeping = null;
      }
    })();
    return this.sweeping;
  }

  /**
   * Runs one round for an endpoint, never two at once for the same endpoint.
   * Triggers that arrive while a round runs share one follow-up round.
   */
  reconcile(endpoint: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const lane = this.lane(endpoint);
    if (lane.queued) return lane.queued;
    const run = lane.tail.then(async () => {
      lane.queued = null;
      if (this.stopped) return;
      try {
        await this.round(endpoint);
      } catch (error) {
        if (!this.stopped) this.log(`reconciler: ${endpoint}: ${(error as Error).message}`);
      }
    });
    lane.queued = run;
    lane.tail = run;
    return run;
  }

  /** Updates each agent's manager record: used slots from its labelled containers (plus launches in flight), problems, lastSeen. */
  async heartbeat(): Promise<void> {
    for (const agent of this.agents.values()) {
      let containers: AgentContainer[] = [];
      const problems = await agent.problems();
      if (problems.length === 0) containers = await agent.list().catch(() => []);
      const records = await this.store.instances.list({ managerId: agent.managerId });
      const withContainer = new Set(containers.map((c) => c.instanceId));
      const inFlight = records
        .filter((r) => r.status === 'STARTING' && r.containerId === null && !withContainer.has(r.id))
        .reduce((sum, r) => sum + r.slots, 0);
      const used = containers.reduce((sum, c) => sum + c.slots, 0) + inFlight;
      const existing = await this.store.managers.get(agent.managerId);
      if (!existing) continue;
      await this.store.managers.upsert({
        ...existing,
        usedSlots: used,
        lastSeen: this.clock(),
        problems: [...existing.problems.filter((p) => !DOCKER_PROBLEM.test(p)), ...problems],
      });
    }
  }

  private lane(endpoint: string): Lane {
    let lane = this.lanes.get(endpoint);
    if (!lane) this.lanes.set(endpoint, (lane = { tail: Promise.resolve(), queued: null }));
    return lane;
  }

  /** Runs `work` in the endpoint's lane (after any round in flight), not coalesced. */
  private exclusive(endpoint: string, work: () => Promise<void>): Promise<void> {
    const lane = this.lane(endpoint);
    const run = lane.tail.then(async () => {
      if (this.stopped) return;
      await work().catch((error: unknown) => this.log(`reconciler: ${endpoint}: ${(error as Error).message}`));
    });
    lane.tail = run;
    return run;
  }

  private async listen(): Promise<void> {
    const subscription = this.bus.subscribe('endpointEvents');
    this.subscription = subscription;
    try {
      for await (const event of subscription) {
        if (TRIGGER_KINDS.has(event.kind)) void this.reconcile(event.endpoint);
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
    if (exit.endpoint) void this.reconcile(exit.endpoint);
  }

  /** One round for one endpoint: observe, decide, remove, place and launch. */
  private async round(endpoint: string): Promise<void> {
    const record = await this.store.endpoints.get(endpoint);
    const config = record ? this.parse(record) : null;
    let changed = await this.observe(endpoint);
    // A stored configuration that no longer parses must not read as "min_instances 0": change nothing.
    if (record && !config) return;
    const instances = await this.store.instances.list({ endpoint });
    const plan = this.policy({
      state: record?.state ?? null,
      minInstances: config?.scaling.minInstances ?? 0,
      instances,
      config,
    });
    if (plan.remove.length > 0) {
      changed = true;
      const byId = new Map(instances.map((i) => [i.id, i]));
      await Promise.all(plan.remove.map((id) => this.removeInstance(byId.get(id), plan.why)));
    }
    const pending = instances.filter((i) => i.status === 'PENDING' && !plan.remove.includes(i.id));
    if (record && config && (plan.launch > 0 || pending.length > 0)) {
      changed = (await this.place(record, config, plan.launch, pending)) || changed;
    }
    if (changed && !this.stopped) {
      await this.heartbeat();
      if (plan.remove.length > 0) void this.kickPending(endpoint);
    }
  }

  private parse(record: EndpointRecord): EndpointConfig | null {
    try {
      return parseEndpointConfig(record.configText);
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
   * labelled containers no record owns. Returns true if anything changed.
   */
  private async observe(endpoint: string): Promise<boolean> {
    let changed = false;
    const records = await this.store.instances.list({ endpoint });
    for (const agent of this.agents.values()) {
      let containers: AgentContainer[];
      try {
        containers = (await agent.list()).filter((c) => c.endpoint === endpoint);
      } catch (error) {
        this.log(`reconciler: ${endpoint}: listing containers failed: ${(error as Error).message}`);
        continue;
      }
      const byInstance = new Map(containers.map((c) => [c.instanceId, c]));
      const owned = new Set<string>();
      for (const record of records.filter((r) => r.managerId === agent.managerId)) {
        const container =
          byInstance.get(record.id) ?? containers.find((c) => record.containerId !== null && c.containerId === record.containerId);
        if (container) owned.add(container.containerId);
        if (!['STARTING', 'RUNNING', 'DECOMMISSIONED'].includes(record.status)) continue;
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
            await agent.remove(container.containerId);
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
      for (const container of containers) {
        if (owned.has(container.containerId)) continue;
        changed = true;
        await agent.remove(container.containerId);
        await this.events.record(
          endpoint,
          InstanceEventKinds.ORPHAN_REMOVED,
          `removed container ${short(container.containerId)}: no instance of ${endpoint} owns it`,
          { containerId: container.containerId, instanceId: container.instanceId, managerId: agent.managerId },
        );
      }
    }
    return changed;
  }

  private async markLost(record: InstanceRecord, why: string): Promise<void> {
    // A container that never became ready counts as a failed launch (a crash loop backs off).
    if (record.status === 'STARTING') this.fail(record.endpoint);
    await this.instances.update(record, { status: 'LOST', reason: why }, InstanceEventKinds.INSTANCE_LOST, `instance ${record.id} lost: ${why}`);
  }

  /** Container first, record second: a crash in between leaves a record whose container is gone, which the next round cleans. */
  private async removeInstance(record: InstanceRecord | undefined, why: string): Promise<void> {
    if (!record) return;
    this.watchers.get(record.id)?.abort.abort();
    const agent = record.managerId ? this.agents.get(record.managerId) : undefined;
    if (agent && record.containerId) await agent.remove(record.containerId);
    await this.instances.remove(record, `instance ${record.id} removed (${why})`, { why });
  }

  /** Re-runs the endpoints whose instances wait for room, after room was freed. */
  private async kickPending(except: string): Promise<void> {
    const waiting = new Set(
      (await this.store.instances.list()).filter((i) => i.status === 'PENDING' && i.endpoint !== except).map((i) => i.endpoint),
    );
    for (const endpoint of waiting) void this.reconcile(endpoint);
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
          const launched = await agent.launch(containerSpecFor(endpoint, config, instance.id, this.apiUrl));
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
      void this.reconcile(endpoint);
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
    void this.reconcile(instance.endpoint);
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
