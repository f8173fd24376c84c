// The scaling calculator: per-rule instance ranges, their ordered combination, the clamp and the target (pure).
import { badInput } from '../errors/codes.js';
import { parseRulesCached, type Rule } from './rules.js';
import type { RuleEvaluation } from '../model/decision.js';

/**
 * A range of instance counts `[min, max]`. `max` may be `Infinity` (unbounded);
 * `min > max` is an empty range (a conflict). The JSON/GraphQL forms use
 * `null` for an unbounded max (see `toJsonMax`).
 */
export interface CountRange {
  min: number;
  max: number;
}

/**
 * Counts are saturated here: GraphQL `Int` is 32-bit, and a rule such as
 * `0.001 <= bytes` over 1 GB/s asks for ~10^12 instances, a number that only
 * means "as many as you allow". Saturating keeps the what-if API answering.
 */
export const MAX_COUNT = 2_147_483_647;

/**
 * Decimal inputs are not exact in binary: 0.05 / 0.01 = 5.000000000000001,
 * and 0.3 / 0.1 = 2.9999999999999996. Within this distance of a whole number
 * a quotient *is* that number — both for "is T an exact multiple" and for ceil.
 */
export const INTEGER_TOLERANCE = 1e-9;

/** The whole number `x` is within rounding noise of, or null. */
function nearInteger(x: number): number | null {
  const r = Math.round(x);
  return Math.abs(x - r) <= INTEGER_TOLERANCE ? r : null;
}

function ceilTolerant(x: number): number {
  return nearInteger(x) ?? Math.ceil(x);
}

function floorTolerant(x: number): number {
  return nearInteger(x) ?? Math.floor(x);
}

function saturate(n: number): number {
  return n > MAX_COUNT ? MAX_COUNT : n;
}

/** `Infinity` → `null`, for JSON and GraphQL (`max: Int` where null is unbounded). */
export function toJsonMax(max: number): number | null {
  return max === Infinity ? null : max;
}

/**
 * The instance range one rule asks for, given the endpoint total `T = avg × N`
 * of its metric (ignored for `instances` rules, which bound the count itself).
 *
 * Worked example, the seed: `0 < rate < 1`, rate 33.01/instance over N = 1:
 *   T = 33.01. Upper bound 1 (`<`): fewest = ceil(33.01 / 1) = 34 (not an
 *   exact multiple, so no +1). Lower bound 0 (`<`) with T > 0: unbounded.
 *   Range 34..∞.
 * Exact multiples: `rate < 10` with T = 40 → 40/10 = 4 exactly; 4 instances
 *   would each see 10, which is not `< 10`, so fewest = 5. With `<=` it is 4.
 * Lower bounds: `10 <= active` with T = 45 → most = ceil(4.5) = 5 (the
 *   original's rounding: the count at which the average first drops under L,
 *   kept so existing rule sets behave as before). `10 < active` with T = 40 →
 *   40/10 = 4 exactly; 4 would each see 10, not `> 10`, so most = 3.
 * Idle: T = 0 → 0..0 for any bounded side, so an idle endpoint falls back to
 *   its minimum; `0 <= metric` and a missing lower bound stay unbounded.
 * Totals below 0 (a negative custom metric) count as 0: no instance count can
 *   lift a negative average over a non-negative bound.
 */
export function ruleRange(rule: Rule, total: number): CountRange {
  if (rule.metric === 'instances') return instancesRange(rule);
  const t = total > 0 ? total : 0;

  let min = 0;
  if (rule.upper !== null && t > 0) {
    const q = t / rule.upper;
    const exact = nearInteger(q);
    min = exact ?? Math.ceil(q);
    if (exact !== null && !rule.upperInclusive) min += 1;
  }

  let max = Infinity;
  if (rule.lower !== null) {
    if (rule.lower === 0) {
      // `0 <= m` always holds → unbounded. `0 < m` needs some load: with T > 0
      // any count keeps the average above 0 (unbounded); with T = 0 no count
      // does, and 0 lets the endpoint shrink to its minimum (the deliberate fix).
      max = rule.lowerInclusive || t > 0 ? Infinity : 0;
    } else if (t === 0) {
      max = 0;
    } else {
      const q = t / rule.lower;
      const exact = nearInteger(q);
      max = exact ?? Math.ceil(q);
      if (exact !== null && !rule.lowerInclusive) max = Math.max(0, max - 1);
    }
  }
  return { min: saturate(min), max: max === Infinity ? Infinity : saturate(max) };
}

