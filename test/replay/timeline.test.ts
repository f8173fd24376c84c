// Table tests of the timeline thinned to its changes, and of the CLI's --since/--until times.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWhen } from '../../src/cli/replay.js';
import { changedPoints } from '../../src/replay/timeline.js';
import type { ReplayPoint } from '../../src/replay/types.js';

const point = (s: number, target: number, instances: number, recordedTarget: number | null = target): ReplayPoint => ({
  at: new Date(Date.UTC(2026, 2, 1, 12, 0, s)),
  target,
  instances,
  after: target,
  serving: instances,
  recordedTarget,
  recordedInstances: instances,
  recordedHeld: false,
  summary: '',
});

describe('changedPoints', () => {
  it('should keep the first and last points and every change on either side', () => {
    const timeline = [point(0, 1, 1), point(1, 1, 1), point(2, 3, 1), point(3, 3, 3), point(4, 3, 3), point(5, 3, 3, 4), point(6, 3, 3, 4), point(7, 3, 3, 4)];
    assert.deepEqual(changedPoints(timeline).map((p) => p.at.getUTCSeconds()), [0, 2, 3, 5, 7]);
  });

  it('should keep a lone point, and nothing of nothing', () => {
    assert.equal(changedPoints([point(0, 1, 1)]).length, 1);
    assert.deepEqual(changedPoints([]), []);
  });
});

describe('parseWhen', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const cases: [string, string][] = [
    ['90s', '2026-03-01T11:58:30.000Z'],
    ['15m', '2026-03-01T11:45:00.000Z'],
    ['1h30m', '2026-03-01T10:30:00.000Z'],
    ['2d', '2026-02-27T12:00:00.000Z'],
    ['0.5h', '2026-03-01T11:30:00.000Z'],
    ['2026-03-01T09:00:00Z', '2026-03-01T09:00:00.000Z'],
  ];
  for (const [value, expect] of cases) {
    it(`should read ${value}`, () => assert.equal(parseWhen('--since', value, now).toISOString(), expect));
  }
  for (const value of ['yesterday', '1x', 'h', '1h 30m', '', '12']) {
    it(`should refuse ${JSON.stringify(value)}, naming the flag`, () => {
      assert.throws(() => parseWhen('--since', value, now), /^Error: --since takes a duration back from now/);
    });
  }
});
