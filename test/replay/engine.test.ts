// Table tests of the replay engine: the launch delay, re-division over the replayed count, the figures on both sides, pairing with recorded decisions, states and gaps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replayScaling, type ReplayInput } from '../../src/replay/engine.js';
import type { CandidatePolicy, RecordedRound, RecordedSample } from '../../src/replay/types.js';
import { parseRules } from '../../src/scaling/rules.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

/** One sample a second; `rates[k]` is the endpoint's total requests/s in second k, recorded over `n[k]` instances (default 1). */
function samples(rates: number[], n: number[] = []): RecordedSample[] {
  return rates.map((total, k) => {
    const instances = n[k] ?? 1;
    return { at: at(k), instances, metrics: { rate: instances > 0 ? total / instances : 0, active: 0, bytes: 0, pending: instances > 0 ? 0 : total } };
  });
}

// Rules with both bounds, so the target is the middle of a finite range whatever max_instances is.
const policy = (over: Partial<CandidatePolicy> = {}): CandidatePolicy => ({ rules: '20 < rate < 40', minInstances: 1, maxInstances: 10, rampLimit: 5, ...over });

function replay(over: Partial<ReplayInput>): ReturnType<typeof replayScaling> {
  return replayScaling({
    endpoint: 'e',
    policy: policy(),
    samples: [],
    decisions: [],
    launch: { seconds: 0, source: 'given', launches: 0 },
    decommissionedTimeout: 60,
    ...over,
  });
}

const evaluation = (s: number, current: number, target: number, after = target, over: Partial<RecordedRound> = {}): RecordedRound => ({
  at: new Date(T0 + s * 1000 + 5),
  round: 'evaluate',
  state: 'RUNNING',
  current,
  target,
  after,
  launches: Math.max(0, after - current),
  policy: policy(),
  ...over,
});

describe('replayScaling: the launch delay', () => {
  // 100 requests/s from second 1 on: `20 < rate < 40` asks for 3..4, so 3 at once (1 → 3 at t = 1 s).
  const load = samples([0, 100, 100, 100, 100, 100]);
  const cases: { launchSeconds: number; serving: number[] }[] = [
    { launchSeconds: 0, serving: [1, 1, 3, 3, 3, 3] },
    { launchSeconds: 0.5, serving: [1, 1, 3, 3, 3, 3] },
    { launchSeconds: 1, serving: [1, 1, 3, 3, 3, 3] },
    { launchSeconds: 1.5, serving: [1, 1, 1, 3, 3, 3] },
    { launchSeconds: 2.5, serving: [1, 1, 1, 1, 3, 3] },
    { launchSeconds: 10, serving: [1, 1, 1, 1, 1, 1] },
  ];
  for (const c of cases) {
    it(`should serve from the new instances ${c.launchSeconds} s after the launch`, () => {
      const report = replay({ samples: load, launch: { seconds: c.launchSeconds, source: 'given', launches: 0 } });
      assert.deepEqual(report.timeline.map((p) => p.serving), c.serving);
      // Starting instances count as current, so the policy does not launch again while it waits.
      assert.deepEqual(report.timeline.map((p) => p.instances), [1, 1, 3, 3, 3, 3]);
      assert.equal(report.replayed.launches, 2);
    });
  }

  it('should leave each instance overloaded until its help arrives (time above the band)', () => {
    const above = (launchSeconds: number) =>
      replay({ samples: load, launch: { seconds: launchSeconds, source: 'given', launches: 0 } }).replayed.bands[0].secondsAbove;
    // Second 1 is over 40/instance whatever the launch time (the decision comes at its end); every second of waiting adds one.
    assert.deepEqual([0, 1.5, 2.5, 10].map(above), [1, 2, 3, 5]);
  });
});

