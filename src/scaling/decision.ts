// One autoscaler decision for one endpoint: rules → ranges → target → round plan, returned as a JSON-serialisable record.
import { isReactorError } from '../errors/codes.js';
import type { ScalingDecisionRecord } from '../model/decision.js';
import type { EndpointState } from '../model/states.js';
import { calculateScaling, holdWithin, toJsonMax, type RuleEvaluation, type ScalingCalculation } from './calculator.js';
import { planRound, countsAsCurrent, type InstanceView, type PlannedAction, type RoundPlan } from './plan.js';
import { parseRulesCached, type Rule } from './rules.js';

export interface DecisionInput {
  endpoint: string;
  state: EndpointState;
  /** The endpoint's `[scaling]` section (rules as written, comma-separated). */
  scaling: { minInstances: number; maxInstances: number; rules: string; rampLimit: number };
  /** Seconds a decommissioned instance drains before it is deleted (`decommissioned_timeout`). */
  decommissionedTimeout: number;
  /**
   * The latest metric sample: per-instance averages and N, the instances that
   * reported. Null when there is none yet: the decision then holds the
   * current count (fitted into [min, max]) instead of reading "no data" as
   * "no load" and shrinking a busy endpoint after a restart.
   */
  sample: { instances: number; metrics: Readonly<Record<string, unknown>> } | null;
  instances: readonly InstanceView[];
  /** `scaling.rules` already parsed, if the caller keeps it; otherwise parsed through a cache. */
  rules?: readonly Rule[];
}

export type { ScalingDecisionRecord };

// The control loop decides every endpoint of a round with the same `now`, and
// Date#toISOString is a noticeable part of one decision: remember the last one.
let lastAtMs = NaN;
let lastAtIso = '';
function isoTime(now: Date): string {
  const ms = now.getTime();
  if (ms !== lastAtMs) {
    lastAtIso = now.toISOString();
    lastAtMs = ms;
  }
  return lastAtIso;
}

/** A number as operators read it: 33.01 → "33.0", 0.002 → "0.002", 0 → "0". */
function fmt(x: number): string {
  if (x === 0) return '0';
  if (Math.abs(x) >= 1) {
    // Same text as x.toFixed(1) for summary purposes, several times cheaper (toFixed shows up in profiles).
    const r = Math.round(x * 10) / 10;
    return Number.isInteger(r) ? `${r}.0` : String(r);
  }
  return String(Number(x.toPrecision(2)));
}

function range(min: number, max: number | null): string {
  return `${min}..${max === null || max === Infinity ? '∞' : max}`;
}

function rulesText(rules: readonly RuleEvaluation[], reported: number, ideal: { min: number; max: number }): string {
  if (rules.length === 0) return 'no rules → 0..0';
  let out = '';
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (i > 0) out += ', ';
    out += r.noData
      ? `${r.metric} has no data (rule left out)`
      : r.average === null
        ? `${r.rule} needs ${range(r.min, r.max)}`
        : `${r.metric} ${fmt(r.average)}/instance over ${reported} instance${reported === 1 ? '' : 's'} needs ${range(r.min, r.max)}`;
  }
  if (rules.length > 1) out += ` → ideal ${range(ideal.min, ideal.max)}`;
  return out;
}

/** What a round plan does, in the words of the decision summaries (the ramp clause only when a ramp limit applied). */
export function actionsText(plan: RoundPlan): string {
  const parts: string[] = [];
  const cancels = plan.actions.reduce((n, a) => n + (a.kind === 'cancel' ? 1 : 0), 0);
  if (plan.recommissions > 0) parts.push(`recommissioning ${plan.recommissions}`);
  if (plan.launches > 0) parts.push(`launching ${plan.launches}`);
  if (plan.decommissions - cancels > 0) parts.push(`decommissioning ${plan.decommissions - cancels}`);
  if (cancels > 0) parts.push(`cancelling ${cancels} pending`);
  let out = parts.length > 0 ? parts.join(', ') : `holding at ${plan.current}`;
  if (plan.rampLimit !== null && (parts.length > 0 || plan.rampCut > 0)) {
    out += ` (ramp limit ${plan.rampLimit} cut ${plan.rampCut})`;
  }
  if (plan.deletions > 0) out += `; deleting ${plan.deletions} (cleanup)`;
  return out;
}

/**
 * Decides one round for one endpoint. Pure: the clock is `now`, the world is
 * the input, the answer is a value the control loop applies.
 *
 * RUNNING: the calculator (`calculateScaling`, the very code `evaluateScaling`
 * runs) picks the target from the rules, then `planRound` moves towards it
 * within ramp_limit. STOPPED: target 0 with no ramp limit (the rules are still
 * shown). PAUSED: the calculation is shown, no action is taken.
 * An invalid scaling config (should have been refused when stored) holds
 * the endpoint as it is, with the reason in `held`, rather than throwing.
 */
