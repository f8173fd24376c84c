// explain for each kind of decision (hold, up, down, clamped, ramp cut, conflict, no sample yet, deferred launch, no room, trigger, paused, stopped): plain words from the stored record.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppliedAction, RoundDecision } from '../../src/model/decision.js';
import { decide, type DecisionInput, type InstanceView } from '../../src/scaling/index.js';
import { decisionView } from '../../src/server/decision-view.js';
import { explainDecision } from '../../src/server/explain.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const UNTIL = '2026-03-01T12:00:30.000Z';
const running = (n: number, active = 0): InstanceView[] =>
  Array.from({ length: n }, (_, i) => ({ id: `i${i + 1}`, status: 'RUNNING', active: active + i, createdAt: new Date(NOW.getTime() - (i + 1) * 60_000), decommissionedAt: null }));

function input(over: Partial<DecisionInput> & { rules?: never } = {}, scaling: Partial<DecisionInput['scaling']> = {}): DecisionInput {
  return {
    endpoint: 'pyex',
    state: 'RUNNING',
    scaling: { minInstances: 1, maxInstances: 5, rules: '0 < rate < 1', rampLimit: 5, ...scaling },
    decommissionedTimeout: 60,
    sample: { instances: 1, metrics: { rate: 33.01, active: 3.6 } },
    instances: running(1),
    ...over,
  };
}

/** A decision as the controller stores it: the engine's record, the round, and each action as applied (done unless told). */
function stored(decisionInput: DecisionInput, applied?: (actions: RoundDecision['actions']) => AppliedAction[], over: Partial<RoundDecision> = {}): RoundDecision {
  const engine = decide(decisionInput, NOW);
  const done = (engine.actions ?? []).flatMap((a): AppliedAction[] =>
    Array.from({ length: a.count }, (_, n) => ({
      kind: a.kind,
      direction: a.direction,
      instanceId: a.instanceId ?? `new${n + 1}`,
      managerId: 'm1',
      outcome: 'done',
      reason: a.reason,
      until: null,
    })),
  );
  return JSON.parse(JSON.stringify({ ...engine, round: 'evaluate', cause: '', applied: applied ? applied(engine.actions) : done, ...over })) as RoundDecision;
}

const explain = (record: RoundDecision) => explainDecision(decisionView(record), { id: 'd-1', endpoint: 'pyex', at: NOW });

interface Case {
  kind: string;
  record: RoundDecision;
  says: RegExp[];
  never?: RegExp[];
}

