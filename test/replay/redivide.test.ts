// Table tests of re-division (a sample's per-instance metrics over another instance count) and of where a value stands against a rule's band.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ABOVE, BELOW, INSIDE, bandPosition } from '../../src/replay/bands.js';
import { offeredRate, redivide } from '../../src/replay/redivide.js';
import { parseRule } from '../../src/scaling/rules.js';

/** Rounded to 6 decimals, so the table reads in plain numbers. */
const round = (metrics: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Math.round(v * 1e6) / 1e6]));

describe('redivide', () => {
  const cases: {
    name: string;
    metrics: Record<string, number>;
    recorded: number;
    replayed: number;
    undivided?: string[];
    expect: Record<string, number>;
  }[] = [
    {
      name: 'over more instances: totals spread thinner, response kept',
      metrics: { rate: 30, active: 4, bytes: 600, response: 12, pending: 0 },
      recorded: 2,
      replayed: 3,
      expect: { rate: 20, active: 2.666667, bytes: 400, response: 12, pending: 0 },
    },
    {
      name: 'over fewer instances: each takes more',
      metrics: { rate: 10, active: 1, response: 5 },
      recorded: 4,
      replayed: 1,
      expect: { rate: 40, active: 4, response: 5 },
    },
    {
      name: 'errors and custom metrics re-divide like rate',
      metrics: { rate: 6, errors: 0.5, queue: 9 },
      recorded: 3,
      replayed: 9,
      expect: { rate: 2, errors: 0.166667, queue: 3 },
    },
    {
      name: 'a metric named in undivided is kept as recorded',
      metrics: { rate: 6, p99: 250 },
      recorded: 3,
      replayed: 6,
      undivided: ['response', 'p99'],
      expect: { rate: 3, p99: 250 },
    },
    {
      name: 'over no instance: everything served becomes pending',
      metrics: { rate: 30, active: 2, bytes: 100, pending: 5 },
      recorded: 2,
      replayed: 0,
      expect: { rate: 0, active: 0, bytes: 0, pending: 65 },
    },
    {
      name: 'from no instance: what found no one is served',
      metrics: { rate: 0, active: 0, bytes: 0, pending: 12 },
      recorded: 0,
      replayed: 4,
      expect: { rate: 3, active: 0, bytes: 0, pending: 0 },
    },
    {
      name: 'pending stays pending while both sides serve',
      metrics: { rate: 8, pending: 0.5 },
      recorded: 2,
      replayed: 4,
      expect: { rate: 4, pending: 0.5 },
    },
    {
      name: 'no instance on either side: nothing moves',
      metrics: { rate: 0, pending: 3 },
      recorded: 0,
      replayed: 0,
      expect: { rate: 0, pending: 3 },
    },
  ];
  for (const c of cases) {
    it(`should re-divide ${c.name}`, () => {
      const out = redivide(c.metrics, c.recorded, c.replayed, c.undivided ? new Set(c.undivided) : undefined);
      assert.deepEqual(round(out), c.expect);
    });
  }

  it('should keep the endpoint total (average × N) of every dividing metric', () => {
    const metrics = { rate: 33.01, active: 3.6, bytes: 396.1 };
    for (const replayed of [1, 2, 3, 7, 40]) {
      const out = redivide(metrics, 5, replayed);
      for (const name of ['rate', 'active', 'bytes'] as const) {
        assert.ok(Math.abs(out[name] * replayed - metrics[name] * 5) < 1e-9, `${name} over ${replayed}`);
      }
    }
  });

  it('should hand back the recorded metrics themselves when the count is the same', () => {
    const metrics = { rate: 1 };
    assert.equal(redivide(metrics, 3, 3), metrics);
  });

  it('should count served and pending requests as offered', () => {
    assert.equal(offeredRate({ rate: 10, pending: 2 }, 3), 32);
    assert.equal(offeredRate({}, 3), 0);
  });
});

describe('bandPosition', () => {
  const cases: [rule: string, value: number, expect: number][] = [
    ['rate < 50', 49.9, INSIDE],
    ['rate < 50', 50, ABOVE],
    ['rate <= 50', 50, INSIDE],
    ['rate <= 10', 10.000000000000002, INSIDE],
    ['rate < 10', 9.999999999999998, ABOVE],
    ['0 < rate < 1', 0, BELOW],
    ['0 <= rate < 1', 0, INSIDE],
    ['20 <= rate < 50', 19.99, BELOW],
    ['20 < rate', 20, BELOW],
    ['20 < rate', 1000, INSIDE],
    ['2 <= instances <= 4', 5, ABOVE],
    ['2 <= instances <= 4', 1, BELOW],
  ];
  for (const [rule, value, expect] of cases) {
    it(`should place ${value} against ${rule} ${expect === BELOW ? 'below' : expect === ABOVE ? 'above' : 'inside'}`, () => {
      assert.equal(bandPosition(parseRule(rule), value), expect);
    });
  }
});
