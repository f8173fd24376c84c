// The control loop: every interval, sample every endpoint, then one evaluation round per endpoint (decide → plan → apply), decisions stored and streamed.
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { Reconciler } from '../instances/reconciler.js';
import type { EndpointPlan } from '../instances/policy.js';
import { planActs } from '../instances/policy.js';
import type { MetricsSampler } from '../metrics/sampler.js';
import { BatchedAppend } from '../store/batched-append.js';
import { newId } from '../store/ids.js';
import type { DecisionRecord, Store } from '../store/types.js';
import { ScalingPolicy, type RoundDecision, type SampleView } from './policy.js';

export { ControlEventKinds } from '../model/events.js';
import { ControlEventKinds } from '../model/events.js';

export const DEFAULT_DECISION_RETENTION_SECONDS = 24 * 60 * 60;
/** Pruning of old decisions runs at most this often. */
const PRUNE_EVERY_MS = 60_000;

export interface ControlLoopOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  /** Seconds between evaluation rounds (`--interval`). */
  intervalSeconds: number;
  /** The metrics sampler, once the pipeline has made one (it is created when the server starts). */
  sampler: () => MetricsSampler | undefined;
  /** Decisions older than this are deleted; default 24 h. */
  retentionSeconds?: number;
  clock?: () => Date;
  log?: (line: string) => void;
}

/**
 * One evaluation round per interval:
 *
 *   observe ─► decide ─► plan ─► apply
 *
 * `tick()` first takes the metric sample of every endpoint (the sampler runs
 * on no timer of its own, so the sample an evaluation reads is always the
 * one taken just before it), then asks the reconciler for an evaluation
 * round of every endpoint. Each endpoint runs in its own lane of the
 * reconciler: rounds of one endpoint never overlap, a slow endpoint delays
 * only itself (its next evaluation joins the round queued behind it and
 * reads the newest sample), and an error becomes that endpoint's
 * ROUND_FAILED event. Inside a round the reconciler observes the containers,
 * checks health, asks `policy` (decide → plan), applies the plan through the
 * scheduler and the agents, and the nginx sync follows the instance changes;
 * then the decision record is stored and published on `scalingDecisions`.
 *
 * Between evaluations the reconciler still runs trigger rounds (state and
 * config changes, container exits, retries); `policy` holds those to the
 * count the last evaluation set, and keeps their decision only when they
 * acted.
 */
export class ControlLoop {
  readonly policy: ScalingPolicy;
  private reconciler: Reconciler | undefined;
  private samples = new Map<string, SampleView>();
  private connections: ReadonlyMap<string, number> = new Map();
  private readonly conflicted = new Set<string>();
  private readonly clock: () => Date;
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  /** True from a tick's start until every round of it is queued: the next tick waits for that, not for slow endpoints. */
  private starting = false;
  private readonly ticks = new Set<Promise<void>>();
  private lastPrune = 0;
  private stopped = false;
  /** The decisions of rounds that end together are stored in one write. */
  private readonly decisions: BatchedAppend<DecisionRecord>;

  constructor(private readonly options: ControlLoopOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log ?? (() => {});
    this.decisions = new BatchedAppend((records) => options.store.decisions.appendMany(records));
    this.policy = new ScalingPolicy({
      sample: (endpoint) => this.samples.get(endpoint) ?? null,
      // Evaluations read the connection counts taken with the sample; trigger rounds read them afresh.
      active: async (mode) => (mode === 'evaluate' ? this.connections : ((await this.options.sampler()?.connectionsNow()) ?? new Map())),
      record: (decision, plan) => this.keep(decision, plan),
    });
  }

  /** The reconciler whose rounds apply the plans (it was built with `this.policy`). */
  attach(reconciler: Reconciler): void {
    this.reconciler = reconciler;
  }

  /** Evaluates every interval from now on; the first evaluation is one interval away, so its sample covers a whole interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      if (this.starting) {
        this.log('control loop: the previous round is still sampling or listing; skipping this interval');
        return;
      }
      void this.tick();
    }, this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.ticks]);
  }

  /**
   * One evaluation round of every endpoint: sample, then decide and apply in
   * each endpoint's lane. Resolves when every endpoint's round is done (the
   * timer does not wait for that; tests and benchmarks may).
   */
  tick(): Promise<void> {
    if (this.stopped || !this.reconciler) return Promise.resolve();
    const reconciler = this.reconciler;
    this.starting = true;
    const run = (async () => {
      try {
        const samples = new Map<string, SampleView>();
        const sampler = this.options.sampler();
        if (sampler) {
          try {
            for (const sample of await sampler.tick()) samples.set(sample.endpoint, sample);
            this.connections = sampler.latestConnections;
          } catch (error) {
            // No sample this round: the engine holds each endpoint's count rather than reading "no data" as "no load".
            this.log(`control loop: sampling failed: ${(error as Error).message}`);
          }
        }
        this.samples = samples;
        await reconciler.sweep('evaluate', '', () => (this.starting = false));
        await this.prune();
      } catch (error) {
        this.log(`control loop: round failed: ${(error as Error).message}`);
      } finally {
        this.starting = false;
      }
    })();
    const tracked = run.finally(() => this.ticks.delete(tracked));
    this.ticks.add(tracked);
    return tracked;
  }

  /** Stores the decision, streams it, and records what operators should find in the endpoint's log. */
  private async keep(decision: RoundDecision, plan: EndpointPlan): Promise<void> {
    const { bus, events } = this.options;
    const record: DecisionRecord = {
      id: newId(),
      endpoint: decision.endpoint,
      at: new Date(decision.at),
      record: decision as unknown as Record<string, unknown>,
    };
    await this.decisions.append(record);
    bus.publish('scalingDecisions', record);
    const endpoint = decision.endpoint;
    if (decision.conflict && !this.conflicted.has(endpoint)) {
      // Once when the conflict starts, not every interval it lasts.
      this.conflicted.add(endpoint);
      const note = decision.notes.find((n) => n.startsWith('rules conflict')) ?? 'rules conflict';
      await events.record(endpoint, ControlEventKinds.SCALING_CONFLICT, `${note} (rules: ${decision.inputs.rules})`, {
        decisionId: record.id,
        ideal: decision.ideal,
        rules: decision.rules,
      });
    } else if (!decision.conflict && decision.round === 'evaluate') {
      this.conflicted.delete(endpoint);
    }
    if (planActs(plan)) {
      await events.record(endpoint, ControlEventKinds.SCALED, decision.summary, {
        decisionId: record.id,
        round: decision.round,
        current: decision.current,
        target: decision.target,
        after: decision.after,
      });
    }
  }

  private async prune(): Promise<void> {
    const now = this.clock().getTime();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const retention = this.options.retentionSeconds ?? DEFAULT_DECISION_RETENTION_SECONDS;
    await this.options.store.decisions.prune(new Date(now - retention * 1000));
  }
}