const cases: Case[] = [
  {
    kind: 'hold',
    record: stored(input({ sample: { instances: 3, metrics: { rate: 4 } }, instances: running(3) }, { rules: '2 < rate < 10', minInstances: 1, maxInstances: 8 })),
    says: [
      /^Decision d-1 of pyex at 2026-03-01T12:00:00\.000Z: an evaluation round/,
      /Inputs: the sample had 3 instances reporting, per instance rate 4; 3 instances serving or starting; min_instances 1, max_instances 8, ramp_limit 5, rules "2 < rate < 10"\./,
      /- 2 < rate < 10: rate 4 per instance × 3 reporting = 12 in total; < 10 per instance needs at least 2 \(12 ÷ 10 = 1\.2, rounded up\); 2 < per instance allows at most 5 \(12 ÷ 2 = 6, exactly 6 would each carry 2, which < excludes, so one fewer\) → 2\.\.5\./,
      /Clamp: 2\.\.5 lies within min_instances 1\.\.max_instances 8: unchanged\./,
      /Target 3: the current count 3 is inside 2\.\.5, so it stays/,
      /Ramp: nothing to move/,
      /Done: nothing/,
    ],
    never: [/Wanted but not done/],
  },
  {
    kind: 'up',
    record: stored(input({ sample: { instances: 2, metrics: { rate: 30 } }, instances: running(2) }, { rules: 'rate <= 20', maxInstances: 10 })),
    says: [
      /- rate <= 20: rate 30 per instance × 2 reporting = 60 in total; <= 20 per instance needs at least 3 \(60 ÷ 20 = 3, exactly 3 at 20 each, which <= allows\) → 3\.\.∞\./,
      /Combined: one rule → 3\.\.∞\./,
      /Clamp: 3\.\.∞ within min_instances 1\.\.max_instances 10 → 3\.\.10\./,
      // The ideal range has no upper bound: the target is the fewest instances that satisfy every rule (issue 16).
      /Target 3: the current count 2 is outside 3\.\.10; 3 is the fewest in it\./,
      /Ramp: the 1 change fits within ramp_limit 5 \(→ 3\)\./,
      /- launched new1 on manager m1: target 3 > current 2\./,
    ],
  },
  {
    kind: 'down (least active decommissioned)',
    record: stored(input({ sample: { instances: 4, metrics: { rate: 0 } }, instances: running(4, 2) })),
    says: [
      /with no load no count is above 0: at most 0, so the endpoint falls back to its minimum/,
      /Clamp: 0\.\.0 lies wholly below min_instances 1 → 1\.\.1\./,
      /Target 1: the current count 4 is outside 1\.\.1; 1 is the only count in it\./,
      /- decommissioned i1 on manager m1: target 1 < current 4: least active \(2 connections\); it left the balancer and drains until its connections close or 60 s pass \(decommissioned_timeout\)\./,
    ],
  },
  {
    kind: 'cleanup (a drained instance deleted)',
    record: stored(
      input({
        sample: { instances: 1, metrics: { rate: 0.5 } },
        instances: [...running(1), { id: 'd1', status: 'DECOMMISSIONED', active: 0, createdAt: NOW, decommissionedAt: new Date(NOW.getTime() - 5000) }],
      }),
    ),
    says: [/Target 1: the current count 1 is inside 1\.\.5, so it stays/, /Ramp: nothing to move/, /Done:\n- deleted d1 on manager m1: decommissioned and drained \(0 active connections\)\./],
  },
  {
    kind: 'clamped',
    record: stored(input()),
    says: [/needs at least 34/, /Clamp: 34\.\.∞ lies wholly above max_instances 5 \(more load than allowed\) → 5\.\.5\./, /Target 5/],
  },
  {
    kind: 'up to exactly the ramp limit',
    record: stored(input({}, { maxInstances: 20, rampLimit: 2, rules: '10 < rate < 20' })),
    says: [
      /allows at most 4 \(33\.0 ÷ 10 = 3\.3, rounded up\) → 2\.\.4\./,
      /Target 3: the current count 1 is outside 2\.\.4; 3 is the middle of the range, rounded down\./,
      /Ramp: all 2 changes fit within ramp_limit 2 \(→ 3\)\./,
    ],
    never: [/Wanted but not done/],
  },
  {
    kind: 'ramp cut (held back)',
    record: stored(input({ sample: { instances: 1, metrics: { rate: 100 } } }, { maxInstances: 20, rampLimit: 2, rules: '10 <= rate <= 20' })),
    says: [/Target 7: the current count 1 is outside 5\.\.10/, /Ramp cut: ramp_limit 2 allows 2 changes a round, so 2 now \(→ 3\) and 4 held back for the next rounds\./, /Wanted but not done: 4 changes held back by the ramp limit/],
  },
  {
    kind: 'rules-disagree (earlier wins)',
    record: stored(input({ sample: { instances: 2, metrics: { rate: 50, active: 1 } }, instances: running(2) }, { rules: 'rate < 10, 5 < active', maxInstances: 10 })),
    says: [
      /Combined in the order written \(earlier rules win\): "rate < 10" gives 11\.\.∞; "5 < active" asks 0\.\.1, wholly below: as low as the earlier rules allow → 11\.\.11\./,
      /Ramp cut: ramp_limit 5 allows 5 changes a round, so 5 now \(→ 7\) and 3 held back for the next rounds\./,
    ],
  },
  {
    kind: 'conflict',
    // 30/s: under 6 each needs 6 (exactly 5 would carry 6), over 5 each allows 5 (exactly 6 would carry 5): 6..5 is empty.
    record: stored(input({ sample: { instances: 1, metrics: { rate: 30 } } }, { rules: '5 < rate < 6, instances <= 3', maxInstances: 10 })),
    says: [
      /"instances <= 3" asks 0\.\.3: not considered, the range is already empty/,
      /Conflict: the combined range 6\.\.5 is empty \(the rules cannot all hold\), so the current count 1 is kept, unclamped/,
      /Target 1: the current count 1 is inside 1\.\.1, so it stays/,
      /- rules conflict \(combined range 6\.\.5 is empty\): keeping 1/,
    ],
    never: [/^Clamp/m],
  },
  {
    kind: 'no sample yet',
    record: stored(input({ sample: null, instances: running(2) })),
    says: [/Inputs: no metric sample yet \(a fresh start, or sampling failed\), so the rules were not evaluated/, /Held: the current 2 fitted into min\.\.max → 2\.\.2\./, /Target 2: the current count 2 is inside 2\.\.2/],
    never: [/^Rules:/m],
  },
  {
    kind: 'deferred launch',
    record: stored(input(), (actions) =>
      Array.from({ length: actions[0].count }, () => ({ kind: 'launch', direction: 'up', instanceId: null, managerId: null, outcome: 'deferred', reason: `${actions[0].reason}; deferred by the launch back-off until ${UNTIL}`, until: UNTIL })),
    ),
    says: [/Wanted but not done:\n- 4 launches deferred until 2026-03-01T12:00:30\.000Z: launches of this endpoint failed recently, so the launch back-off waits before trying again/],
    never: [/^Done:\n/m],
  },
  {
    kind: 'no room',
    record: stored(input({}, { maxInstances: 2 }), () => [
      { kind: 'launch', direction: 'up', instanceId: 'p1', managerId: null, outcome: 'no-room', reason: 'target 2 > current 1; no manager can take 30 slots (m1: needs 30 slots, 10 of 20 free)', until: null },
    ]),
    says: [/- launch \(p1\) found no room: target 2 > current 1; no manager can take 30 slots \(m1: needs 30 slots, 10 of 20 free\); it waits as PENDING until a manager has the slots\./],
  },
  {
    kind: 'trigger round',
    record: stored(input(), undefined, { round: 'trigger', cause: 'container die', rules: [], ideal: { min: 3, max: 3 }, clamped: { min: 3, max: 3 }, target: 3, after: 3, rampLimit: null, current: 2, actions: [], applied: [] }),
    says: [/a trigger round \(container die\) between evaluations: the rules are not consulted/, /No ramp limit applies to this round: all 1 change at once \(→ 3\)\./],
    never: [/^Rules:/m],
  },
  {
    kind: 'paused',
    record: stored(input({ state: 'PAUSED' })),
    says: [/the endpoint was PAUSED/, /Nothing changes this round: endpoint is PAUSED: no changes\./, /Clamp: 34\.\.∞ lies wholly above/],
    never: [/^Target/m],
  },
  {
    kind: 'stopped',
    record: stored(input({ state: 'STOPPED', instances: running(2) })),
    says: [/Target 0: the endpoint is STOPPED, every instance goes\./, /No ramp limit applies to this round: all 2 changes at once \(→ 0\)\./],
  },
];

describe('explainDecision', () => {
  for (const c of cases) {
    it(`should explain a ${c.kind} decision`, () => {
      const text = explain(c.record);
      for (const pattern of c.says) assert.match(text, pattern);
      for (const pattern of c.never ?? []) assert.doesNotMatch(text, pattern);
      assert.match(text, new RegExp(`\\nIn one line: ${c.record.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    });
  }

  it('should explain as far as it can a record stored before typed fields existed', () => {
    const text = explainDecision(decisionView({ target: 2, summary: 'old' }), { id: 'old-1', endpoint: 'pyex', at: NOW });
    assert.match(text, /Inputs: not recorded; 0 instances were serving or starting\./);
    assert.match(text, /In one line: old$/);
  });
});
