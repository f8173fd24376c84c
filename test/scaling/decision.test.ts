// Tests for decide(): the seed walkthrough, states, conflicts, ramp cuts, and the record as plain JSON with a summary.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, evaluateScaling, type DecisionInput, type InstanceView } from '../../src/scaling/index.js';
import type { InstanceStatus } from '../../src/store/types.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);
const inst = (id: string, status: InstanceStatus, active = 0, decommissionedAgo = 10): InstanceView => ({
  id,
  status,
  active,
  createdAt: ago(3600),
  decommissionedAt: status === 'DECOMMISSIONED' ? ago(decommissionedAgo) : null,
});
const running = (n: number, active = 0) => Array.from({ length: n }, (_, i) => inst(`r${i}`, 'RUNNING', active));

const seedLoad = { active: 3.6, rate: 33.01126731369651, bytes: 396.1352077643581, response: 0.002031185031185033 };

function input(over: Partial<DecisionInput> = {}): DecisionInput {
  return {
    endpoint: 'pyex',
    state: 'RUNNING',
    scaling: { minInstances: 1, maxInstances: 5, rules: '0 < rate < 1', rampLimit: 5 },
    decommissionedTimeout: 60,
    sample: { instances: 1, metrics: seedLoad },
    instances: running(1),
    ...over,
  };
}

