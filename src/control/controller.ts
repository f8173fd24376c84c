// The controller: one round per endpoint per interval (and at once on a change), in one direction — snapshot → decide → plan → place → write desired state and the decision.
import { parseEndpointConfigCached } from '../config/index.js';
import type { EndpointConfig } from '../config/model.js';
import type { InstanceChangeRecord } from '../events/types.js';
import { Lanes } from '../lanes/lanes.js';
import { SingleFlight } from '../lanes/single-flight.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { RoundMode, RoundStart } from '../model/decision.js';
import { CLUSTER, ClusterEventKinds, ControlEventKinds, InstanceEventKinds, RECONFIGURING_KINDS } from '../model/events.js';
import type { EndpointRecord } from '../store/types.js';
import { systemTime, type Time, type Timer } from '../time/timers.js';
import { groupBy } from '../util/group.js';
import { DesiredStateWriter, FencedOut } from './apply.js';
import { DEFAULT_BACKOFF, LaunchBackoff } from './backoff.js';
import { DecisionKeeper } from './decisions.js';
import { DrainWatch, roundConnections } from './drain.js';
import { ControllerLease, leaseTiming } from './lease.js';
import { checkManagers, dropStale, LivenessChecks, ManagerWatch } from './managers.js';
import { HostReports } from './reports.js';
import type { ControllerOptions } from './options.js';

export type { ControllerOptions, TrafficReadings } from './options.js';
import { planActs, type RoundInput } from './plan.js';
import { ScalingPolicy, type SampleView } from './policy.js';
import { mergeRequests, surgeRequest, type RoundRequest } from './round-request.js';

/** See `ControllerOptions.roundConcurrency`. */
export const DEFAULT_ROUND_CONCURRENCY = 32;

/**
 * `tick()` takes the sample of every endpoint, then queues an evaluation
 * round of each in its own lane: rounds of one endpoint never overlap, a
 * slow endpoint delays only itself, and an error becomes that endpoint's
 * ROUND_FAILED event. Between ticks, trigger rounds (a config or state
 * change, an instance the host reported ERROR or LOST, a launch retry,
 * slots freed) hold the count the last evaluation set.
 *
 * A round reads a snapshot (endpoint, config, instance records, connection
 * counts), asks the policy (decide → plan), and writes the plan as desired
 * state (`DesiredStateWriter`); the decision, with what became of each
 * action, is stored and published. It never touches a container: hosts do.
 */
export class Controller {
  readonly policy: ScalingPolicy;
  private readonly lanes: Lanes<RoundRequest>;
  private readonly writer: DesiredStateWriter;
  private readonly decisions: DecisionKeeper;
  private readonly backoff: LaunchBackoff;
  private readonly time: Time;
  private readonly log: Logger;
  private samples = new Map<string, SampleView>();
  private connections: ReadonlyMap<string, number> = new Map();
  private timer: Timer | undefined;
  private readonly liveness: LivenessChecks;
  private readonly retries = new Map<string, Timer>();
  private unwatch: (() => void)[] = [];
  /** True from a tick's start until every round of it is queued: the next tick waits for that, not for slow endpoints. */
  private starting = false;
  /** Sweeps of every endpoint: a trigger sweep joins one in progress, an evaluation starts its own (tracked with the rest). */
  private readonly sweeps = new SingleFlight();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  /** Who holds the controller role; rounds run only while this server does. */
  readonly lease: ControllerLease;
  readonly managers: ManagerWatch;
  private readonly reports: HostReports;
  /** Decommissioned instances, removed as soon as they drain. */
  readonly drains: DrainWatch;