/**
 * `instances` rules bound the count directly: `2 <= instances` → 2..∞,
 * `1.5 < instances` → floor(1.5) + 1 = 2, `instances <= 10` → ..10,
 * `instances < 10` → ceil(10) − 1 = 9, `instances < 9.5` → 9.
 */
function instancesRange(rule: Rule): CountRange {
  let min = 0;
  if (rule.lower !== null) min = rule.lowerInclusive ? ceilTolerant(rule.lower) : floorTolerant(rule.lower) + 1;
  let max = Infinity;
  if (rule.upper !== null) max = rule.upperInclusive ? floorTolerant(rule.upper) : Math.max(0, ceilTolerant(rule.upper) - 1);
  return { min: saturate(min), max: max === Infinity ? Infinity : saturate(max) };
}

/** Whether a range holds no count at all. */
export function isEmpty(range: CountRange): boolean {
  return range.min > range.max;
}

/**
 * Combines rule ranges in the order written; earlier rules win.
 *
 * Start from the first rule's range. For each next range: take the
 * intersection if it is non-empty; if the new range lies wholly below the
 * current one, collapse to [current.min, current.min] (go as low as the
 * earlier rules allow, the nearest point to what the later rule wants); if it
 * lies wholly above, collapse to [current.max, current.max]; otherwise keep the
 * current range.
 *
 * Example (`2 <= instances <= 10, response < 300, 10 <= active <= 30`,
 * N = 4, response 900 ms, active 50): instances 2..10; response T = 3600 →
 * fewest 13 → 13..∞ lies wholly above 2..10 → 10..10; active T = 200 →
 * 7..20 contains 10 → 10..10.
 *
 * Decisions where the design is silent: a new range that is itself empty
 * (a rule like `5 < rate < 6` whose fewest overtakes its most) neither lies
 * below nor above, so it is skipped (current kept); and once the current
 * range is empty (the *first* rule was empty) it stays so — later rules do
 * not get to override an earlier one, and the result is a conflict.
 * No ranges at all → [0, 0]: with no rules the endpoint is held at its minimum.
 */
export function combine(ranges: readonly CountRange[]): CountRange {
  if (ranges.length === 0) return { min: 0, max: 0 };
  let min = ranges[0].min;
  let max = ranges[0].max;
  for (let i = 1; i < ranges.length; i++) {
    if (min > max) break;
    const next = ranges[i];
    if (next.min > next.max) continue;
    const lo = next.min > min ? next.min : min;
    const hi = next.max < max ? next.max : max;
    if (lo <= hi) {
      min = lo;
      max = hi;
    } else if (next.max < min) {
      max = min;
    } else if (next.min > max) {
      min = max;
    }
  }
  return { min, max };
}

/**
 * Fits the ideal range into `[minInstances, maxInstances]`: the intersection
 * if there is one, else `[max, max]` when the ideal lies above (more load than
 * allowed) and `[min, min]` otherwise. Seed: 34..∞ with 1..5 → 5..5.
 */
export function clamp(ideal: CountRange, minInstances: number, maxInstances: number): CountRange {
  const lo = Math.max(ideal.min, minInstances);
  const hi = Math.min(ideal.max, maxInstances);
  if (lo <= hi) return { min: lo, max: hi };
  return ideal.min > maxInstances ? { min: maxInstances, max: maxInstances } : { min: minInstances, max: minInstances };
}

/**
 * The count to head for, from the clamped range and the ideal range's upper
 * end:
 *
 * - the current count when it is already inside the clamped range (no churn
 *   for a range like 3..8 at 5);
 * - otherwise, when the ideal range has no upper bound (only rules like
 *   `rate < 50`, which say "at least", never "at most"), the clamped lower
 *   bound: the fewest instances that satisfy every rule. A load that needs
 *   11 with max_instances 1000 gets 11..1000 → 11 (the original took the
 *   middle here too, and started 505); an endpoint at 0 instances with no
 *   traffic, `rate < 50`, min 1, max 5 gets 1..5 → 1 (not 3);
 * - when both ends are finite, the middle of the clamped range, rounded
 *   down, as in the original: 2..7 from 10 → 4; 34..∞ clamped to 5..5 → 5.
 */