describe('replayScaling: re-division and decisions', () => {
  it('should decide from the endpoint total, whatever count the recording had', () => {
    // The recording had 4 serving in second 1 (25/instance = 100 in total); the replay has the 3 it launched → 33.3 each.
    const report = replay({ samples: samples([100, 100], [1, 4]) });
    assert.deepEqual(report.timeline.map((p) => p.serving), [1, 3]);
    assert.match(report.timeline[1].summary, /^rate 33\.3\/instance over 3 instances needs 3\.\.4 → clamped to 3\.\.4 → target 3; holding at 3/);
  });

  it('should take the recorded response time as it was, over any count', () => {
    // 900 ms over 1, then over 2 in the recording. The replay runs 6 after second 0: 900 ms each (not 300), T = 5400 → 19..53 (exact multiples of strict bounds).
    const recording: RecordedSample[] = [
      { at: at(0), instances: 1, metrics: { response: 900 } },
      { at: at(1), instances: 2, metrics: { response: 900 } },
    ];
    const report = replay({ samples: recording, policy: policy({ rules: '100 < response < 300', maxInstances: 20 }) });
    assert.deepEqual(report.timeline.map((p) => [p.serving, p.target]), [
      [1, 6],
      [6, 19],
    ]);
    assert.match(report.timeline[1].summary, /^response 900\.0\/instance over 6 instances needs 19\.\.53 → clamped to 19\.\.20 → target 19/);
  });

  it('should hold the ramp limit, the clamp and the rules as the control loop does', () => {
    const report = replay({ samples: samples([0, 400, 400, 400]), policy: policy({ rampLimit: 3 }) });
    assert.deepEqual(report.timeline.map((p) => [p.instances, p.target, p.after]), [
      [1, 1, 1],
      [1, 10, 4],
      [4, 10, 7],
      [7, 10, 10],
    ]);
  });

  it('should scale down through draining and count what is gone', () => {
    const report = replay({ samples: samples([100, 100, 0, 0, 0]) });
    assert.deepEqual(report.timeline.map((p) => [p.instances, p.after]), [
      [1, 3],
      [3, 3],
      [3, 1],
      [1, 1],
      [1, 1],
    ]);
    assert.equal(report.replayed.scaleUps, 1);
    assert.equal(report.replayed.scaleDowns, 1);
    assert.equal(report.replayed.scaleEvents, 2);
  });
});

describe('replayScaling: the figures', () => {
  it('should add instance-seconds over the interval each round closes (the first takes the median interval)', () => {
    // Rounds at 0, 10, 20, 30 s; the load at 10 s scales 1 → 3.
    const recording = [0, 100, 100, 100].map((total, k) => ({ at: at(k * 10), instances: 1, metrics: { rate: total } }));
    const report = replay({ samples: recording });
    assert.equal(report.intervalSeconds, 10);
    assert.equal(report.seconds, 40);
    assert.equal(report.replayed.instanceSeconds, 10 + 10 + 30 + 30);
    assert.equal(report.replayed.meanInstances, 2);
    assert.equal(report.replayed.peakInstances, 3);
  });

  it('should time each band below and above, and the seconds outside any', () => {
    // 20 <= rate < 40 over 1 instance (max 1): 10 (below), 30 (inside), 50 (above), 0 (below).
    const report = replay({ samples: samples([10, 30, 50, 0]), policy: policy({ rules: '20 <= rate < 40', maxInstances: 1 }) });
    assert.deepEqual(report.replayed.bands, [{ rule: '20 <= rate < 40', metric: 'rate', secondsBelow: 2, secondsAbove: 1, secondsOutside: 3 }]);
    assert.equal(report.replayed.secondsOutsideBands, 3);
  });

  it('should time the bands given instead of the policy’s own, on both sides alike', () => {
    const report = replay({ samples: samples([100, 100, 100]), bands: parseRules('rate < 50'), launch: { seconds: 0, source: 'given', launches: 0 } });
    assert.equal(report.replayed.bands[0].rule, 'rate < 50');
    assert.equal(report.replayed.bands[0].secondsAbove, 1);
    // With no recorded decision the recording holds its one instance: 100/instance, over 50 every second.
    assert.equal(report.recorded.bands[0].secondsAbove, 3);
  });

  it('should count traffic with no instance serving as unserved, outside every band', () => {
    const report = replay({ samples: samples([0, 5, 5], [0, 0, 0]), policy: policy({ rules: 'rate < 40', minInstances: 0, maxInstances: 0 }), state: 'RUNNING' });
    // min 0 and no instance: the rules see no load (T = average × 0), as the control loop's do; the requests go unserved.
    assert.deepEqual(report.timeline.map((p) => p.serving), [0, 0, 0]);
    assert.equal(report.replayed.secondsUnserved, 2);
    assert.equal(report.replayed.secondsOutsideBands, 2);
    assert.equal(report.recorded.secondsUnserved, 2);
  });
});

