// Table tests of the launch model: launch-to-ready times read from recorded instance events, their median, and a given value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { launchModel, launchToReadyTimes, median, type LaunchEvent } from '../../src/replay/launch.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const ev = (kind: string, ms: number, id: string, extra: Record<string, unknown> = {}): LaunchEvent => ({
  kind,
  at: new Date(T0 + ms),
  data: { instanceId: id, ...extra },
});
const created = (ms: number, id: string, status = 'STARTING') => ev('INSTANCE_CREATED', ms, id, { instance: { id, status } });
const ready = (ms: number, id: string) => ev('INSTANCE_RUNNING', ms, id, { ready: true });

describe('launchToReadyTimes', () => {
  const cases: { name: string; events: LaunchEvent[]; expect: number[] }[] = [
    { name: 'created STARTING → running', events: [created(0, 'a'), ready(740, 'a')], expect: [0.74] },
    {
      name: 'several launches, interleaved',
      events: [created(0, 'a'), created(10, 'b'), ready(900, 'b'), ready(1200, 'a')],
      expect: [0.89, 1.2],
    },
    {
      name: 'a launch that waited for room counts from its placement',
      events: [created(0, 'p', 'PENDING'), ev('INSTANCE_PLACED', 30_000, 'p'), ready(30_500, 'p')],
      expect: [0.5],
    },
    { name: 'a ready instance whose launch is before the events is left out', events: [ready(100, 'x')], expect: [] },
    { name: 'an instance that failed before it was ready is left out', events: [created(0, 'f'), ev('INSTANCE_ERROR', 5000, 'f'), ready(9000, 'f')], expect: [] },
    { name: 'a recommission is not a launch', events: [ev('INSTANCE_RECOMMISSIONED', 0, 'r'), ready(100, 'r')], expect: [] },
    { name: 'events about no instance are ignored', events: [{ kind: 'SCALED', at: new Date(T0), data: {} }], expect: [] },
  ];
  for (const c of cases) {
    it(`should read ${c.name}`, () => {
      assert.deepEqual(launchToReadyTimes(c.events).map((s) => Math.round(s * 1000) / 1000), c.expect);
    });
  }
});

describe('median and launchModel', () => {
  it('should take the middle value, or the mean of the middle two', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), null);
  });

  it('should prefer a given value, then the recorded median, then 0 with nothing recorded', () => {
    assert.deepEqual(launchModel(2, [0.5, 0.7]), { seconds: 2, source: 'given', launches: 0 });
    assert.deepEqual(launchModel(0, [0.5]), { seconds: 0, source: 'given', launches: 0 });
    assert.deepEqual(launchModel(undefined, [0.5, 0.9, 0.7]), { seconds: 0.7, source: 'recorded', launches: 3 });
    assert.deepEqual(launchModel(null, []), { seconds: 0, source: 'none', launches: 0 });
  });
});