export function target(current: number, range: CountRange, idealMax: number): number {
  if (current >= range.min && current <= range.max) return current;
  if (idealMax === Infinity) return range.min;
  return Math.floor((range.min + range.max) / 2);
}

/** The current count fitted into [min, max]: what "hold" means when there is nothing to decide with. */
export function holdWithin(current: number, minInstances: number, maxInstances: number): CountRange {
  const count = current < minInstances ? minInstances : current > maxInstances ? maxInstances : current;
  return { min: count, max: count };
}

export type { RuleEvaluation };

export interface ScalingInputs {
  rules: readonly Rule[];
  /** Metric name → per-instance average; a metric that is absent (or not a finite number) has no data. */
  metrics: Readonly<Record<string, number>>;
  /** N: instances that reported (T = average × N). */
  reported: number;
  /** The current instance count (what "stay put" means). */
  current: number;
  minInstances: number;
  maxInstances: number;
}

/** The calculator's full answer; `evaluateScaling` is its GraphQL-shaped projection. */
export interface ScalingCalculation {
  rules: RuleEvaluation[];
  /** The combined range of the rules (`min > max` when they conflict). */
  ideal: CountRange;
  conflict: boolean;
  /** The ideal range fitted into [minInstances, maxInstances]; [current, current] on a conflict. */
  clamped: CountRange;
  target: number;
  /** Metrics named by rules that had no value (each once, in rule order): those rules were left out. */
  noData: string[];
  /** True when there were rules and none had data: the current count is held within [min, max]. */
  held: boolean;
  /** True when requests were held (`held` > 0) and nothing else asked for an instance: the target was raised to 1. */
  activated?: boolean;
}

/**
 * The one calculation both the autoscaler (`decide`) and the what-if query
 * (`evaluateScaling`) run. Inputs are assumed valid (finite metrics, integer
 * counts, min <= max): the callers check them at their boundaries.
 *
 * A rule whose metric has no value (nobody reported it: a typo such as
 * `rat`, a custom metric not set yet, `response` while nothing was served)
 * is left out and listed in `noData`; it is never read as 0, which would
 * shrink the endpoint on a guess. When every rule lacks data the current
 * count is held within [min, max], as when there is no sample at all.
 *
 * On a conflict (the combined range is empty) the current count is kept —
 * the target range is [current, current] and not clamped, since neither side
 * of an empty range is a better guess — and the caller logs it.
 */
export function calculateScaling(inputs: ScalingInputs): ScalingCalculation {
  // Scale from zero: at N = 0 every total T = avg × N is 0, yet held requests wait for an instance. The sample
  // then carries endpoint totals, read as one instance's; and held requests always get at least 1 instance.
  const holding = (inputs.metrics.held ?? 0) > 0;
  const calc = rulesCalculation(holding && inputs.reported === 0 ? { ...inputs, reported: 1 } : inputs);
  if (!holding || calc.target >= 1 || inputs.maxInstances < 1 || calc.conflict) return calc;
  return { ...calc, clamped: { min: Math.max(1, calc.clamped.min), max: Math.max(1, calc.clamped.max) }, target: 1, activated: true };
}

function rulesCalculation(inputs: ScalingInputs): ScalingCalculation {
  const { rules, metrics, reported } = inputs;
  const evaluations: RuleEvaluation[] = new Array(rules.length);
  const ranges: CountRange[] = [];
  let noData: string[] | undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.metric === 'instances') {
      const range = ruleRange(rule, 0);
      ranges.push(range);
      evaluations[i] = { rule: rule.text, metric: rule.metric, average: null, total: null, min: range.min, max: toJsonMax(range.max) };
      continue;
    }
    const value = metrics[rule.metric];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      if (!(noData ??= []).includes(rule.metric)) noData.push(rule.metric);
      evaluations[i] = { rule: rule.text, metric: rule.metric, average: null, total: null, min: 0, max: null, noData: true };
      continue;
    }
    const total = value * reported;
    const range = ruleRange(rule, total);
    ranges.push(range);
    evaluations[i] = { rule: rule.text, metric: rule.metric, average: value, total, min: range.min, max: toJsonMax(range.max) };
  }
  if (rules.length > 0 && ranges.length === 0) {
    const hold = holdWithin(inputs.current, inputs.minInstances, inputs.maxInstances);
    const ideal = { min: inputs.current, max: inputs.current };
    return { rules: evaluations, ideal, conflict: false, clamped: hold, target: hold.min, noData: noData ?? [], held: true };
  }
  const ideal = combine(ranges);
  const conflict = ideal.min > ideal.max;
  const clamped = conflict
    ? { min: inputs.current, max: inputs.current }
    : clamp(ideal, inputs.minInstances, inputs.maxInstances);
  return { rules: evaluations, ideal, conflict, clamped, target: target(inputs.current, clamped, ideal.max), noData: noData ?? [], held: false };
}