describe('replayScaling: beside the recording', () => {
  const load = samples([0, 100, 100, 0, 0], [1, 1, 3, 3, 1]);
  const recorded = [evaluation(0, 1, 1), evaluation(1, 1, 3), evaluation(2, 3, 3), evaluation(3, 3, 1), evaluation(4, 1, 1)];

  it('should pair every round with the evaluation made with its sample and find no difference for the policy in force', () => {
    const report = replay({ samples: load, decisions: recorded });
    assert.equal(report.compared, 5);
    assert.equal(report.differences, 0);
    assert.deepEqual(report.timeline.map((p) => [p.target, p.recordedTarget, p.instances, p.recordedInstances]), [
      [1, 1, 1, 1],
      [3, 3, 1, 1],
      [3, 3, 3, 3],
      [1, 1, 3, 3],
      [1, 1, 1, 1],
    ]);
    assert.deepEqual(report.replayed.instanceSeconds, report.recorded.instanceSeconds);
    assert.equal(report.recorded.scaleEvents, 2);
    assert.equal(report.recorded.launches, 2);
    assert.deepEqual(report.inForce, [{ ...policy(), from: at(0) }]);
  });

  it('should show a stricter ceiling using more instance-seconds and less time over the band', () => {
    const bands = parseRules('10 < rate < 20');
    const launch = { seconds: 0.5, source: 'given' as const, launches: 0 };
    const inForce = replay({ samples: load, decisions: recorded, bands, launch });
    const strict = replay({ samples: load, decisions: recorded, bands, policy: policy({ rules: '10 < rate < 20' }), launch });
    // 100/s: the policy in force runs 3 (33/instance); the strict one wants 7 (6..9), gets 6 within the ramp limit, and holds there (16.7/instance).
    assert.deepEqual(strict.timeline.map((p) => p.target), [1, 7, 6, 1, 1]);
    assert.ok(strict.replayed.instanceSeconds > inForce.replayed.instanceSeconds);
    assert.equal(strict.differences, 2);
    // Both are over 20/instance in second 1 (the decision comes at its end); only the policy in force stays over in second 2.
    assert.equal(strict.replayed.bands[0].secondsAbove, 1);
    assert.equal(inForce.replayed.bands[0].secondsAbove, 2);
    assert.equal(strict.recorded.bands[0].secondsAbove, 2, 'the recording, timed against the same band');
  });

  it('should take a round whose evaluation was thinned as held by the last one kept, but not a round after a change', () => {
    const load = samples([0, 100, 100, 0, 0, 0], [1, 1, 3, 3, 1, 1]);
    const changes = [evaluation(0, 1, 1), evaluation(1, 1, 3), evaluation(3, 3, 1)];
    // Rounds 2, 4 and 5 follow a change (the controller keeps every change and the round after differs): nothing to compare with.
    const afterChanges = replay({ samples: load, decisions: changes });
    assert.deepEqual(afterChanges.timeline.map((p) => p.recordedHeld), [false, false, false, false, false, false]);
    assert.deepEqual([afterChanges.compared, afterChanges.held], [3, 0]);
    // Round 4 held at 1 and was kept; round 5 repeated it and was let go: it held as round 4 did.
    const thinned = replay({ samples: load, decisions: [...changes, evaluation(4, 1, 1)] });
    assert.deepEqual(thinned.timeline.map((p) => p.recordedHeld), [false, false, false, false, false, true]);
    const point = thinned.timeline[5]!;
    assert.deepEqual([point.recordedTarget, point.recordedInstances, point.target], [1, 1, 1]);
    assert.deepEqual([thinned.compared, thinned.held, thinned.differences], [5, 1, 0]);
    // A candidate that acts in a held round differs from the recording there.
    const eager = replay({ samples: load, decisions: [...changes, evaluation(4, 1, 1)], policy: policy({ minInstances: 2 }) });
    assert.ok(eager.timeline[5]!.recordedHeld && eager.timeline[5]!.target !== eager.timeline[5]!.recordedTarget);
  });

  it('should count trigger rounds of the recording among its scale events, but pair only evaluations', () => {
    const withTrigger = [...recorded.slice(0, 3), { ...evaluation(2.5, 3, 4), round: 'trigger' as const }, evaluation(3, 4, 1), evaluation(4, 1, 1)];
    const report = replay({ samples: load, decisions: withTrigger });
    assert.equal(report.compared, 5);
    assert.equal(report.recorded.scaleUps, 2);
    assert.equal(report.timeline[3].recordedInstances, 4);
  });

  it('should follow the recorded state: PAUSED changes nothing, STOPPED goes to 0', () => {
    const states = [
      evaluation(0, 1, 1),
      evaluation(1, 1, 3, 1, { state: 'PAUSED' }),
      evaluation(2, 1, 0, 0, { state: 'STOPPED' }),
      evaluation(3, 0, 0, 0, { state: 'STOPPED' }),
    ];
    const report = replay({ samples: samples([0, 100, 100, 0], [1, 1, 1, 0]), decisions: states });
    assert.deepEqual(report.timeline.map((p) => [p.instances, p.after]), [
      [1, 1],
      [1, 1],
      [1, 0],
      [0, 0],
    ]);
    assert.match(report.timeline[1].summary, /^paused, no changes/);
  });

  it('should start from the recorded count, with the unreported ones still launching', () => {
    const report = replay({ samples: samples([120, 120, 120], [2, 4, 4]), decisions: [evaluation(0, 4, 4)], launch: { seconds: 1.5, source: 'given', launches: 0 } });
    assert.deepEqual(report.timeline.map((p) => [p.instances, p.serving]), [
      [4, 2],
      [4, 2],
      [4, 4],
    ]);
  });

  it('should start the policies in force with the last one before the replay', () => {
    const before = [evaluation(-3, 1, 1, 1, { policy: policy({ rules: '' }) }), evaluation(-2, 1, 1, 1, { policy: policy({ rules: 'rate < 5' }) })];
    const report = replay({ samples: samples([0, 0]), decisions: [...before, evaluation(0, 1, 1), evaluation(1, 1, 1)] });
    assert.deepEqual(report.inForce.map((p) => [p.rules, p.from.toISOString()]), [
      ['rate < 5', at(0).toISOString()],
      ['20 < rate < 40', new Date(T0 + 5).toISOString()],
    ]);
    assert.equal(report.recorded.scaleEvents, 0, 'decisions before the replay are not its scale events');
  });

  it('should list the policies in force as they changed', () => {
    const changed = [evaluation(0, 1, 1), evaluation(1, 1, 1, 1, { policy: policy({ rules: 'rate < 5' }) })];
    const report = replay({ samples: samples([0, 0, 0]), decisions: changed });
    assert.deepEqual(report.inForce.map((p) => [p.rules, p.from.toISOString()]), [
      ['20 < rate < 40', at(0).toISOString()],
      ['rate < 5', new Date(T0 + 1005).toISOString()],
    ]);
  });
});

