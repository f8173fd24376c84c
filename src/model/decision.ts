// The scaling decision record and its parts: what the controller stores and streams for every round, and what the API types.
import type { EndpointState } from './states.js';

/** One rule's contribution to a decision, as decision records and `evaluateScaling` show it. */
export interface RuleEvaluation {
  rule: string;
  metric: string;
  /** Per-instance average used (null for `instances`, and when the metric has no data). */
  average: number | null;
  /** Endpoint total T = average × N (null for `instances`, and when the metric has no data). */
  total: number | null;
  min: number;
  /** Null means unbounded. */
  max: number | null;
  /**
   * True when no instance and no endpoint-wide set reported the metric: the
   * rule is left out of the combination (its range is shown as 0..∞), never
   * read as 0. Absent on records stored before it existed.
   */
  noData?: boolean;
}

export type ActionKind = 'launch' | 'recommission' | 'decommission' | 'cancel' | 'delete';
/** `up`/`down` change the serving count and count against ramp_limit; `cleanup` does neither. */
export type ActionDirection = 'up' | 'down' | 'cleanup';

/** One step the planner asks for. */
export interface PlannedAction {
  kind: ActionKind;
  direction: ActionDirection;
  /** The instance acted on; null for `launch` (new instances have no id yet). */
  instanceId: string | null;
  /** How many instances: `launch` may start several, every other action is about one. */
  count: number;
  reason: string;
}

/**
 * What became of a planned action when the controller applied it:
 * - `done`: as planned;
 * - `removed`: a decommission of an instance with nothing to drain became an immediate removal;
 * - `deferred`: a launch held back by the launch backoff (`until` says till when);
 * - `no-room`: a launch no manager could take (the instance waits as PENDING; `reason` has each manager's reason);
 * - `skipped`: the instance had changed meanwhile (already gone, no longer RUNNING…).
 */
export type ActionOutcome = 'done' | 'removed' | 'deferred' | 'no-room' | 'skipped';

/** One action as applied: one instance each (a launch of 3 is three actions). */
export interface AppliedAction {
  kind: ActionKind;
  direction: ActionDirection;
  /** The instance acted on, or created for a launch; null for a launch that was deferred before any record was made. */
  instanceId: string | null;
  /** The manager the instance is on, or was placed on; null while it has none. */
  managerId: string | null;
  outcome: ActionOutcome;
  /** Why the action was wanted, and for anything but `done`, why it went otherwise. */
  reason: string;
  /** For `deferred`: the ISO time before which no launch is tried. */
  until: string | null;
}

/** Why a round ran. `evaluate`: the periodic round that consults the rules; `trigger`: a round between evaluations that holds the last decided count. */
export type RoundMode = 'evaluate' | 'trigger';

/** What a decision was made with: the sample's averages and the endpoint's scaling settings. */
export interface DecisionInputs {
  /** The per-instance averages used (malformed values already left out, see `notes`). */
  metrics: Record<string, number>;
  /** N: instances that reported; null when there was no sample. */
  reported: number | null;
  /** Instances serving or about to (RUNNING, STARTING, PENDING). */
  current: number;
  minInstances: number;
  maxInstances: number;
  rampLimit: number;
  decommissionedTimeout: number;
  rules: string;
}

/** The decision record: what `scalingDecisions` streams and `DecisionRecord.record` stores. Plain JSON. */
export interface ScalingDecisionRecord {
  endpoint: string;
  /** ISO time of the decision (the injected clock). */
  at: string;
  state: EndpointState;
  inputs: DecisionInputs;
  current: number;
  rules: RuleEvaluation[];
  /** The rules combined (min > max on a conflict; null max = unbounded). */
  ideal: { min: number; max: number | null };
  /** The range the target is taken from (after the clamp; [current, current] on a conflict). */
  clamped: { min: number; max: number };
  conflict: boolean;
  /** The count the rules ask for (0 when STOPPED); when PAUSED or held, what they would ask for — `after` is what this round gives. */
  target: number;
  /** The count after this round's actions (current when nothing changes). */
  after: number;
  /** The ramp limit that applied; null = none (STOPPED). */
  rampLimit: number | null;
  /** Scaling actions held back by the ramp limit this round. */
  rampCut: number;
  rampLimited: boolean;
  actions: PlannedAction[];
  /** Why no change was made although the rules were not consulted or not obeyed (PAUSED, bad config, no sample); else null. */
  held: string | null;
  /** Things the operator should know: ignored metric values, conflicts, what was wanted but not done. */
  notes: string[];
  /** One human line, e.g. "rate 33.0/instance over 1 instance needs 34..∞ → clamped to 5..5 → target 5; launching 5 (ramp limit 5 cut 0)". */
  summary: string;
}

/**
 * What started a round: `interval` the periodic evaluation, `change` a
 * trigger round (config, state, a container that exited, slots freed);
 * `burst` and `held` are evaluations run at once between intervals, when the
 * traffic a host sees jumps past what the rules allow for the current count,
 * or a request is held at 0 instances. Those two only ever add instances.
 */
export type RoundStart = 'interval' | 'burst' | 'held' | 'change';

/** The decision record as the controller stores and streams it: the engine's record, which round made it, and what was applied. */
export type RoundDecision = ScalingDecisionRecord & {
  round: RoundMode;
  /** For trigger rounds, what triggered it; '' for evaluations. */
  cause: string;
  /** What started the round (absent on records stored before it existed: read `interval` for evaluations, `change` for triggers). */
  startedBy?: RoundStart;
  /** The actions as applied, each with its outcome (absent on records stored before it existed). */
  applied?: AppliedAction[];
  /** The controller term that made it (absent on records stored before terms existed). */
  term?: number;
};