  constructor(private readonly options: ControllerOptions) {
    this.time = options.time ?? systemTime;
    this.log = (options.log ?? silentLogger).child({ component: 'controller' });
    this.backoff = new LaunchBackoff(options.backoff ?? DEFAULT_BACKOFF);
    this.decisions = new DecisionKeeper(options);
    const interval = options.intervalSeconds > 0 ? options.intervalSeconds : 10;
    this.liveness = new LivenessChecks(() => this.track(this.checkManagers()), this.time.timers);
    this.managers = new ManagerWatch((options.managerTimeoutSeconds ?? Math.max(15, 3 * interval)) * 1000, () => this.time.now().getTime());
    this.writer = new DesiredStateWriter({
      store: options.store,
      instances: options.instances,
      backoff: this.backoff,
      now: this.time.now,
      managers: this.managers,
    });
    const timing = options.lease ?? leaseTiming(interval);
    this.lease = new ControllerLease({
      store: options.store,
      holder: options.name ?? 'reactor',
      time: this.time,
      ...timing,
      elected: (term) => this.elected(term),
      deposed: (term, why) => this.deposed(term, why),
      log: this.log,
    });
    this.policy = new ScalingPolicy({
      sample: (endpoint) => this.samples.get(endpoint) ?? null,
      active: (mode, draining) => roundConnections(mode, draining, this.connections, this.options.traffic?.()),
    });
    this.drains = new DrainWatch({ time: this.time, traffic: () => this.options.traffic?.(), reconcile: (endpoint, cause) => void this.reconcile(endpoint, 'trigger', cause) });
    this.reports = new HostReports({
      store: options.store,
      events: options.events,
      backoff: this.backoff,
      now: () => this.time.now().getTime(),
      reconcile: (endpoint, cause) => void this.reconcile(endpoint, 'trigger', cause),
      log: this.log,
    });
    this.lanes = new Lanes<RoundRequest>({
      run: (endpoint, request) => this.round(endpoint, request),
      merge: mergeRequests,
      failed: (endpoint, error) => this.roundFailed(endpoint, error),
      concurrency: options.roundConcurrency ?? DEFAULT_ROUND_CONCURRENCY,
    });
  }

  /**
   * Listens for changes and takes part in the controller election. Once
   * elected it claims the desired state for its term, runs a trigger round
   * of every endpoint, and evaluates every interval until it steps down.
   */
  async start(): Promise<void> {
    const { bus } = this.options;
    this.unwatch.push(
      bus.watch('endpointEvents', (event) => {
        if (RECONFIGURING_KINDS.has(event.kind)) void this.reconcile(event.endpoint, 'trigger', event.kind);
        else if (event.kind === ControlEventKinds.SURGE) this.surge(event.endpoint, event.data);
      }),
      bus.watch('instanceChanges', (change) => this.onInstanceChange(change)),
      // Only the controller watches drains (its sweep on election picks up what drains by then).
      bus.watch('instanceChanges', (change) => this.leading() !== null && this.drains.saw(change.instance, change.change === 'REMOVED')),
    );
    await this.lease.start();
    await this.sweeps.current;
  }

  /** The term this server leads, or null. */
  leading(): number | null {
    return this.stopped ? null : this.lease.leading();
  }

  private async elected(term: number): Promise<void> {
    const { store, events, intervalSeconds } = this.options;
    // Records an older controller wrote are this term's from now on; one it writes after this is fenced out.
    const claimed = await store.instances.claim(term);
    this.log.info({ term, claimed }, `elected for term ${term} (claimed ${claimed} instance records)`);
    await events
      .record(CLUSTER, ClusterEventKinds.CONTROLLER_ELECTED, `${this.options.name ?? 'reactor'} is the controller (term ${term})`, { holder: this.options.name ?? 'reactor', term })
      .catch(() => {});
    if (intervalSeconds > 0 && !this.timer) {
      // The first evaluation is one interval away, so its sample covers a whole interval.
      this.timer = this.time.timers.setInterval(() => {
        if (this.starting) {
          this.log.warn('the previous round is still sampling or listing; skipping this interval');
          return;
        }
        void this.tick();
      }, intervalSeconds * 1000);
    }
    if (intervalSeconds > 0) this.liveness.start(intervalSeconds);
    void this.sweep('trigger', 'elected');
  }

