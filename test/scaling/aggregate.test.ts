// Tests for metric aggregation: per-instance averages, weighted custom metrics, and malformed values as notes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateMetrics, type InstanceReport } from '../../src/scaling/index.js';

describe('aggregateMetrics', () => {
  const cases: {
    name: string;
    reports: InstanceReport[];
    custom?: Record<string, unknown>;
    want: { instances: number; metrics: Record<string, number>; notes: number };
  }[] = [
    { name: 'no reports', reports: [], want: { instances: 0, metrics: {}, notes: 0 } },
    {
      name: 'the seed sample from one instance is passed through',
      reports: [{ instance: 'i1', metrics: { active: 3.6, rate: 33.01, bytes: 396.1, response: 0.002 } }],
      want: { instances: 1, metrics: { active: 3.6, rate: 33.01, bytes: 396.1, response: 0.002 }, notes: 0 },
    },
    {
      name: 'built-ins are plain means over the instances that reported them: rate (30 + 36) / 2 = 33',
      reports: [
        { instance: 'i1', metrics: { active: 2, rate: 30 } },
        { instance: 'i2', metrics: { active: 4, rate: 36 } },
        { instance: 'i3', metrics: { active: 6 } },
      ],
      want: { instances: 3, metrics: { active: 4, rate: 33 }, notes: 0 },
    },
    {
      name: 'custom metrics are weighted means: queue [1, 10] and [3, 50] → 160 / 4 = 40',
      reports: [
        { instance: 'i1', metrics: { queue: [1, 10] } },
        { instance: 'i2', metrics: { queue: [3, 50] } },
      ],
      want: { instances: 2, metrics: { queue: 40 }, notes: 0 },
    },
    {
      name: 'a bare number for a custom metric counts as weight 1',
      reports: [
        { instance: 'i1', metrics: { queue: 10 } },
        { instance: 'i2', metrics: { queue: [1, 20] } },
      ],
      want: { instances: 2, metrics: { queue: 15 }, notes: 0 },
    },
    {
      name: 'endpoint-wide custom metrics join the weighted mean but not N',
      reports: [{ instance: 'i1', metrics: { rate: 1, queue: [1, 10] } }],
      custom: { queue: [1, 30], jobs: [2, 7] },
      want: { instances: 1, metrics: { rate: 1, queue: 20, jobs: 7 }, notes: 0 },
    },
    {
      name: 'malformed values are ignored with one note each, the rest still counts',
      reports: [
        { instance: 'i1', metrics: { rate: NaN, active: 'many', bytes: -4, response: Infinity, pending: 2 } },
        { instance: 'i2', metrics: { rate: 10, queue: [1], jobs: [-1, 5], load: ['x', 1], instances: 7, temp: [1, null] } },
      ],
      want: { instances: 2, metrics: { rate: 10, pending: 2 }, notes: 9 },
    },
    {
      name: 'a report that is not an object is ignored with a note and not counted',
      reports: [
        { instance: 'i1', metrics: null },
        { instance: 'i2', metrics: [1, 2] as unknown as Record<string, unknown> },
        { instance: 'i3', metrics: { rate: 5 } },
      ],
      want: { instances: 1, metrics: { rate: 5 }, notes: 2 },
    },
    {
      name: 'all-zero weights give no average (note), not a division by zero',
      reports: [{ instance: 'i1', metrics: { queue: [0, 10] } }],
      want: { instances: 1, metrics: {}, notes: 1 },
    },
    {
      name: 'a built-in name among endpoint-wide custom metrics is refused with a note',
      reports: [{ instance: 'i1', metrics: { rate: 4 } }],
      custom: { rate: [1, 100] },
      want: { instances: 1, metrics: { rate: 4 }, notes: 1 },
    },
    {
      name: 'negative custom values are legitimate (temperature)',
      reports: [{ instance: 'i1', metrics: { temp: [1, -5] } }, { instance: 'i2', metrics: { temp: [1, 5] } }],
      want: { instances: 2, metrics: { temp: 0 }, notes: 0 },
    },
    {
      name: 'values whose weighted average would overflow are left out with a note, never turned into 0 silently',
      reports: [{ instance: 'i1', metrics: { q: [1e308, 1e308], r: 1e300, ok: [2, 3] } }, { instance: 'i2', metrics: { q: [1e308, 1e308], ok: [1, 6] } }],
      want: { instances: 2, metrics: { ok: 4 }, notes: 3 },
    },
  ];
  for (const c of cases) {
    it(`should aggregate ${c.name}`, () => {
      const got = aggregateMetrics(c.reports, c.custom);
      assert.equal(got.instances, c.want.instances);
      assert.deepEqual(got.metrics, c.want.metrics);
      assert.equal(got.notes.length, c.want.notes, JSON.stringify(got.notes));
    });
  }

  it('should say in each note which instance, which metric and what arrived', () => {
    const got = aggregateMetrics([{ instance: 'web-7', metrics: { rate: 'fast', queue: [1] } }]);
    assert.deepEqual(
      got.notes.map((n) => [n.source, n.metric]),
      [['web-7', 'rate'], ['web-7', 'queue']],
    );
    assert.equal(got.notes[0].message, 'web-7: metric "rate" value "fast" is not a finite number; ignored');
    assert.match(got.notes[1].message, /^web-7: metric "queue" value \[1\] is not a number or a \[weight, value\] pair; ignored$/);
  });

  it('should return plain JSON', () => {
    const got = aggregateMetrics([{ instance: 'a', metrics: { rate: 1, x: [2, 3], bad: NaN } }]);
    assert.deepEqual(JSON.parse(JSON.stringify(got)), got);
  });
});
