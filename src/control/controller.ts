// The controller: one round per endpoint per interval (and at once on a change), in one direction — snapshot → decide → plan → place → write desired state and the decision.
import { parseEndpointConfigCached } from '../config/index.js';
import type { EndpointConfig } from '../config/model.js';
import type { EventBus } from '../events/bus.js';
import type { InstanceChangeRecord } from '../events/types.js';
import type { EventRecorder } from '../events/recorder.js';
import type { InstanceService } from '../instances/service.js';
import { Lanes } from '../lanes/lanes.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { RoundMode } from '../model/decision.js';
import { InstanceEventKinds, RECONFIGURING_KINDS } from '../model/events.js';
import type { EndpointRecord, InstanceRecord, Store } from '../store/types.js';
import { systemTime, type Time, type Timer } from '../time/timers.js';
import { groupBy } from '../util/group.js';
import { DesiredStateWriter } from './apply.js';
import { DEFAULT_BACKOFF, LaunchBackoff, type BackoffOptions } from './backoff.js';
import { DecisionKeeper } from './decisions.js';
import { planActs, type RoundInput } from './plan.js';
import { ScalingPolicy, type SampleView } from './policy.js';

/** See `ControllerOptions.roundConcurrency`. */
export const DEFAULT_ROUND_CONCURRENCY = 32;

/**
 * Where the controller reads traffic: the metric sample of every endpoint
 * (taken just before an evaluation) and open connections per backend
 * address. The local host's sampler is one; in a cluster it is the store.
 */
export interface TrafficReadings {
  tick(): Promise<readonly ({ endpoint: string } & SampleView)[]>;
  /** Open connections per backend address at the last `tick`. */
  readonly latestConnections: ReadonlyMap<string, number>;
  /** Open connections per backend address now. */
  connectionsNow(): Promise<ReadonlyMap<string, number>>;
}

export interface ControllerOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  instances: InstanceService;
  /** Seconds between evaluation rounds (`--interval`); 0 = no timer (tests and simulations call `tick`). */
  intervalSeconds: number;
  /** The traffic readings, once there are any. */
  traffic?: () => TrafficReadings | undefined;
  /** Decisions older than this are deleted; default 24 h. */
  retentionSeconds?: number;
  time?: Time;
  backoff?: BackoffOptions;
  /**
   * Rounds of different endpoints that may run at once (default 32): it
   * bounds what a sweep of many endpoints holds open together.
   */
  roundConcurrency?: number;
  /** A manager not heard from for this long gets no new instances; default 3 intervals, at least 15 s. */
  managerTimeoutSeconds?: number;
  log?: Logger;
}

