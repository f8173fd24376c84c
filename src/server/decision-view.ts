// The typed GraphQL face of a stored scaling decision: the record (src/model/decision.ts) read into `ScalingDecision`'s fields, whatever version stored it.
import type { ActionDirection, ActionKind, ActionOutcome, DecisionInputs, RoundDecision, RuleEvaluation, ScalingDecisionRecord } from '../model/decision.js';
import { ENDPOINT_STATES, type EndpointState } from '../model/states.js';

/*
 * A record is JSON read back from the store, possibly written by an older
 * Reactor: `round` and `cause` came with the control loop, `applied` later.
 * Every field is therefore read with a check, so one odd record cannot fail
 * a whole `decisions` list. A missing part reads as "nothing known" ('', [],
 * null) or, for the counts and ranges, as the engine's own hold: the current
 * count, as it records when it did not evaluate. Actions that cannot be read
 * are left out. The raw record stays available as `record`.
 */

export type RoundName = 'EVALUATE' | 'TRIGGER';
export type RoundStartName = 'INTERVAL' | 'BURST' | 'HELD' | 'CHANGE';
export type ActionKindName = Uppercase<ActionKind>;
export type ActionDirectionName = Uppercase<ActionDirection>;
export type ActionOutcomeName = 'DONE' | 'REMOVED' | 'DEFERRED' | 'NO_ROOM' | 'SKIPPED';

/** A record's inputs, as stored (read with checks). */
export type DecisionInputsView = DecisionInputs;

/** A rule of the record as `ScalingDecision.rules` shows it: the per-instance `average` named `value`, and `noData` always said. */
export interface DecisionRuleView extends Omit<RuleEvaluation, 'average' | 'noData'> {
  /** The per-instance average; null for a rule on `instances`, and when the metric has no data. */
  value: number | null;
  /** No instance or endpoint-wide set reported the metric: the rule was left out. */
  noData: boolean;
}

export interface DecisionActionView {
  kind: ActionKindName;
  direction: ActionDirectionName;
  count: number;
  instance: string | null;
  manager: string | null;
  outcome: ActionOutcomeName;
  reason: string;
  until: Date | null;
}

/** The fields of `ScalingDecision` that come from the record (id, endpoint and at come from the stored row). */
export interface DecisionView
  extends Pick<ScalingDecisionRecord, 'current' | 'ideal' | 'clamped' | 'conflict' | 'target' | 'after' | 'rampLimit' | 'rampCut' | 'held' | 'notes' | 'summary'> {
  round: RoundName;
  cause: string;
  startedBy: RoundStartName;
  state: EndpointState | null;
  inputs: DecisionInputsView | null;
  rules: DecisionRuleView[];
  actions: DecisionActionView[];
}

const START_NAMES: Record<string, RoundStartName> = { interval: 'INTERVAL', burst: 'BURST', held: 'HELD', change: 'CHANGE' };

/** A burst or held-request round: run between intervals on a host's last-second reading (not a stored sample), only adding instances. */
export function isSurgeRound(view: Pick<DecisionView, 'startedBy'>): boolean {
  return view.startedBy === 'BURST' || view.startedBy === 'HELD';
}

const KINDS: Record<ActionKind, ActionKindName> = {
  launch: 'LAUNCH',
  recommission: 'RECOMMISSION',
  decommission: 'DECOMMISSION',
  cancel: 'CANCEL',
  delete: 'DELETE',
};
const DIRECTIONS: Record<ActionDirection, ActionDirectionName> = { up: 'UP', down: 'DOWN', cleanup: 'CLEANUP' };
const OUTCOMES: Record<ActionOutcome, ActionOutcomeName> = {
  done: 'DONE',
  removed: 'REMOVED',
  deferred: 'DEFERRED',
  'no-room': 'NO_ROOM',
  skipped: 'SKIPPED',
};

type Json = Readonly<Record<string, unknown>>;

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const objectOr = (x: unknown): Json => (isObject(x) ? x : {});
const arrayOr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const intOr = <F>(x: unknown, fallback: F): number | F => (Number.isInteger(x) ? (x as number) : fallback);
const numberOr = <F>(x: unknown, fallback: F): number | F =>
  typeof x === 'number' && Number.isFinite(x) ? x : fallback;
const stringOr = <F>(x: unknown, fallback: F): string | F => (typeof x === 'string' ? x : fallback);
const idOr = (x: unknown): string | null => (typeof x === 'string' && x !== '' ? x : null);
const lookup = <K extends string, V>(table: Record<K, V>, x: unknown): V | undefined =>
  typeof x === 'string' && Object.hasOwn(table, x) ? table[x as K] : undefined;

