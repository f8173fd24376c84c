// Tests for the calculator: per-rule ranges, combination, clamp, target and evaluateScaling, with worked numbers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  clamp,
  combine,
  evaluateScaling,
  formatRule,
  MAX_COUNT,
  parseRule,
  ruleRange,
  target,
  type CountRange,
  type ScalingEvaluationInput,
} from '../../src/scaling/index.js';
import { expectBadInput } from '../support/errors.js';

const INF = Infinity;
const r = (min: number, max: number): CountRange => ({ min, max });

describe('ruleRange: one rule, endpoint total T', () => {
  const cases: { name: string; rule: string; total: number; want: CountRange }[] = [
    // the seed: 33.01 req/s on one instance, keep each under 1 req/s
    { name: 'seed load: fewest = ceil(33.01/1) = 34, 0 < rate with T > 0 unbounded', rule: '0 < rate < 1', total: 33.01, want: r(34, INF) },
    { name: 'idle with 0 < rate < 1 gives 0..0 (the deliberate fix)', rule: '0 < rate < 1', total: 0, want: r(0, 0) },
    { name: '0 <= rate stays unbounded even when idle', rule: '0 <= rate < 1', total: 0, want: r(0, INF) },
    { name: 'no lower bound is unbounded', rule: 'rate < 1', total: 5, want: r(5 + 1, INF) },
    { name: 'no upper bound: fewest 0', rule: '10 <= active', total: 45, want: r(0, 5) },
    { name: 'upper < with T an exact multiple: 40/10 = 4 → 5', rule: 'rate < 10', total: 40, want: r(5, INF) },
    { name: 'upper <= with T an exact multiple: 40/10 = 4', rule: 'rate <= 10', total: 40, want: r(4, INF) },
    { name: 'upper < not a multiple: ceil(41/10) = 5', rule: 'rate < 10', total: 41, want: r(5, INF) },
    { name: 'decimal exact multiple < : 0.05/0.01 = 5.000000000000001 → exact 5 → 6', rule: 'rate < 0.01', total: 0.05, want: r(6, INF) },
    { name: 'decimal exact multiple <= : 0.05/0.01 → 5, not 6', rule: 'rate <= 0.01', total: 0.05, want: r(5, INF) },
    { name: 'decimal noise below: 0.3/0.1 = 2.9999999999999996 → 3 (<=)', rule: 'rate <= 0.1', total: 0.3, want: r(3, INF) },
    { name: 'decimal noise below: 0.3/0.1 → exact 3 → 4 (<)', rule: 'rate < 0.1', total: 0.3, want: r(4, INF) },
    { name: 'lower < with exact multiple: 40/10 = 4 → 3', rule: '10 < active', total: 40, want: r(0, 3) },
    { name: 'lower <= with exact multiple: 40/10 = 4', rule: '10 <= active', total: 40, want: r(0, 4) },
    { name: 'decimal lower < : 0.05/0.01 → exact 5 → 4', rule: '0.01 < rate', total: 0.05, want: r(0, 4) },
    { name: 'decimal lower <= : 0.05/0.01 → 5', rule: '0.01 <= rate', total: 0.05, want: r(0, 5) },
    { name: 'lower < never below 0', rule: '10 < active', total: 1e-12, want: r(0, 0) },
    { name: 'L > 0 and T = 0 → 0', rule: '10 <= active <= 30', total: 0, want: r(0, 0) },
    { name: 'DESIGN example 20<=rate<=50, T = 120 → 3..6', rule: '20<=rate<=50', total: 120, want: r(3, 6) },
    { name: 'DESIGN example 100<=response<800, T = 600 → 1..6', rule: '100<=response<800', total: 600, want: r(1, 6) },
    { name: 'a rule that is empty on its own: 5 < rate < 6 at T = 30 → 6..5', rule: '5 < rate < 6', total: 30, want: r(6, 5) },
    { name: 'negative totals count as 0', rule: '0 < temp < 10', total: -50, want: r(0, 0) },
    { name: 'huge demand saturates at the 32-bit limit', rule: '0.01 <= bytes <= 0.01', total: 1e15, want: r(MAX_COUNT, MAX_COUNT) },
    // instances rules ignore T
    { name: '2 <= instances → ceil(2)', rule: '2 <= instances', total: 999, want: r(2, INF) },
    { name: '1.5 <= instances → ceil(1.5) = 2', rule: '1.5 <= instances', total: 0, want: r(2, INF) },
    { name: '2 < instances → floor(2) + 1 = 3', rule: '2 < instances', total: 0, want: r(3, INF) },
    { name: '1.5 < instances → floor(1.5) + 1 = 2', rule: '1.5 < instances', total: 0, want: r(2, INF) },
    { name: 'instances <= 10 → floor(10)', rule: 'instances <= 10', total: 0, want: r(0, 10) },
    { name: 'instances <= 9.5 → floor(9.5) = 9', rule: 'instances <= 9.5', total: 0, want: r(0, 9) },
    { name: 'instances < 10 → ceil(10) − 1 = 9', rule: 'instances < 10', total: 0, want: r(0, 9) },
    { name: 'instances < 9.5 → ceil(9.5) − 1 = 9', rule: 'instances < 9.5', total: 0, want: r(0, 9) },
    { name: '0.5 < instances < 1 is empty: 1..0', rule: '0.5 < instances < 1', total: 0, want: r(1, 0) },
  ];
  for (const c of cases) {
    it(`should give ${c.name}`, () => {
      assert.deepEqual(ruleRange(parseRule(c.rule), c.total), c.want);
    });
  }
});

