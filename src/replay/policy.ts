// Checks a replay's arguments at the boundary: the candidate policy, the band rules, the launch time and the metric names, each error naming its field.
import { badInput } from '../errors/codes.js';
import { parseRuleList } from '../scaling/calculator.js';
import type { Rule } from '../scaling/rules.js';
import type { CandidatePolicy } from './types.js';

/** `ScalingPolicyInput` of schema/replay.graphql. */
export interface PolicyInput {
  /** Each element may hold several comma-separated rules. */
  rules: readonly string[];
  minInstances: number;
  maxInstances: number;
  /** Omitted or null: the endpoint's own ramp_limit. */
  rampLimit?: number | null;
}

/** A launch that takes longer than a day is not a launch time but a typo. */
export const MAX_LAUNCH_SECONDS = 86_400;

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function count(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badInput(`${field} must be a non-negative integer, got ${describe(value)}`, { field });
  }
  return value;
}

/**
 * The candidate policy, checked: rules that parse (the message quotes the
 * rule and names `policy.rules[i]`), whole non-negative bounds with
 * min <= max, and a ramp limit (the endpoint's when none is given).
 */
export function checkPolicy(input: PolicyInput, defaultRampLimit: number): { policy: CandidatePolicy; rules: Rule[] } {
  if (input === null || typeof input !== 'object') throw badInput('policy must be an object', { field: 'policy' });
  if (!Array.isArray(input.rules)) throw badInput('policy.rules must be a list of strings', { field: 'policy.rules' });
  const rules = parseRuleList(input.rules, 'policy.rules');
  const minInstances = count('policy.minInstances', input.minInstances);
  const maxInstances = count('policy.maxInstances', input.maxInstances);
  if (minInstances > maxInstances) {
    throw badInput(`policy.minInstances (${minInstances}) must not be greater than policy.maxInstances (${maxInstances})`, {
      field: 'policy.minInstances',
    });
  }
  const rampLimit = input.rampLimit === null || input.rampLimit === undefined ? defaultRampLimit : count('policy.rampLimit', input.rampLimit);
  return { policy: { rules: rules.map((r) => r.text).join(', '), minInstances, maxInstances, rampLimit }, rules };
}

/** The rules whose bands are timed; null/undefined = the policy's own. An empty list times no band. */
export function checkBands(bands: readonly string[] | null | undefined): Rule[] | undefined {
  if (bands === null || bands === undefined) return undefined;
  if (!Array.isArray(bands)) throw badInput('bands must be a list of rules', { field: 'bands' });
  return parseRuleList(bands, 'bands');
}

/** A launch time given by the caller: seconds, finite, 0 up to a day. */
export function checkLaunchSeconds(value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_LAUNCH_SECONDS) {
    throw badInput(`launchSeconds must be a number of seconds from 0 to ${MAX_LAUNCH_SECONDS}, got ${describe(value)}`, {
      field: 'launchSeconds',
    });
  }
  return value;
}

const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Metric names to take as recorded, besides `response`. */
export function checkMetricNames(field: string, names: readonly string[] | null | undefined): string[] {
  if (names === null || names === undefined) return [];
  if (!Array.isArray(names)) throw badInput(`${field} must be a list of metric names`, { field });
  names.forEach((name, index) => {
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
      throw badInput(`${field}[${index}] must be a metric name (letters, digits, _), got ${describe(name)}`, { field: `${field}[${index}]` });
    }
    if (name === 'instances') {
      throw badInput(`${field}[${index}]: "instances" is the count itself, not a metric that divides`, { field: `${field}[${index}]` });
    }
  });
  return [...names];
}