export function decide(input: DecisionInput, now: Date): ScalingDecisionRecord {
  const { scaling, state } = input;
  const notes: string[] = [];
  let current = 0;
  for (const instance of input.instances) if (countsAsCurrent(instance.status)) current++;

  // Metrics come from the outside world: skip what is not a finite number.
  const metrics: Record<string, number> = {};
  let reported: number | null = null;
  if (input.sample !== null) {
    const raw = input.sample.metrics ?? {};
    for (const name in raw) {
      const value = raw[name];
      if (typeof value === 'number' && Number.isFinite(value)) metrics[name] = value;
      else notes.push(`metric "${name}" value ${String(value)} is not a finite number; ignored (no data)`);
    }
    const n = input.sample.instances;
    if (Number.isInteger(n) && n >= 0) reported = n;
    else {
      notes.push(`sample instance count ${String(n)} is not a non-negative integer; using the current count ${current}`);
      reported = current;
    }
  }

  // A bad config should have been refused when it was stored; if one gets
  // here anyway the endpoint is held as it is (RUNNING) — STOPPED needs no
  // rules or bounds to stop, PAUSED changes nothing either way.
  let invalid: string | null = null;
  let rules: readonly Rule[] = [];
  const { minInstances, maxInstances, rampLimit } = scaling;
  if (!(Number.isInteger(minInstances) && Number.isInteger(maxInstances) && minInstances >= 0 && minInstances <= maxInstances)) {
    invalid = `invalid scaling config: min_instances ${minInstances}, max_instances ${maxInstances}`;
  } else if (!(Number.isInteger(rampLimit) && rampLimit >= 0)) {
    invalid = `invalid scaling config: ramp_limit ${rampLimit} is not a non-negative integer`;
  } else {
    try {
      rules = input.rules ?? parseRulesCached(scaling.rules);
    } catch (error) {
      if (!isReactorError(error)) throw error;
      invalid = `invalid scaling rules: ${error.message}`;
    }
  }
  if (invalid !== null) notes.push(invalid);

  let calc: ScalingCalculation;
  if (invalid !== null) {
    const hold = { min: current, max: current };
    calc = { rules: [], ideal: hold, conflict: false, clamped: hold, target: current, noData: [], held: false };
  } else if (reported === null) {
    // No data yet: hold the current count, but still honour [min, max].
    const clamped = holdWithin(current, minInstances, maxInstances);
    calc = { rules: [], ideal: { min: current, max: current }, conflict: false, clamped, target: clamped.min, noData: [], held: true };
    notes.push('no metric sample yet: rules not evaluated, holding the current count within min/max');
  } else {
    // Held requests at 0 instances: see calculateScaling (scale from zero).
    calc = calculateScaling({ rules, metrics, reported, current, minInstances, maxInstances });
    if (calc.activated) notes.push(`requests are held (held ${fmt(metrics.held)}) and no instance serves: at least 1 instance`);
    for (const metric of calc.noData) {
      const named = calc.rules.filter((r) => r.noData && r.metric === metric).map((r) => `"${r.rule}"`);
      notes.push(`no data for metric "${metric}" (no instance and no endpoint-wide set reported it): rule ${named.join(', ')} left out, not read as 0`);
    }
    if (calc.held) notes.push('no rule had data: holding the current count within min/max');
    if (calc.conflict) {
      notes.push(`rules conflict (combined range ${range(calc.ideal.min, toJsonMax(calc.ideal.max))} is empty): keeping ${current}`);
    }
  }

  const stopped = state === 'STOPPED';
  let held: string | null = null;
  if (state === 'PAUSED') held = 'endpoint is PAUSED: no changes';
  else if (!stopped && invalid !== null) held = `${invalid}: holding`;
  // Held decisions plan nothing at all, not even cleanup.
  const plan: RoundPlan =
    held !== null
      ? { current, target: current, after: current, rampLimit, rampCut: 0, launches: 0, recommissions: 0, decommissions: 0, deletions: 0, actions: [] }
      : planRound({
          target: stopped ? 0 : calc.target,
          instances: input.instances,
          rampLimit: stopped ? null : rampLimit,
          decommissionedTimeout: input.decommissionedTimeout,
          now,
        });
  const target = stopped ? 0 : calc.target;
  const after = plan.after;

  let summary: string;
  const reportedN = reported ?? 0;
  if (state === 'PAUSED') {
    summary =
      invalid !== null
        ? `paused, no changes (${invalid})`
        : `paused, no changes: ${reported === null ? 'no metric sample yet' : rulesText(calc.rules, reportedN, calc.ideal)} → would target ${calc.target} from ${current}`;
  } else if (stopped) {
    summary = `stopped → target 0; ${actionsText(plan)}`;
  } else if (held !== null) {
    summary = `${held} at ${current}`;
  } else {
    const head = reported === null ? `no metric sample yet → holding ${current}` : rulesText(calc.rules, reportedN, calc.ideal);
    const middle = calc.conflict
      ? ` → conflict, keeping ${current} → target ${calc.target}`
      : calc.held && reported !== null
        ? ` → no rule has data, holding ${current} within ${minInstances}..${maxInstances} → target ${calc.target}`
        : ` → clamped to ${range(calc.clamped.min, calc.clamped.max)} → target ${calc.target}`;
    summary = `${head}${middle}; ${actionsText(plan)}`;
  }

  return {
    endpoint: input.endpoint,
    at: isoTime(now),
    state,
    inputs: {
      metrics,
      reported,
      current,
      minInstances,
      maxInstances,
      rampLimit,
      decommissionedTimeout: input.decommissionedTimeout,
      rules: scaling.rules,
    },
    current,
    rules: calc.rules,
    ideal: { min: calc.ideal.min, max: toJsonMax(calc.ideal.max) },
    clamped: stopped ? { min: 0, max: 0 } : { min: calc.clamped.min, max: calc.clamped.max },
    conflict: calc.conflict,
    target,
    after,
    rampLimit: stopped ? null : rampLimit,
    rampCut: plan.rampCut,
    rampLimited: plan.rampCut > 0,
    actions: plan.actions,
    held,
    notes,
    summary,
  };
}