interface RoundRequest {
  mode: RoundMode;
  causes: Set<string>;
  /** The instance records a sweep listed, when this round may use them. */
  snapshot: { instances: Map<string, InstanceRecord[]>; generations: Map<string, number> } | undefined;
}

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
  private readonly retries = new Map<string, Timer>();
  private unwatch: (() => void)[] = [];
  /** True from a tick's start until every round of it is queued: the next tick waits for that, not for slow endpoints. */
  private starting = false;
  private sweeping: Promise<void> | null = null;
  private readonly running = new Set<Promise<void>>();
  private kick: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    this.time = options.time ?? systemTime;
    this.log = (options.log ?? silentLogger).child({ component: 'controller' });
    this.backoff = new LaunchBackoff(options.backoff ?? DEFAULT_BACKOFF);
    this.decisions = new DecisionKeeper(options);
    const interval = options.intervalSeconds > 0 ? options.intervalSeconds : 10;
    this.writer = new DesiredStateWriter({
      store: options.store,
      instances: options.instances,
      backoff: this.backoff,
      now: this.time.now,
      managerTimeoutMs: (options.managerTimeoutSeconds ?? Math.max(15, 3 * interval)) * 1000,
    });
    this.policy = new ScalingPolicy({
      sample: (endpoint) => this.samples.get(endpoint) ?? null,
      // Evaluations read the connection counts taken with the sample; trigger rounds read them afresh.
      active: async (mode) => (mode === 'evaluate' ? this.connections : ((await this.options.traffic?.()?.connectionsNow()) ?? new Map())),
    });
    this.lanes = new Lanes<RoundRequest>({
      run: (endpoint, request) => this.round(endpoint, request),
      merge: (queued, next) => {
        if (next.mode === 'evaluate') queued.mode = 'evaluate';
        for (const cause of next.causes) queued.causes.add(cause);
        queued.snapshot ??= next.snapshot;
      },
      failed: (endpoint, error) => this.roundFailed(endpoint, error),
      concurrency: options.roundConcurrency ?? DEFAULT_ROUND_CONCURRENCY,
    });
  }

  /** Listens for changes, runs a trigger round of every endpoint now, and evaluates every interval from now on. */
  start(): Promise<void> {
    const { bus, intervalSeconds } = this.options;
    this.unwatch.push(
      bus.watch('endpointEvents', (event) => {
        if (RECONFIGURING_KINDS.has(event.kind)) void this.reconcile(event.endpoint, 'trigger', event.kind);
      }),
      bus.watch('instanceChanges', (change) => this.onInstanceChange(change)),
    );
    if (intervalSeconds > 0) {
      // The first evaluation is one interval away, so its sample covers a whole interval.
      this.timer = this.time.timers.setInterval(() => {
        if (this.starting) {
          this.log.warn('the previous round is still sampling or listing; skipping this interval');
          return;
        }
        void this.tick();
      }, intervalSeconds * 1000);
    }
    return this.sweep('trigger', 'start');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    for (const retry of this.retries.values()) retry.cancel();
    this.retries.clear();
    for (const unwatch of this.unwatch) unwatch();
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
    if (this.stopped) return Promise.resolve();
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
    if (this.stopped) return Promise.resolve();
    return this.lanes.request(endpoint, { mode, causes: new Set(cause ? [cause] : []), snapshot: undefined });
  }

  /**
   * A round of every endpoint that has a record or an instance. The
   * instance records are listed once for all of them; a round uses that
   * listing only if its lane ran nothing since. `onQueued` hears once every
   * round is queued.
   */
  sweep(mode: RoundMode, cause: string, onQueued?: () => void): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.sweeping && mode === 'trigger') return this.sweeping;
    const run = this.track(
      (async () => {
        try {
          const generations = this.lanes.generations();
          const [endpoints, records] = await Promise.all([this.options.store.endpoints.list(), this.options.store.instances.list()]);
          const instances = groupBy(records, (instance) => instance.endpoint);
          const names = new Set<string>(instances.keys());
          for (const endpoint of endpoints) names.add(endpoint.name);
          const snapshot = { instances, generations };
          const causes = cause ? [cause] : [];
          const rounds = [...names].map((name) => this.lanes.request(name, { mode, causes: new Set(causes), snapshot }));
          onQueued?.();
          await Promise.all(rounds);
        } catch (error) {
          if (!this.stopped) this.log.error({ err: error }, `sweep failed: ${(error as Error).message}`);
        } finally {
          onQueued?.();
        }
      })(),
    );
    this.sweeping = run;
    void run.finally(() => {
      if (this.sweeping === run) this.sweeping = null;
    });
    return run;
  }

  /** One round: snapshot → decide and plan (policy) → write the desired state → keep the decision. */
  private async round(endpoint: string, request: RoundRequest): Promise<void> {
    const { store } = this.options;
    const record = await store.endpoints.get(endpoint);
    const config = record ? this.parse(record) : null;
    // A stored configuration that no longer parses must not read as "min_instances 0": change nothing.
    if (record && !config) return;
    const snapshot = request.snapshot && this.lanes.unchangedSince(endpoint, request.snapshot.generations) ? request.snapshot : undefined;
    const instances = snapshot ? (snapshot.instances.get(endpoint) ?? []) : await store.instances.list({ endpoint });
    const input: RoundInput = {
      endpoint,
      state: record?.state ?? null,
      config,
      instances,
      mode: request.mode,
      cause: [...request.causes].join(', '),
      now: this.time.now(),
    };
    const plan = await this.policy.plan(input);
    const applied = await this.writer.apply(endpoint, config, instances, plan);
    if (applied.deferredUntil !== null) this.retryAt(endpoint, applied.deferredUntil);
    const decision = plan.decision;
    if (!decision) return;
    decision.applied = applied.actions;
    if (applied.notes.length > 0) {
      // What was wanted but not done belongs in the line operators read, not only in the record.
      for (const note of applied.notes) decision.notes.push(note);
      decision.summary += ` (${applied.notes.join('; ')})`;
    }
    // Kept: every evaluation, and a trigger round that acted or was held back (what it wanted and why it could not).
    if (request.mode === 'evaluate' || planActs(plan) || applied.actions.length > 0) {
      const record = this.decisions.record(decision);
      // Every line about this round carries its decision id.
      const log = this.log.child({ endpoint, decision: record.id });
      try {
        await this.decisions.keep(record, applied.changed);
        log[applied.changed ? 'info' : 'debug']({ round: request.mode, current: decision.current, target: decision.target, after: decision.after }, decision.summary);
      } catch (error) {
        log.error({ err: error }, `keeping the decision failed: ${(error as Error).message}`);
      }
    }
  }

  /**
   * What hosts report back: a failed launch (the back-off counts it, and a
   * missing image is told once per attempt with when the next one comes), an
   * instance ERROR or LOST (replaced at once), an instance ready (launches
   * work again), and a removal (its slots are free for endpoints waiting).
   */
  private onInstanceChange(change: InstanceChangeRecord): void {
    const { instance } = change;
    const endpoint = change.endpoint;
    if (change.change === 'REMOVED') {
      this.kickPending(endpoint);
      return;
    }
    if (instance.status === 'RUNNING' && change.data?.ready) {
      this.backoff.clear(endpoint);
      return;
    }
    const failure = typeof change.data?.failure === 'string' ? change.data.failure : undefined;
    if (failure && failure !== 'HEALTH_CHECK') {
      const delay = this.backoff.fail(endpoint, this.time.now().getTime());
      if (delay !== null && failure === 'IMAGE_UNAVAILABLE') void this.imageUnavailable(change, delay);
    }
    if (instance.status === 'ERROR' || instance.status === 'LOST' || (instance.status === 'PENDING' && failure)) {
      void this.reconcile(endpoint, 'trigger', `instance ${instance.status}`);
    }
  }

  private async imageUnavailable(change: InstanceChangeRecord, delayMs: number): Promise<void> {
    const { failure: _failure, message, instanceId: _id, ...details } = change.data ?? {};
    await this.options.events
      .record(
        change.endpoint,
        InstanceEventKinds.IMAGE_UNAVAILABLE,
        `${String(message)}; next attempt in ${Math.ceil(delayMs / 1000)} s`,
        { ...details, retryInMs: delayMs },
        // The same failure whatever the back-off: one event with a count, not one per retry.
        { sameAs: String(message) },
      )
      .catch((error: unknown) => this.log.error({ endpoint: change.endpoint, err: error }, (error as Error).message));
  }

  /** Re-runs the endpoints whose instances wait for room (once per turn of removals). */
  private kickPending(except: string): void {
    if (this.kick || this.stopped) return;
    this.kick = Promise.resolve().then(async () => {
      this.kick = undefined;
      const waiting = new Set((await this.options.store.instances.list()).filter((i) => i.status === 'PENDING' && i.endpoint !== except).map((i) => i.endpoint));
      for (const endpoint of waiting) void this.reconcile(endpoint, 'trigger', 'slots freed');
    });
    void this.kick.catch((error: unknown) => this.log.error({ err: error }, `re-running pending endpoints failed: ${(error as Error).message}`));
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