function inputsView(x: unknown): DecisionInputsView | null {
  if (!isObject(x)) return null;
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(objectOr(x.metrics))) {
    if (typeof value === 'number' && Number.isFinite(value)) metrics[name] = value;
  }
  return {
    metrics,
    reported: intOr(x.reported, null),
    current: intOr(x.current, 0),
    minInstances: intOr(x.minInstances, 0),
    maxInstances: intOr(x.maxInstances, 0),
    rampLimit: intOr(x.rampLimit, 0),
    decommissionedTimeout: numberOr(x.decommissionedTimeout, 0),
    rules: stringOr(x.rules, ''),
  };
}

function ruleView(x: unknown): DecisionRuleView | null {
  if (!isObject(x) || typeof x.rule !== 'string') return null;
  return {
    rule: x.rule,
    metric: stringOr(x.metric, ''),
    value: numberOr(x.average, null),
    total: numberOr(x.total, null),
    min: intOr(x.min, 0),
    max: intOr(x.max, null),
    noData: x.noData === true,
  };
}

/** An action as applied (`AppliedAction`): one instance each, with its outcome. */
function appliedView(x: unknown): DecisionActionView | null {
  if (!isObject(x)) return null;
  const kind = lookup(KINDS, x.kind);
  const outcome = lookup(OUTCOMES, x.outcome);
  if (!kind || !outcome) return null;
  const until = typeof x.until === 'string' ? new Date(x.until) : null;
  return {
    kind,
    direction: lookup(DIRECTIONS, x.direction) ?? directionOf(kind),
    count: 1,
    instance: idOr(x.instanceId),
    manager: idOr(x.managerId),
    outcome,
    reason: stringOr(x.reason, ''),
    until: until && !Number.isNaN(until.getTime()) ? until : null,
  };
}

/** An action as planned (`PlannedAction`), for records stored before outcomes were kept: taken to be done. */
function plannedView(x: unknown): DecisionActionView | null {
  if (!isObject(x)) return null;
  const kind = lookup(KINDS, x.kind);
  if (!kind) return null;
  return {
    kind,
    direction: lookup(DIRECTIONS, x.direction) ?? directionOf(kind),
    count: intOr(x.count, 1),
    instance: idOr(x.instanceId),
    manager: null,
    outcome: 'DONE',
    reason: stringOr(x.reason, ''),
    until: null,
  };
}

/** The planner's directions, for a record that did not store them. */
function directionOf(kind: ActionKindName): ActionDirectionName {
  if (kind === 'LAUNCH' || kind === 'RECOMMISSION') return 'UP';
  if (kind === 'DELETE') return 'CLEANUP';
  return 'DOWN';
}

const present = <T>(x: T | null): x is T => x !== null;

/** Reads a stored decision record (a `RoundDecision`, or an older subset of one) into the typed fields. */
export function decisionView(stored: Readonly<Partial<RoundDecision>> | Json): DecisionView {
  const record = stored as Json;
  const current = intOr(record.current, 0);
  const ideal = objectOr(record.ideal);
  const clamped = objectOr(record.clamped);
  // `applied` is the truth when present (even empty: nothing was applied); only older records fall back to the plan.
  const actions = Array.isArray(record.applied)
    ? record.applied.map(appliedView)
    : arrayOr(record.actions).map(plannedView);
  return {
    round: record.round === 'trigger' ? 'TRIGGER' : 'EVALUATE',
    cause: stringOr(record.cause, ''),
    // Records stored before `startedBy` existed: an evaluation came from the interval, a trigger round from a change.
    startedBy: START_NAMES[String(record.startedBy)] ?? (record.round === 'trigger' ? 'CHANGE' : 'INTERVAL'),
    state: ENDPOINT_STATES.find((s) => s === record.state) ?? null,
    inputs: inputsView(record.inputs),
    current,
    rules: arrayOr(record.rules).map(ruleView).filter(present),
    // A present ideal with no max is unbounded; a missing ideal is the hold range.
    ideal: { min: intOr(ideal.min, current), max: intOr(ideal.max, isObject(record.ideal) ? null : current) },
    clamped: { min: intOr(clamped.min, current), max: intOr(clamped.max, current) },
    conflict: record.conflict === true,
    target: intOr(record.target, current),
    after: intOr(record.after, current),
    rampLimit: intOr(record.rampLimit, null),
    rampCut: intOr(record.rampCut, 0),
    held: stringOr(record.held, null),
    notes: arrayOr(record.notes).filter((n): n is string => typeof n === 'string'),
    actions: actions.filter(present),
    summary: stringOr(record.summary, ''),
  };
}