/** `evaluateScaling` input, as in `ScalingEvaluationInput` of schema/reactor.graphql. */
export interface ScalingEvaluationInput {
  /** Each element may hold several comma-separated rules. */
  rules: string[];
  /** Metric name → per-instance average. */
  metrics: Record<string, number>;
  /** Instances that reported, which is also the current count. */
  instances: number;
  minInstances: number;
  maxInstances: number;
}

/** `ScalingEvaluation` of schema/reactor.graphql. */
export interface ScalingEvaluation {
  idealMin: number;
  /** Null means unbounded. */
  idealMax: number | null;
  targetMin: number;
  targetMax: number;
  target: number;
  conflict: boolean;
  rules: { rule: string; metric: string; min: number; max: number | null; noData: boolean }[];
  /** Metrics the rules name that `metrics` did not give: those rules were left out. */
  noData: string[];
}

function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badInput(`${field} must be a non-negative integer, got ${JSON.stringify(value) ?? String(value)}`, { field });
  }
  return value;
}

/** Parses every element of a rule list (each may hold several rules), naming the element on error. */
export function parseRuleList(list: readonly string[], field = 'rules'): Rule[] {
  const rules: Rule[] = [];
  list.forEach((text, index) => {
    if (typeof text !== 'string') {
      throw badInput(`${field}[${index}] must be a string, got ${JSON.stringify(text)}`, { field: `${field}[${index}]` });
    }
    try {
      rules.push(...parseRulesCached(text));
    } catch (error) {
      const e = error as { message: string; details?: Record<string, unknown> };
      throw badInput(`${field}[${index}]: ${e.message}`, { ...e.details, field: `${field}[${index}]` });
    }
  });
  return rules;
}

/**
 * "What would the autoscaler do with these numbers": validates the input at
 * the API boundary (BAD_USER_INPUT naming the field), then runs
 * `calculateScaling` with N as both the reporting and the current count.
 *
 * Seed: rules ["0 < rate < 1"], metrics {active: 3.6, rate: 33.01, …},
 * instances 1, min 1, max 5 → rule 34..∞, ideal 34..∞, clamped 5..5, target 5.
 * Unbounded above: rules ["rate < 50"], metrics {rate: 0}, instances 0,
 * min 1, max 5 → rule 0..∞, clamped 1..5, target 1 (the fewest that do).
 */
export function evaluateScaling(input: ScalingEvaluationInput): ScalingEvaluation {
  if (input === null || typeof input !== 'object') throw badInput('input must be an object', { field: 'input' });
  if (!Array.isArray(input.rules)) throw badInput('rules must be a list of strings', { field: 'rules' });
  const metrics = input.metrics as unknown;
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
    throw badInput(`metrics must be an object of metric name → number, got ${JSON.stringify(metrics) ?? String(metrics)}`, {
      field: 'metrics',
    });
  }
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw badInput(`metrics.${name} must be a finite number, got ${JSON.stringify(value) ?? String(value)}`, {
        field: `metrics.${name}`,
      });
    }
  }
  const instances = checkCount('instances', input.instances);
  const minInstances = checkCount('minInstances', input.minInstances);
  const maxInstances = checkCount('maxInstances', input.maxInstances);
  if (minInstances > maxInstances) {
    throw badInput(`minInstances (${minInstances}) must not be greater than maxInstances (${maxInstances})`, {
      field: 'minInstances',
    });
  }
  const rules = parseRuleList(input.rules);
  const result = calculateScaling({
    rules,
    metrics: metrics as Record<string, number>,
    reported: instances,
    current: instances,
    minInstances,
    maxInstances,
  });
  return {
    idealMin: result.ideal.min,
    idealMax: toJsonMax(result.ideal.max),
    targetMin: result.clamped.min,
    targetMax: result.clamped.max,
    target: result.target,
    conflict: result.conflict,
    rules: result.rules.map(({ rule, metric, min, max, noData }) => ({ rule, metric, min, max, noData: noData === true })),
    noData: result.noData,
  };
}