  private deposed(term: number, why: string): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.liveness.stop();
    this.drains.stop();
    for (const retry of this.retries.values()) retry.cancel();
    this.retries.clear();
    this.log.warn({ term }, `stepping down from term ${term}: ${why}`);
    void this.options.events
      .record(CLUSTER, ClusterEventKinds.CONTROLLER_STEPPED_DOWN, `${this.options.name ?? 'reactor'} stepped down from term ${term}: ${why}`, { holder: this.options.name ?? 'reactor', term, why })
      .catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.lease.stop();
    this.timer?.cancel();
    this.liveness.stop();
    for (const retry of this.retries.values()) retry.cancel();
    this.retries.clear();
    for (const unwatch of this.unwatch) unwatch();
    this.drains.stop();
    await Promise.all([...this.running]);
    await this.lanes.stop();
  }

  /** Resolves when every round queued so far is done; `activity` counts rounds started (for tests and simulations). */
  async idle(): Promise<void> {
    await Promise.all([...this.running]);
    await this.lanes.idle();
  }

  get activity(): number {
    return this.lanes.started;
  }

  /** The count trigger rounds restore for an endpoint (for tests and `reactor watch`). */
  heldCount(endpoint: string): number | undefined {
    return this.policy.heldCount(endpoint);
  }

  /**
   * One evaluation of every endpoint: sample, then decide and apply in each
   * endpoint's lane. Resolves when every endpoint's round is done (the timer
   * does not wait for that; tests and benchmarks may).
   */
  tick(): Promise<void> {
    if (this.leading() === null) return Promise.resolve();
    this.starting = true;
    return this.track(
      (async () => {
        try {
          const samples = new Map<string, SampleView>();
          const traffic = this.options.traffic?.();
          if (traffic) {
            try {
              for (const sample of await traffic.tick()) samples.set(sample.endpoint, sample);
              this.connections = traffic.latestConnections;
            } catch (error) {
              // No sample this round: the engine holds each endpoint's count rather than reading "no data" as "no load".
              this.log.error({ err: error }, `sampling failed: ${(error as Error).message}`);
            }
          }
          this.samples = samples;
          await this.liveness.check();
          await this.sweep('evaluate', '', () => (this.starting = false));
          await this.decisions.prune(this.time.now());
        } catch (error) {
          this.log.error({ err: error }, `evaluation failed: ${(error as Error).message}`);
        } finally {
          this.starting = false;
        }
      })(),
    );
  }

  /** A round of one endpoint, merged into the one queued in its lane. */
  reconcile(endpoint: string, mode: RoundMode = 'trigger', cause = ''): Promise<void> {
    if (this.leading() === null) return Promise.resolve();
    const startedBy: RoundStart = mode === 'evaluate' ? 'interval' : 'change';
    return this.lanes.request(endpoint, { mode, startedBy, causes: new Set(cause ? [cause] : []), snapshot: undefined });
  }

  /** A host's SURGE event (see `surgeRequest`): an evaluation with the host's reading that may only add instances. */
  private surge(endpoint: string, data: Readonly<Record<string, unknown>>): void {
    const request = surgeRequest(data);
    if (request && this.leading() !== null) void this.lanes.request(endpoint, request);
  }

  /**
   * A round of every endpoint that has a record or an instance. The
   * instance records are listed once for all of them; a round uses that
   * listing only if its lane ran nothing since. `onQueued` hears once every
   * round is queued.
   */
  sweep(mode: RoundMode, cause: string, onQueued?: () => void): Promise<void> {
    if (this.leading() === null) {
      onQueued?.();
      return Promise.resolve();
    }
    const sweep = () => this.track(
      (async () => {
        try {
          const generations = this.lanes.generations();
          const [endpoints, records] = await Promise.all([this.options.store.endpoints.list(), this.options.store.instances.list()]);
          const instances = groupBy(records, (instance) => instance.endpoint);
          const names = new Set<string>(instances.keys());
          for (const endpoint of endpoints) names.add(endpoint.name);
          const snapshot = { instances, generations };
          const causes = cause ? [cause] : [];
          const startedBy: RoundStart = mode === 'evaluate' ? 'interval' : 'change';
          const rounds = [...names].map((name) => this.lanes.request(name, { mode, startedBy, causes: new Set(causes), snapshot }));
          onQueued?.();
          await Promise.all(rounds);
        } catch (error) {
          if (!this.stopped) this.log.error({ err: error }, `sweep failed: ${(error as Error).message}`);
        } finally {
          onQueued?.();
        }
      })(),
    );
    return this.sweeps.run(sweep, mode === 'trigger');
  }

  /** One round: snapshot → decide and plan (policy) → write the desired state → keep the decision. */
  private async round(endpoint: string, request: RoundRequest): Promise<void> {
    const term = this.leading();
    if (term === null) return;
    const { store } = this.options;
    const record = await store.endpoints.get(endpoint);
    const config = record ? this.parse(record) : null;
    // A stored configuration that no longer parses must not read as "min_instances 0": change nothing.
    if (record && !config) return;
    const snapshot = request.snapshot && this.lanes.unchangedSince(endpoint, request.snapshot.generations) ? request.snapshot : undefined;
    const listed = snapshot ? (snapshot.instances.get(endpoint) ?? []) : await store.instances.list({ endpoint });
    const instances = await dropStale(this.options.instances, listed, term);
    this.drains.timeout(endpoint, config ? config.endpoint.decommissionedTimeout : null);
    for (const instance of instances) this.drains.saw(instance);
    const input: RoundInput = {
      endpoint,
      state: record?.state ?? null,
      config,
      instances,
      mode: request.mode,
      startedBy: request.startedBy,
      surge: request.startedBy === 'burst' || request.startedBy === 'held' ? request.surge : undefined,
      cause: [...request.causes].join(', '),
      now: this.time.now(),
    };
    const plan = await this.policy.plan(input);
    let applied;
    try {
      applied = await this.writer.apply(endpoint, config, instances, plan, term);
    } catch (error) {
      if (!(error instanceof FencedOut)) throw error;
      this.lease.fencedOut(`the store refused a write: ${error.message}`);
      return;
    }
    if (applied.deferredUntil !== null) this.retryAt(endpoint, applied.deferredUntil);
    const decision = plan.decision;
    if (!decision) return;
    decision.applied = applied.actions;
    decision.term = term;
    if (applied.notes.length > 0) {
      // What was wanted but not done belongs in the line operators read, not only in the record.
      for (const note of applied.notes) decision.notes.push(note);
      decision.summary += ` (${applied.notes.join('; ')})`;
    }
    // Kept: every evaluation, and a trigger round that acted or was held back (what it wanted and why it could not).
    if ((request.mode === 'evaluate' || planActs(plan) || applied.actions.length > 0) && this.leading() === term) {
      const record = this.decisions.record(decision);
      // Every line about this round carries its decision id.
      const log = this.log.child({ endpoint, decision: record.id });
      try {
        const kept = await this.decisions.keep(record, applied.changed);
        if (kept) log[applied.changed ? 'info' : 'debug']({ round: request.mode, current: decision.current, target: decision.target, after: decision.after }, decision.summary);
      } catch (error) {
        log.error({ err: error }, `keeping the decision failed: ${(error as Error).message}`);
      }
    }
  }

  private async checkManagers(): Promise<void> {
    const term = this.leading();
    if (term === null) return;
    await checkManagers({ ...this.options, watch: this.managers, term, reconcile: (endpoint, cause) => void this.reconcile(endpoint, 'trigger', cause), kickPending: () => this.kickPending('') }).catch((error: unknown) => {
      if (!this.stopped) this.log.error({ err: error }, `checking the managers failed: ${(error as Error).message}`);
    });
  }

  /** What hosts report back (see reports.ts), acted on while this server leads. */
  private onInstanceChange(change: InstanceChangeRecord): void {
    if (this.leading() !== null) this.reports.heard(change);
  }

  private kickPending(except: string): void {
    if (!this.stopped) this.reports.kickPending(except);
  }

  /** A trigger round once the launch back-off of `endpoint` ends. */
  private retryAt(endpoint: string, atMs: number): void {
    if (this.stopped || this.retries.has(endpoint)) return;
    const delay = Math.max(0, atMs - this.time.now().getTime()) + 10;
    this.retries.set(
      endpoint,
      this.time.timers.setTimeout(() => {
        this.retries.delete(endpoint);
        void this.reconcile(endpoint, 'trigger', 'launch retry');
      }, delay),
    );
  }

  /** An error in one endpoint's round is that endpoint's event, not the loop's end. */
  private async roundFailed(endpoint: string, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error({ endpoint, err: error }, `round failed: ${message}`);
    await this.options.events
      .record(endpoint, InstanceEventKinds.ROUND_FAILED, `round of ${endpoint} failed: ${message}; the next round tries again`, { error: message })
      .catch(() => {});
  }

  private track(run: Promise<void>): Promise<void> {
    const tracked = run.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    return tracked;
  }

  private parse(record: EndpointRecord): EndpointConfig | null {
    try {
      return parseEndpointConfigCached(record.configText);
    } catch (error) {
      this.log.error({ endpoint: record.name }, `stored configuration does not parse: ${(error as Error).message}`);
      return null;
    }
  }
}