describe('replayScaling: what the data lacks', () => {
  it('should say so when there is nothing to replay', () => {
    const report = replay({});
    assert.equal(report.rounds, 0);
    assert.equal(report.from, null);
    assert.ok(report.notes.some((n) => /no metric samples/.test(n)));
  });

  it('should name gaps in the recording and rounds with no recorded evaluation', () => {
    const gappy = [0, 1, 2, 30, 31].map((s) => ({ at: at(s), instances: 1, metrics: { rate: 0 } }));
    const report = replay({ samples: gappy, decisions: [evaluation(0, 1, 1)] });
    assert.ok(report.notes.some((n) => n.startsWith(`no samples from ${at(2).toISOString()} to ${at(30).toISOString()} (28 s)`)), report.notes.join(' | '));
    // Rounds 1 and 2 follow a holding evaluation (thinned, held as it); after the gap no controller's decision reaches over.
    assert.deepEqual(report.timeline.map((p) => p.recordedHeld), [false, true, true, false, false]);
    assert.ok(report.notes.some((n) => n.startsWith('2 of 5 rounds have no stored evaluation because it repeated the last one kept')), report.notes.join(' | '));
    assert.ok(report.notes.some((n) => n.startsWith('2 of 5 rounds have no recorded evaluation')), report.notes.join(' | '));
  });

  it('should say where the launch time came from', () => {
    const none = replay({ samples: samples([0]), launch: { seconds: 0, source: 'none', launches: 0 } });
    assert.ok(none.notes.some((n) => /no launch-to-ready time is recorded/.test(n)));
    const median = replay({ samples: samples([0]), launch: { seconds: 0.74, source: 'recorded', launches: 9 } });
    assert.ok(median.notes.some((n) => n === 'launches serve 0.740 s after they start: the median of 9 recorded launch-to-ready times'));
  });
});