describe('combine: in the order written, earlier rules win', () => {
  const cases: { name: string; ranges: CountRange[]; want: CountRange }[] = [
    { name: 'no rules → [0, 0]', ranges: [], want: r(0, 0) },
    { name: 'one rule is its own range', ranges: [r(34, INF)], want: r(34, INF) },
    { name: 'non-empty intersection', ranges: [r(2, 10), r(5, INF), r(0, 7)], want: r(5, 7) },
    { name: 'next lies wholly below → [current min, current min]', ranges: [r(3, 8), r(0, 2)], want: r(3, 3) },
    { name: 'next lies wholly above → [current max, current max]', ranges: [r(3, 8), r(9, 12)], want: r(8, 8) },
    { name: 'wholly above an unbounded range cannot happen; below still collapses', ranges: [r(2, INF), r(1, 1)], want: r(2, 2) },
    { name: 'an empty next range is skipped', ranges: [r(3, 8), r(6, 5)], want: r(3, 8) },
    { name: 'an empty first range stays (conflict)', ranges: [r(6, 5), r(0, INF)], want: r(6, 5) },
    { name: 'after collapsing, later rules still intersect', ranges: [r(2, 10), r(13, INF), r(7, 20)], want: r(10, 10) },
    { name: 'after collapsing, a later disagreeing rule keeps the point', ranges: [r(2, 10), r(13, INF), r(0, 1)], want: r(10, 10) },
  ];
  for (const c of cases) {
    it(`should handle ${c.name}`, () => {
      assert.deepEqual(combine(c.ranges), c.want);
    });
  }
});

describe('clamp with [min_instances, max_instances]', () => {
  const cases: { name: string; ideal: CountRange; min: number; max: number; want: CountRange }[] = [
    { name: 'seed: 34..∞ into 1..5 → 5..5', ideal: r(34, INF), min: 1, max: 5, want: r(5, 5) },
    { name: 'no rules: 0..0 into 1..5 → 1..1', ideal: r(0, 0), min: 1, max: 5, want: r(1, 1) },
    { name: 'inside: 2..3 into 1..5', ideal: r(2, 3), min: 1, max: 5, want: r(2, 3) },
    { name: 'overlapping: 3..∞ into 1..5 → 3..5', ideal: r(3, INF), min: 1, max: 5, want: r(3, 5) },
    { name: 'wholly above: 7..9 into 1..5 → 5..5', ideal: r(7, 9), min: 1, max: 5, want: r(5, 5) },
    { name: 'wholly below: 0..2 into 3..5 → 3..3', ideal: r(0, 2), min: 3, max: 5, want: r(3, 3) },
    { name: 'min = max', ideal: r(0, INF), min: 4, max: 4, want: r(4, 4) },
  ];
  for (const c of cases) {
    it(`should clamp ${c.name}`, () => {
      assert.deepEqual(clamp(c.ideal, c.min, c.max), c.want);
    });
  }
});

