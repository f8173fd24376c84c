// Where a per-instance value stands against one rule's band: below its lower bound, inside, or above its upper bound.
import { INTEGER_TOLERANCE } from '../scaling/calculator.js';
import type { Rule } from '../scaling/rules.js';

export const BELOW = -1;
export const INSIDE = 0;
export const ABOVE = 1;
export type BandPosition = typeof BELOW | typeof INSIDE | typeof ABOVE;

/**
 * Values within rounding noise of a bound count as the bound itself: a
 * re-divided 3 × 10 / 3 may come out as 10.000000000000002, which must not
 * read as "over 10" for `rate <= 10`.
 */
function near(value: number, bound: number): boolean {
  return Math.abs(value - bound) <= INTEGER_TOLERANCE * Math.max(1, Math.abs(bound));
}

/**
 * The band of a rule is the per-instance values it accepts: `20 <= rate < 50`
 * accepts 20 up to (not including) 50. For a rule on `instances` the value is
 * the count itself. Examples: rate 50 against `rate < 50` is ABOVE, against
 * `rate <= 50` INSIDE; rate 0 against `0 < rate < 1` is BELOW (idle
 * capacity), against `rate < 1` INSIDE.
 */
export function bandPosition(rule: Rule, value: number): BandPosition {
  if (rule.lower !== null) {
    const atBound = near(value, rule.lower);
    if (atBound ? !rule.lowerInclusive : value < rule.lower) return BELOW;
  }
  if (rule.upper !== null) {
    const atBound = near(value, rule.upper);
    if (atBound ? !rule.upperInclusive : value > rule.upper) return ABOVE;
  }
  return INSIDE;
}
