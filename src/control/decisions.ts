// Keeps the controller's decisions: stored in batches, then streamed on scalingDecisions, with the SCALED and SCALING_CONFLICT events operators read.
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { RoundDecision } from '../model/decision.js';
import { ControlEventKinds } from '../model/events.js';
import { BatchedAppend } from '../store/batched-append.js';
import { newId } from '../store/ids.js';
import type { DecisionRecord, Store } from '../store/types.js';

export const DEFAULT_DECISION_RETENTION_SECONDS = 24 * 60 * 60;
/** Pruning of old decisions runs at most this often. */
const PRUNE_EVERY_MS = 60_000;

export interface DecisionKeeperOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  /** Decisions older than this are deleted; default 24 h. */
  retentionSeconds?: number;
}

/**
 * Every evaluation is kept, and every trigger round that acted (the
 * controller decides which). The decisions of rounds that end together are
 * stored in one write, and each is published only once it is stored.
 */
export class DecisionKeeper {
  private readonly conflicted = new Set<string>();
  private readonly batch: BatchedAppend<DecisionRecord>;
  private lastPrune = 0;

  constructor(private readonly options: DecisionKeeperOptions) {
    this.batch = new BatchedAppend((records) => options.store.decisions.appendMany(records));
  }

  /** The decision as a record with its id (time-ordered: take it right before `keep`, so ids follow the order kept). */
  record(decision: RoundDecision): DecisionRecord {
    return { id: newId(), endpoint: decision.endpoint, at: new Date(decision.at), record: decision as unknown as Record<string, unknown> };
  }

  /** Stores the decision, streams it, and records what operators should find in the endpoint's log. */
  async keep(record: DecisionRecord, acted: boolean): Promise<DecisionRecord> {
    const { bus, events } = this.options;
    const decision = record.record as unknown as RoundDecision;
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

  /** Deletes decisions past retention, at most once a minute. */
  async prune(now: Date): Promise<void> {
    const ms = now.getTime();
    if (ms - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = ms;
    const retention = this.options.retentionSeconds ?? DEFAULT_DECISION_RETENTION_SECONDS;
    await this.options.store.decisions.prune(new Date(ms - retention * 1000));
  }
}
