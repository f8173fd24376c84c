// Keeps the controller's decisions: stored in batches, then streamed on scalingDecisions, with the SCALED and SCALING_CONFLICT events operators read.
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { RoundDecision } from '../model/decision.js';
import { ControlEventKinds } from '../model/events.js';
import { BatchedAppend } from '../store/batched-append.js';
import { newId } from '../store/ids.js';
import type { DecisionRecord, Store } from '../store/types.js';

export const DEFAULT_DECISION_RETENTION_SECONDS = 24 * 60 * 60;
/** A holding decision identical to the last one kept is stored once every this many rounds. */
export const DEFAULT_DECISION_KEEP_EVERY = 60;
/** Pruning of old decisions runs at most this often. */
const PRUNE_EVERY_MS = 60_000;

export interface DecisionKeeperOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  /** Decisions older than this are deleted; default 24 h. */
  retentionSeconds?: number;
  /** See DEFAULT_DECISION_KEEP_EVERY. */
  decisionKeepEvery?: number;
}

/** The last decision kept for one endpoint, and how many identical ones were let go since. */
interface LastKept {
  fingerprint: string;
  skipped: number;
  seen: boolean;
}

/**
 * Every change is kept: each decision that acted, and each one that differs
 * from the last one kept for its endpoint (the controller offers every
 * evaluation and every trigger round that acted or was held back). A holding
 * decision that repeats the last one kept (same state, counts, ranges, notes
 * and inputs, metrics rounded to 3 significant digits) is kept once every
 * `decisionKeepEvery` rounds (default 60), so the history still shows the
 * endpoint was evaluated, without one full record per interval: a paused
 * endpoint with a large rule set wrote a 680 KB decision every round, 60 GB
 * a day at `--interval 1`. A decision let go is neither stored nor streamed
 * (the stream is the store's log, so a resuming client misses nothing).
 *
 * The decisions of rounds that end together are stored in one write, and
 * each is published only once it is stored.
 */
export class DecisionKeeper {
  private readonly conflicted = new Set<string>();
  private readonly lastKept = new Map<string, LastKept>();
  private readonly batch: BatchedAppend<DecisionRecord>;
  private lastPrune = 0;

  constructor(private readonly options: DecisionKeeperOptions) {
    this.batch = new BatchedAppend((records) => options.store.decisions.appendMany(records));
  }

  /** The decision as a record with its id (time-ordered: take it right before `keep`, so ids follow the order kept). */
  record(decision: RoundDecision): DecisionRecord {
    return { id: newId(), endpoint: decision.endpoint, at: new Date(decision.at), record: decision as unknown as Record<string, unknown> };
  }

  /**
   * Stores the decision, streams it, and records what operators should find
   * in the endpoint's log; null when it repeats the last one kept and is let go.
   */
  async keep(record: DecisionRecord, acted: boolean): Promise<DecisionRecord | null> {
    const { bus, events } = this.options;
    const decision = record.record as unknown as RoundDecision;
    if (this.repeats(decision, acted)) return null;
    await this.batch.append(record);
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
    if (acted) {
      await events.record(endpoint, ControlEventKinds.SCALED, decision.summary, {
        decisionId: record.id,
        round: decision.round,
        current: decision.current,
        target: decision.target,
        after: decision.after,
      });
    }
    return record;
  }

  /** True when this holding decision repeats the last one kept and its turn to be kept has not come. */
  private repeats(decision: RoundDecision, acted: boolean): boolean {
    const every = this.options.decisionKeepEvery ?? DEFAULT_DECISION_KEEP_EVERY;
    const holding = !acted && decision.actions.length === 0 && (decision.applied?.length ?? 0) === 0;
    const fingerprint = holding ? decisionFingerprint(decision) : '';
    const last = this.lastKept.get(decision.endpoint);
    if (holding && last && last.fingerprint === fingerprint && last.skipped + 1 < every) {
      last.skipped += 1;
      last.seen = true;
      return true;
    }
    this.lastKept.set(decision.endpoint, { fingerprint, skipped: 0, seen: true });
    return false;
  }

  /** Deletes decisions past retention, at most once a minute (and forgets endpoints not decided about since the last time). */
  async prune(now: Date): Promise<void> {
    const ms = now.getTime();
    if (ms - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = ms;
    for (const [endpoint, last] of this.lastKept) {
      if (!last.seen) this.lastKept.delete(endpoint);
      else last.seen = false;
    }
    const retention = this.options.retentionSeconds ?? DEFAULT_DECISION_RETENTION_SECONDS;
    await this.options.store.decisions.prune(new Date(ms - retention * 1000));
  }
}

/** 3 significant digits: a rate of 0.5012 and one of 0.5008 hold the same way. */
function rounded(value: number): number {
  return Number.isFinite(value) && value !== 0 ? Number(value.toPrecision(3)) : value;
}

/**
 * What makes two holding decisions the same for the history: everything but
 * the time, the cause and the one-line summary (which repeats the rest), with
 * metric inputs rounded.
 */
export function decisionFingerprint(decision: RoundDecision): string {
  const { at: _at, cause: _cause, summary: _summary, applied: _applied, inputs, rules, ...rest } = decision;
  const metrics = Object.entries(inputs.metrics)
    .map(([name, value]) => [name, rounded(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({
    ...rest,
    inputs: { ...inputs, metrics },
    rules: rules.map((rule) => ({ ...rule, average: rule.average === null ? null : rounded(rule.average), total: rule.total === null ? null : rounded(rule.total) })),
  });
}