describe('target', () => {
  // idealMax: the upper end of the ideal range before the clamp (Infinity = no rule bounds the count from above).
  const cases: { name: string; current: number; range: CountRange; idealMax: number; want: number }[] = [
    { name: 'current inside the range stays', current: 4, range: r(3, 5), idealMax: 5, want: 4 },
    { name: 'below, both bounds finite: middle of 3..6 rounded down → 4', current: 1, range: r(3, 6), idealMax: 6, want: 4 },
    { name: 'above, both bounds finite: middle of 2..7 → 4', current: 10, range: r(2, 7), idealMax: 7, want: 4 },
    { name: 'single point', current: 1, range: r(5, 5), idealMax: 5, want: 5 },
    { name: 'at an edge stays', current: 6, range: r(3, 6), idealMax: 6, want: 6 },
    { name: 'unbounded above, below the range: the lower bound 11 of 11..1000, not 505', current: 1, range: r(11, 1000), idealMax: Infinity, want: 11 },
    { name: 'unbounded above, above the range: the lower bound 2 of 2..5', current: 9, range: r(2, 5), idealMax: Infinity, want: 2 },
    { name: 'unbounded above, from 0: min 1 of 1..5, not 3', current: 0, range: r(1, 5), idealMax: Infinity, want: 1 },
    { name: 'unbounded above, inside the range stays', current: 4, range: r(1, 5), idealMax: Infinity, want: 4 },
    { name: 'unbounded above but clamped to max: 5..5 → 5', current: 1, range: r(5, 5), idealMax: Infinity, want: 5 },
    { name: 'ideal finite but clamp gives room: the middle of 3..9', current: 12, range: r(3, 9), idealMax: 9, want: 6 },
  ];
  for (const c of cases) {
    it(`should pick ${c.name}`, () => {
      assert.equal(target(c.current, c.range, c.idealMax), c.want);
    });
  }
});

const seedMetrics = { active: 3.6, rate: 33.01, bytes: 396, response: 0.002 };