describe('decide', () => {
  it('should scale the seed walkthrough from 1 to 5 (needs 34, clamped to max 5)', () => {
    const d = decide(input(), NOW);
    assert.equal(d.current, 1);
    assert.deepEqual(d.rules.map((r) => [r.rule, r.metric, r.min, r.max]), [['0 < rate < 1', 'rate', 34, null]]);
    assert.deepEqual(d.ideal, { min: 34, max: null });
    assert.deepEqual(d.clamped, { min: 5, max: 5 });
    assert.equal(d.target, 5);
    assert.equal(d.after, 5);
    assert.deepEqual(d.actions.map((a) => [a.kind, a.direction, a.count]), [['launch', 'up', 4]]);
    assert.equal(d.summary, 'rate 33.0/instance over 1 instance needs 34..∞ → clamped to 5..5 → target 5; launching 4 (ramp limit 5 cut 0)');
    assert.equal(d.at, '2026-03-01T12:00:00.000Z');
  });

  it('should launch 5 for the seed load when nothing runs yet', () => {
    const d = decide(input({ instances: [] }), NOW);
    assert.match(d.summary, /→ target 5; launching 5 \(ramp limit 5 cut 0\)$/);
  });

  it('should shrink an idle endpoint with 0 < rate < 1 to its minimum (decommission least active)', () => {
    const d = decide(
      input({ sample: { instances: 5, metrics: { active: 0, rate: 0 } }, instances: [inst('a', 'RUNNING', 0), inst('b', 'RUNNING', 2), inst('c', 'RUNNING', 1), inst('d', 'RUNNING', 0), inst('e', 'RUNNING', 3)] }),
      NOW,
    );
    assert.deepEqual(d.ideal, { min: 0, max: 0 });
    assert.equal(d.target, 1);
    assert.deepEqual(d.actions.map((a) => `${a.kind}:${a.instanceId}`), ['decommission:a', 'decommission:d', 'decommission:c', 'decommission:b']);
    assert.match(d.summary, /^rate 0\/instance over 5 instances needs 0\.\.0 → clamped to 1\.\.1 → target 1; decommissioning 4 \(ramp limit 5 cut 0\)$/);
  });

  it('should record the ramp limit cut', () => {
    const d = decide(input({ scaling: { minInstances: 1, maxInstances: 20, rules: '0 < rate < 1', rampLimit: 3 } }), NOW);
    assert.equal(d.target, 20);
    assert.equal(d.after, 4);
    assert.equal(d.rampCut, 16);
    assert.equal(d.rampLimited, true);
    assert.match(d.summary, /launching 3 \(ramp limit 3 cut 16\)$/);
    assert.match(d.actions[0].reason, /ramp limit 3 holds back 16/);
  });

  it('should hold the current count on a conflict and say so', () => {
    const d = decide(input({ scaling: { minInstances: 1, maxInstances: 10, rules: '5 < rate < 6', rampLimit: 5 }, sample: { instances: 5, metrics: { rate: 6 } }, instances: running(5) }), NOW);
    assert.equal(d.conflict, true);
    assert.equal(d.target, 5);
    assert.deepEqual(d.actions, []);
    assert.match(d.summary, /→ conflict, keeping 5 → target 5; holding at 5$/);
    assert.ok(d.notes.some((n) => /rules conflict/.test(n)));
  });

  it('should hold at min with no rules', () => {
    const d = decide(input({ scaling: { minInstances: 2, maxInstances: 5, rules: '', rampLimit: 5 }, instances: running(2) }), NOW);
    assert.equal(d.target, 2);
    assert.equal(d.summary, 'no rules → 0..0 → clamped to 2..2 → target 2; holding at 2');
  });

  it('should change nothing when PAUSED, and say what it would do', () => {
    const d = decide(input({ state: 'PAUSED', instances: [...running(1), inst('e', 'ERROR'), inst('d', 'DECOMMISSIONED', 0)] }), NOW);
    assert.deepEqual(d.actions, []);
    assert.equal(d.after, 1);
    assert.equal(d.held, 'endpoint is PAUSED: no changes');
    assert.match(d.summary, /^paused, no changes: .* → would target 5 from 1$/);
  });

  it('should go to 0 with no ramp limit when STOPPED, and still clean up', () => {
    const d = decide(input({ state: 'STOPPED', instances: [...running(8, 2), inst('p', 'PENDING'), inst('d', 'DECOMMISSIONED', 0)] }), NOW);
    assert.equal(d.target, 0);
    assert.equal(d.after, 0);
    assert.equal(d.rampLimit, null);
    assert.deepEqual(d.actions.filter((a) => a.kind === 'decommission').length, 8);
    assert.deepEqual(d.actions.filter((a) => a.kind === 'cancel').map((a) => a.instanceId), ['p']);
    assert.deepEqual(d.actions.filter((a) => a.kind === 'delete').map((a) => a.instanceId), ['d']);
    assert.equal(d.summary, 'stopped → target 0; decommissioning 8, cancelling 1 pending; deleting 1 (cleanup)');
  });

  it('should hold (not shrink) when there is no metric sample yet, but honour min', () => {
    const busy = decide(input({ sample: null, instances: running(4) }), NOW);
    assert.equal(busy.target, 4);
    assert.deepEqual(busy.actions, []);
    assert.match(busy.summary, /^no metric sample yet → holding 4 → clamped to 4\.\.4 → target 4; holding at 4$/);
    const fresh = decide(input({ sample: null, instances: [] }), NOW);
    assert.equal(fresh.target, 1);
    assert.deepEqual(fresh.actions.map((a) => [a.kind, a.count]), [['launch', 1]]);
  });

  it('should ignore malformed metric values with a note, never crash', () => {
    const d = decide(input({ sample: { instances: 1, metrics: { rate: Number.NaN, active: 'x' as unknown as number, bytes: 3 } } }), NOW);
    assert.deepEqual(d.inputs.metrics, { bytes: 3 });
    assert.equal(d.notes.length, 4);
    assert.match(d.notes[0], /metric "rate" value NaN is not a finite number; ignored/);
    // rate has no usable value: no data, so the only rule is left out and the count (1) held — never read as 0.
    assert.match(d.notes[2], /^no data for metric "rate" .*rule "0 < rate < 1" left out, not read as 0$/);
    assert.equal(d.notes[3], 'no rule had data: holding the current count within min/max');
    assert.equal(d.target, 1);
    assert.deepEqual(d.rules.map((r) => [r.rule, r.noData]), [['0 < rate < 1', true]]);
  });

  it('should say when a rule has no data and not read the missing metric as 0', () => {
    // rat is a typo: read as 0 it would ask for 0..0 and shrink 4 instances to min; with no data the count is held.
    const typo = decide(input({ scaling: { minInstances: 1, maxInstances: 5, rules: '0 < rat < 1', rampLimit: 5 }, sample: { instances: 4, metrics: { rate: 0 } }, instances: running(4) }), NOW);
    assert.equal(typo.target, 4);
    assert.deepEqual(typo.actions, []);
    assert.match(typo.summary, /^rat has no data \(rule left out\) → no rule has data, holding 4 within 1\.\.5 → target 4; holding at 4$/);
    assert.ok(typo.notes.some((n) => n.startsWith('no data for metric "rat"')));
    // Beside a rule with data, the one without is left out and the other decides (rate 60 × 2 → 120 < 50 × 3 → 3).
    const mixed = decide(input({ scaling: { minInstances: 1, maxInstances: 5, rules: 'queue < 10, rate < 50', rampLimit: 5 }, sample: { instances: 2, metrics: { rate: 60 } }, instances: running(2) }), NOW);
    assert.equal(mixed.target, 3);
    assert.deepEqual(mixed.rules.map((r) => [r.metric, r.noData === true, r.min, r.max]), [['queue', true, 0, null], ['rate', false, 3, null]]);
  });

  it('should hold a RUNNING endpoint whose stored rules are invalid, with the reason', () => {
    const d = decide(input({ scaling: { minInstances: 1, maxInstances: 5, rules: 'rate == 4', rampLimit: 5 }, instances: [...running(2), inst('e', 'ERROR')] }), NOW);
    assert.deepEqual(d.actions, []);
    assert.match(d.held!, /invalid scaling rules: rule "rate == 4"/);
    assert.match(d.summary, /holding at 2$/);
  });

  it('should recommission before launching and delete drained ones in the same round', () => {
    const d = decide(
      input({ instances: [...running(1), inst('d1', 'DECOMMISSIONED', 1, 20), inst('d2', 'DECOMMISSIONED', 0, 200), inst('x', 'LOST')] }),
      NOW,
    );
    assert.deepEqual(d.actions.map((a) => `${a.kind}:${a.instanceId ?? a.count}`), ['recommission:d1', 'recommission:d2', 'launch:2', 'delete:x']);
    assert.match(d.summary, /recommissioning 2, launching 2 \(ramp limit 5 cut 0\); deleting 1 \(cleanup\)$/);
  });

  it('should agree with evaluateScaling on the same numbers (same code path)', () => {
    const rules = '2 <= instances <= 10, response < 300, 10 <= active <= 30';
    const metrics = { active: 50, response: 900 };
    const d = decide(input({ scaling: { minInstances: 1, maxInstances: 20, rules, rampLimit: 10 }, sample: { instances: 4, metrics }, instances: running(4) }), NOW);
    const e = evaluateScaling({ rules: [rules], metrics, instances: 4, minInstances: 1, maxInstances: 20 });
    assert.deepEqual(
      { idealMin: d.ideal.min, idealMax: d.ideal.max, targetMin: d.clamped.min, targetMax: d.clamped.max, target: d.target, conflict: d.conflict, rules: d.rules.map(({ rule, metric, min, max }) => ({ rule, metric, min, max, noData: false })), noData: [] },
      e,
    );
    assert.equal(e.target, 10);
  });

  it('should accept pre-parsed rules instead of the text', () => {
    const d = decide(input({ scaling: { minInstances: 1, maxInstances: 5, rules: 'ignored?', rampLimit: 5 }, rules: [{ text: 'rate < 10', metric: 'rate', lower: null, lowerInclusive: false, upper: 10, upperInclusive: false }] }), NOW);
    assert.deepEqual(d.rules.map((r) => [r.rule, r.min]), [['rate < 10', 4]]);
  });

  it('should produce a plain JSON value', () => {
    const d = decide(input({ instances: [...running(2), inst('d', 'DECOMMISSIONED', 4)] }), NOW);
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
  });

  describe('scale from zero: held requests', () => {
    const zero = { minInstances: 0, maxInstances: 3, rules: '0 < rate < 10', rampLimit: 5 };
    it('should launch one instance for a request held at 0 instances, though the rate rule reads 0', () => {
      const d = decide(input({ scaling: zero, instances: [], sample: { instances: 0, metrics: { rate: 0, held: 3 } } }), NOW);
      assert.equal(d.target, 1);
      assert.deepEqual(d.actions.map((a) => [a.kind, a.count]), [['launch', 1]]);
      assert.ok(d.notes.some((n) => n.includes('requests are held (held 3.0)')), d.notes.join('; '));
    });
    it('should count held requests at 0 instances as one instance\'s for a rule on held', () => {
      const d = decide(input({ scaling: { ...zero, rules: 'held < 5' }, instances: [], sample: { instances: 0, metrics: { held: 12 } } }), NOW);
      assert.equal(d.target, 3, '12 held, < 5 each → 3 instances');
    });
    it('should scale to 0 only when nothing is held and the rules and min_instances allow it', () => {
      const idle = decide(input({ scaling: zero, instances: running(1), sample: { instances: 1, metrics: { rate: 0, held: 0 } } }), NOW);
      assert.equal(idle.target, 0);
      const atMin = decide(input({ scaling: { ...zero, minInstances: 1 }, instances: running(1), sample: { instances: 1, metrics: { rate: 0, held: 0 } } }), NOW);
      assert.equal(atMin.target, 1);
      const busy = decide(input({ scaling: zero, instances: running(1), sample: { instances: 1, metrics: { rate: 0.5, held: 0 } } }), NOW);
      assert.equal(busy.target, 1);
    });
    it('should not launch for held requests when max_instances is 0', () => {
      const d = decide(input({ scaling: { ...zero, maxInstances: 0 }, instances: [], sample: { instances: 0, metrics: { held: 3 } } }), NOW);
      assert.equal(d.target, 0);
    });
  });
});