describe('evaluateScaling: the what-if contract', () => {
  const cases: {
    name: string;
    input: ScalingEvaluationInput;
    want: { idealMin: number; idealMax: number | null; targetMin: number; targetMax: number; target: number; conflict: boolean; rules?: [number, number | null][]; noData?: string[] };
  }[] = [
    {
      name: 'seed load, 1 instance, 0 < rate < 1 → needs 34 → clamped to max 5',
      input: { rules: ['0 < rate < 1'], metrics: seedMetrics, instances: 1, minInstances: 1, maxInstances: 5 },
      want: { idealMin: 34, idealMax: null, targetMin: 5, targetMax: 5, target: 5, conflict: false, rules: [[34, null]] },
    },
    {
      name: 'idle endpoint with 0 < rate < 1 shrinks to min',
      input: { rules: ['0 < rate < 1'], metrics: { active: 0, rate: 0 }, instances: 5, minInstances: 1, maxInstances: 5 },
      want: { idealMin: 0, idealMax: 0, targetMin: 1, targetMax: 1, target: 1, conflict: false, rules: [[0, 0]] },
    },
    {
      // rat is nobody's metric: no data, so the rule is left out; with no rule left the count is held (3 within 2..5)
      name: 'a missing metric is no data, not 0: the only rule is left out and the count held',
      input: { rules: ['0 < rat < 1'], metrics: { rate: 0 }, instances: 3, minInstances: 2, maxInstances: 5 },
      want: { idealMin: 3, idealMax: 3, targetMin: 3, targetMax: 3, target: 3, conflict: false, rules: [[0, null]], noData: ['rat'] },
    },
    {
      // held within min/max: 7 instances with max 5 → 5
      name: 'no rule with data holds the count fitted into min/max',
      input: { rules: ['queue < 10'], metrics: {}, instances: 7, minInstances: 1, maxInstances: 5 },
      want: { idealMin: 7, idealMax: 7, targetMin: 5, targetMax: 5, target: 5, conflict: false, noData: ['queue'] },
    },
    {
      // rate 60 × 2 = 120 → 3..∞; queue has no data and is left out: the rate rule alone decides (unbounded → lower bound 3)
      name: 'a rule without data is left out; the others decide',
      input: { rules: ['queue < 10, rate < 50'], metrics: { rate: 60 }, instances: 2, minInstances: 1, maxInstances: 10 },
      want: { idealMin: 3, idealMax: null, targetMin: 3, targetMax: 10, target: 3, conflict: false, rules: [[0, null], [3, null]], noData: ['queue'] },
    },
    {
      // the first example: T = 540 → ceil(540 / 50) = 11; max 1000 → 11..1000 → 11 (the midpoint gave 505)
      name: 'unbounded above: a load that needs 11 with max_instances 1000 gets 11, not 505',
      input: { rules: ['rate < 50'], metrics: { rate: 540 }, instances: 1, minInstances: 1, maxInstances: 1000 },
      want: { idealMin: 11, idealMax: null, targetMin: 11, targetMax: 1000, target: 11, conflict: false, rules: [[11, null]] },
    },
    {
      // the second example: 0 instances, no traffic, rate < 50 → 0..∞ → clamped 1..5 → 1 (the midpoint gave 3)
      name: 'unbounded above: 0 instances, no traffic, rate < 50, min 1, max 5 starts 1, not 3',
      input: { rules: ['rate < 50'], metrics: { rate: 0 }, instances: 0, minInstances: 1, maxInstances: 5 },
      want: { idealMin: 0, idealMax: null, targetMin: 1, targetMax: 5, target: 1, conflict: false, rules: [[0, null]] },
    },
    {
      // shrinking with only an upper bound: rate 10 × 8 = 80 → 2..∞, clamped 2..10; current 8 is inside → stays
      name: 'unbounded above, current inside the clamped range: no churn',
      input: { rules: ['rate < 50'], metrics: { rate: 10 }, instances: 8, minInstances: 1, maxInstances: 10 },
      want: { idealMin: 2, idealMax: null, targetMin: 2, targetMax: 10, target: 8, conflict: false },
    },
    {
      name: 'no rules → [0, 0] → held at min',
      input: { rules: [], metrics: seedMetrics, instances: 4, minInstances: 2, maxInstances: 5 },
      want: { idealMin: 0, idealMax: 0, targetMin: 2, targetMax: 2, target: 2, conflict: false, rules: [] },
    },
    {
      name: 'empty rule strings are no rules',
      input: { rules: ['', '  '], metrics: seedMetrics, instances: 4, minInstances: 2, maxInstances: 5 },
      want: { idealMin: 0, idealMax: 0, targetMin: 2, targetMax: 2, target: 2, conflict: false, rules: [] },
    },
    {
      // N = 2, rate 60 → T = 120 → 3..6; response 300 → T = 600 → 1..6; combined 3..6, clamp 1..5 → 3..5; 2 → floor(8/2) = 4
      name: 'DESIGN config example 20<=rate<=50,100<=response<800 in one element',
      input: { rules: ['20<=rate<=50,100<=response<800'], metrics: { rate: 60, response: 300 }, instances: 2, minInstances: 1, maxInstances: 5 },
      want: { idealMin: 3, idealMax: 6, targetMin: 3, targetMax: 5, target: 4, conflict: false, rules: [[3, 6], [1, 6]] },
    },
    {
      // active 5 × 4 = 20: fewest ceil(20/30) = 1, most 20/10 = 2 → 1..2, intersect 2..∞ → 2..2
      name: 'precedence "2 <= instances, 10 <= active <= 30", light load: intersection 2..2',
      input: { rules: ['2 <= instances, 10 <= active <= 30'], metrics: { active: 5 }, instances: 4, minInstances: 1, maxInstances: 10 },
      want: { idealMin: 2, idealMax: 2, targetMin: 2, targetMax: 2, target: 2, conflict: false, rules: [[2, null], [1, 2]] },
    },
    {
      // active 1 × 2 = 2: 1..1 lies wholly below 2..∞ → [2, 2]: the instances floor wins
      name: 'precedence "2 <= instances, 10 <= active <= 30", idle-ish: active wants 1, instances keeps 2',
      input: { rules: ['2 <= instances', '10 <= active <= 30'], metrics: { active: 1 }, instances: 2, minInstances: 1, maxInstances: 10 },
      want: { idealMin: 2, idealMax: 2, targetMin: 2, targetMax: 2, target: 2, conflict: false, rules: [[2, null], [1, 1]] },
    },
    {
      // active 50 × 4 = 200: fewest ceil(200/30) = 7, most 200/10 = 20 → 7..20; ∩ 2..∞; clamp 1..10 → 7..10; 4 → 8
      name: 'precedence "2 <= instances, 10 <= active <= 30", busy: 7..20 → clamped 7..10 → 8',
      input: { rules: ['2 <= instances, 10 <= active <= 30'], metrics: { active: 50 }, instances: 4, minInstances: 1, maxInstances: 10 },
      want: { idealMin: 7, idealMax: 20, targetMin: 7, targetMax: 10, target: 8, conflict: false, rules: [[2, null], [7, 20]] },
    },
    {
      // active 20 × 3 = 60 → 2..6; response 250 × 3 = 750 → ceil(2.5) = 3..∞; → 3..6; current 3 stays
      name: 'precedence "10 <= active <= 30, response < 300", agreeing: 3..6, current 3 stays',
      input: { rules: ['10 <= active <= 30, response < 300'], metrics: { active: 20, response: 250 }, instances: 3, minInstances: 1, maxInstances: 10 },
      want: { idealMin: 3, idealMax: 6, targetMin: 3, targetMax: 6, target: 3, conflict: false, rules: [[2, 6], [3, null]] },
    },
    {
      // response 900 × 3 = 2700 → 2700/300 = 9 exactly, < → 10..∞, wholly above 2..6 → [6, 6]: active wins
      name: 'precedence "10 <= active <= 30, response < 300", slow responses: active caps at 6',
      input: { rules: ['10 <= active <= 30, response < 300'], metrics: { active: 20, response: 900 }, instances: 3, minInstances: 1, maxInstances: 10 },
      want: { idealMin: 6, idealMax: 6, targetMin: 6, targetMax: 6, target: 6, conflict: false, rules: [[2, 6], [10, null]] },
    },
    {
      // instances 2..10; response 900 × 4 = 3600 → 12 exactly, < → 13..∞ above → [10, 10]; active 50 × 4 = 200 → 7..20 ∋ 10
      name: 'precedence "2 <= instances <= 10, response < 300, 10 <= active <= 30": 10..10',
      input: { rules: ['2 <= instances <= 10, response < 300, 10 <= active <= 30'], metrics: { active: 50, response: 900 }, instances: 4, minInstances: 1, maxInstances: 20 },
      want: { idealMin: 10, idealMax: 10, targetMin: 10, targetMax: 10, target: 10, conflict: false, rules: [[2, 10], [13, null], [7, 20]] },
    },
    {
      // response 100 × 4 = 400 → ceil(1.33) = 2..∞ → 2..10; active 5 × 4 = 20 → 1..2 → 2..2
      name: 'precedence "2 <= instances <= 10, response < 300, 10 <= active <= 30", light: 2..2',
      input: { rules: ['2 <= instances <= 10, response < 300, 10 <= active <= 30'], metrics: { active: 5, response: 100 }, instances: 4, minInstances: 1, maxInstances: 20 },
      want: { idealMin: 2, idealMax: 2, targetMin: 2, targetMax: 2, target: 2, conflict: false, rules: [[2, 10], [2, null], [1, 2]] },
    },
    {
      // T = 0.05 × 1; 0.05 / 0.01 = 5.000000000000001 → exact → 6
      name: 'exclusive bound hitting an exact decimal multiple: T = 0.05, U = 0.01 → 6 (unbounded above: the lower bound)',
      input: { rules: ['rate < 0.01'], metrics: { rate: 0.05 }, instances: 1, minInstances: 0, maxInstances: 10 },
      want: { idealMin: 6, idealMax: null, targetMin: 6, targetMax: 10, target: 6, conflict: false },
    },
    {
      // 5 instances × 2 = 10 = 5 × 2 exactly: < 2 needs 6 (each would see exactly 2 with 5)
      name: 'exclusive bound hitting an exact integer multiple: T = 10, U = 2 → 6, current 5 must grow',
      input: { rules: ['rate < 2'], metrics: { rate: 2 }, instances: 5, minInstances: 1, maxInstances: 6 },
      want: { idealMin: 6, idealMax: null, targetMin: 6, targetMax: 6, target: 6, conflict: false },
    },
    {
      // 5 < rate < 6 at T = 6 × 5 = 30: fewest 30/6 = 5 exactly → 6; most 30/5 = 6 exactly → 5: empty
      name: 'conflict: a rule whose range is empty keeps the current count',
      input: { rules: ['5 < rate < 6'], metrics: { rate: 6 }, instances: 5, minInstances: 1, maxInstances: 3 },
      want: { idealMin: 6, idealMax: 5, targetMin: 5, targetMax: 5, target: 5, conflict: true, rules: [[6, 5]] },
    },
    {
      name: 'conflict: an empty first instances rule is not rescued by later rules',
      input: { rules: ['0.5 < instances < 1', 'rate < 10'], metrics: { rate: 1 }, instances: 2, minInstances: 1, maxInstances: 3 },
      want: { idealMin: 1, idealMax: 0, targetMin: 2, targetMax: 2, target: 2, conflict: true },
    },
    {
      name: 'min = max = 0 holds at 0 whatever the load',
      input: { rules: ['0 < rate < 1'], metrics: seedMetrics, instances: 0, minInstances: 0, maxInstances: 0 },
      want: { idealMin: 0, idealMax: 0, targetMin: 0, targetMax: 0, target: 0, conflict: false },
    },
  ];
  for (const c of cases) {
    it(`should evaluate ${c.name}`, () => {
      const got = evaluateScaling(c.input);
      const { rules, noData = [], ...want } = c.want;
      assert.deepEqual({ ...got, rules: undefined }, { ...want, rules: undefined, noData });
      if (rules) assert.deepEqual(got.rules.map((x) => [x.min, x.max]), rules);
      assert.deepEqual(got.rules.filter((x) => x.noData).map((x) => x.metric), noData);
    });
  }

  it('should name each rule and its metric in the result, as written', () => {
    const got = evaluateScaling({ rules: ['2 <= instances', '20<=rate<=50 , response < 300'], metrics: {}, instances: 0, minInstances: 0, maxInstances: 1 });
    assert.deepEqual(got.rules.map((x) => [x.rule, x.metric]), [['2 <= instances', 'instances'], ['20<=rate<=50', 'rate'], ['response < 300', 'response']]);
    // plain JSON: no Infinity anywhere
    assert.deepEqual(JSON.parse(JSON.stringify(got)), got);
  });
});

describe('evaluateScaling: input validation', () => {
  const base: ScalingEvaluationInput = { rules: ['0 < rate < 1'], metrics: { rate: 1 }, instances: 1, minInstances: 1, maxInstances: 5 };
  const cases: { name: string; input: unknown; says: RegExp }[] = [
    { name: 'negative instances', input: { ...base, instances: -1 }, says: /^instances must be a non-negative integer, got -1$/ },
    { name: 'fractional instances', input: { ...base, instances: 1.5 }, says: /^instances must be a non-negative integer, got 1.5$/ },
    { name: 'fractional minInstances', input: { ...base, minInstances: 0.5 }, says: /^minInstances must be a non-negative integer/ },
    { name: 'negative maxInstances', input: { ...base, maxInstances: -3 }, says: /^maxInstances must be a non-negative integer/ },
    { name: 'min > max', input: { ...base, minInstances: 6, maxInstances: 5 }, says: /minInstances \(6\) must not be greater than maxInstances \(5\)/ },
    { name: 'NaN metric', input: { ...base, metrics: { rate: NaN } }, says: /^metrics\.rate must be a finite number/ },
    { name: 'infinite metric', input: { ...base, metrics: { rate: Infinity } }, says: /^metrics\.rate must be a finite number/ },
    { name: 'string metric', input: { ...base, metrics: { rate: '33' } }, says: /^metrics\.rate must be a finite number, got "33"/ },
    { name: 'metrics not an object', input: { ...base, metrics: [1, 2] }, says: /^metrics must be an object/ },
    { name: 'a bad rule names the element and the rule', input: { ...base, rules: ['0 < rate < 1', 'rate == 4'] }, says: /^rules\[1\]: rule "rate == 4": expected \[L op\] metric \[op U\] with op < or <=/ },
    { name: 'a bad rule inside a comma list', input: { ...base, rules: ['0 < rate < 1, 5 < rate < 2'] }, says: /^rules\[0\]: rule "5 < rate < 2": lower bound 5 is greater than upper bound 2/ },
    { name: 'rules not a list', input: { ...base, rules: '0 < rate < 1' }, says: /^rules must be a list of strings/ },
  ];
  for (const c of cases) {
    it(`should refuse ${c.name} with BAD_USER_INPUT`, () => {
      const error = expectBadInput(() => evaluateScaling(c.input as ScalingEvaluationInput));
      assert.match(error.message, c.says);
    });
  }
});

// Arbitrary valid rules, built as text the way operators write them.
const decimal = fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100);
const arbRuleText = fc
  .record({
    metric: fc.constantFrom('rate', 'active', 'response', 'instances', 'queue'),
    lower: fc.option(decimal),
    lowerInclusive: fc.boolean(),
    upper: fc.option(decimal.filter((n) => n > 0)),
    upperInclusive: fc.boolean(),
  })
  .filter((x) => x.lower !== null || x.upper !== null)
  .filter((x) => x.lower === null || x.upper === null || x.lower < x.upper || (x.lower === x.upper && x.lowerInclusive && x.upperInclusive))
  .map((x) => formatRule(x));
const arbMetrics = fc.record({ rate: decimal, active: decimal, response: decimal, queue: decimal }, { requiredKeys: [] });

describe('calculator properties', () => {
  it('should keep the target within [min_instances, max_instances] unless the rules conflict', () => {
    fc.assert(
      fc.property(
        fc.array(arbRuleText, { maxLength: 5 }),
        arbMetrics,
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        (rules, metrics, instances, a, b) => {
          const [minInstances, maxInstances] = a <= b ? [a, b] : [b, a];
          const got = evaluateScaling({ rules, metrics, instances, minInstances, maxInstances });
          if (got.conflict) {
            assert.equal(got.target, instances);
          } else {
            assert.ok(got.target >= minInstances && got.target <= maxInstances, JSON.stringify(got));
            assert.ok(got.targetMin <= got.target && got.target <= got.targetMax);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('should never lower the fewest-instances bound of an upper-bound rule when the load grows', () => {
    fc.assert(
      fc.property(
        arbRuleText.map(parseRule).filter((rule) => rule.upper !== null && rule.metric !== 'instances'),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (rule, t1, t2) => {
          const [lo, hi] = t1 <= t2 ? [t1, t2] : [t2, t1];
          assert.ok(ruleRange(rule, lo).min <= ruleRange(rule, hi).min, `${rule.text}: T ${lo} vs ${hi}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('should never lower the fewest bound on exact decimal multiples either (k × U, then a bit more)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 1000 }), fc.boolean(), (u100, k, inclusive) => {
        const u = u100 / 100;
        const rule = parseRule(`rate ${inclusive ? '<=' : '<'} ${u}`);
        const exact = ruleRange(rule, k * u).min;
        assert.equal(exact, inclusive ? k : k + 1, `k=${k}, U=${u}, T=${k * u}`);
        assert.ok(ruleRange(rule, k * u + u / 2).min >= exact);
      }),
      { numRuns: 1000 },
    );
  });

  it('should give the same answer for one element holding all rules as for one element per rule', () => {
    fc.assert(
      fc.property(fc.array(arbRuleText, { minLength: 1, maxLength: 4 }), arbMetrics, fc.integer({ min: 0, max: 30 }), (rules, metrics, instances) => {
        const a = evaluateScaling({ rules, metrics, instances, minInstances: 0, maxInstances: 30 });
        const b = evaluateScaling({ rules: [rules.join(',')], metrics, instances, minInstances: 0, maxInstances: 30 });
        assert.deepEqual(a, b);
      }),
    );
  });
});

describe('calculator: scale from zero (held requests)', () => {
  const cases: { name: string; rules: string[]; metrics: Record<string, number>; instances: number; min: number; max: number; target: number }[] = [
    { name: 'a held request at 0 instances asks for 1, though the rate rule reads 0', rules: ['0 < rate < 10'], metrics: { rate: 0, held: 1 }, instances: 0, min: 0, max: 5, target: 1 },
    { name: 'no rules: held requests still get 1', rules: [], metrics: { held: 2 }, instances: 0, min: 0, max: 5, target: 1 },
    { name: 'a rule on held at 0 instances reads the endpoint total', rules: ['held < 4'], metrics: { held: 10 }, instances: 0, min: 0, max: 5, target: 3 },
    { name: 'max_instances 0: nothing to launch', rules: ['0 < rate < 10'], metrics: { held: 3 }, instances: 0, min: 0, max: 0, target: 0 },
    { name: 'nothing held: idle goes to 0', rules: ['0 < rate < 10'], metrics: { rate: 0, held: 0 }, instances: 1, min: 0, max: 5, target: 0 },
  ];
  for (const c of cases) {
    it(`should target ${c.target}: ${c.name}`, () => {
      const result = evaluateScaling({ rules: c.rules, metrics: c.metrics, instances: c.instances, minInstances: c.min, maxInstances: c.max });
      assert.equal(result.target, c.target);
    });
  }
});
