// Tests for decisionView(): a stored decision record read into ScalingDecision's typed fields, for planned-only, applied, trigger, unbounded and old records.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppliedAction, RoundDecision } from '../../src/model/decision.js';
import { decide } from '../../src/scaling/index.js';
import { decisionView, type DecisionActionView, type DecisionView } from '../../src/server/decision-view.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const UNTIL = '2026-03-01T12:00:30.000Z';

/** A real evaluation by the engine: the seed walkthrough (rate 33/instance over 1, rule 0 < rate < 1) launching 4. */
function evaluation(over: Partial<RoundDecision> = {}): RoundDecision {
  const engine = decide(
    {
      endpoint: 'pyex',
      state: 'RUNNING',
      scaling: { minInstances: 1, maxInstances: 5, rules: '0 < rate < 1, instances <= 5', rampLimit: 5 },
      decommissionedTimeout: 60,
      sample: { instances: 1, metrics: { rate: 33.01 } },
      instances: [{ id: 'i1', status: 'RUNNING', active: 0, createdAt: NOW, decommissionedAt: null }],
    },
    NOW,
  );
  // Through JSON, as the store keeps it.
  return JSON.parse(JSON.stringify({ ...engine, round: 'evaluate', cause: '', ...over })) as RoundDecision;
}

/** A trigger round as the controller records it: the held count, no rules, no ramp limit. */
const trigger: RoundDecision = {
  endpoint: 'pyex',
  at: NOW.toISOString(),
  state: 'RUNNING',
  inputs: { metrics: {}, reported: null, current: 2, minInstances: 1, maxInstances: 5, rampLimit: 5, decommissionedTimeout: 60, rules: 'rate < 10' },
  current: 2,
  rules: [],
  ideal: { min: 3, max: 3 },
  clamped: { min: 3, max: 3 },
  conflict: false,
  target: 3,
  after: 3,
  rampLimit: null,
  rampCut: 0,
  rampLimited: false,
  actions: [{ kind: 'launch', direction: 'up', instanceId: null, count: 1, reason: 'target 3 > current 2' }],
  held: null,
  notes: ['round triggered by container die: rules not evaluated until the next interval'],
  summary: 'container die: holding 3 from the last evaluation; launching 1',
  round: 'trigger',
  cause: 'container die',
};

const applied = (over: Partial<AppliedAction>): AppliedAction => ({
  kind: 'launch',
  direction: 'up',
  instanceId: null,
  managerId: null,
  outcome: 'done',
  reason: 'target 5 > current 1',
  until: null,
  ...over,
});

const action = (over: Partial<DecisionActionView>): DecisionActionView => ({
  kind: 'LAUNCH',
  direction: 'UP',
  count: 1,
  instance: null,
  manager: null,
  outcome: 'DONE',
  reason: 'target 5 > current 1',
  until: null,
  ...over,
});

interface Case {
  name: string;
  record: Record<string, unknown>;
  expect: Partial<DecisionView>;
}

const cases: Case[] = [
  {
    name: 'a planned-only evaluation: rules with the per-instance value, an unbounded rule max, one planned launch of 4 taken as done',
    record: evaluation() as unknown as Record<string, unknown>,
    expect: {
      round: 'EVALUATE',
      cause: '',
      state: 'RUNNING',
      current: 1,
      rules: [
        { rule: '0 < rate < 1', metric: 'rate', value: 33.01, total: 33.01, min: 34, max: null, noData: false },
        { rule: 'instances <= 5', metric: 'instances', value: null, total: null, min: 0, max: 5, noData: false },
      ],
      clamped: { min: 5, max: 5 },
      conflict: false,
      target: 5,
      after: 5,
      rampLimit: 5,
      rampCut: 0,
      held: null,
      notes: [],
      actions: [action({ count: 4 })],
    },
  },
  {
    name: 'an applied evaluation: one action per instance with its manager and outcome, the plan ignored',
    record: evaluation({
      applied: [
        applied({ instanceId: 'i2', managerId: 'm1' }),
        applied({ instanceId: 'i3', managerId: null, outcome: 'no-room', reason: 'target 5 > current 1; no room: m1: 0 of 10 slots free' }),
        applied({ instanceId: null, outcome: 'deferred', reason: 'target 5 > current 1; launch backoff', until: UNTIL }),
        applied({ kind: 'decommission', direction: 'down', instanceId: 'i4', managerId: 'm1', outcome: 'removed', reason: 'nothing to drain' }),
        applied({ kind: 'cancel', direction: 'down', instanceId: 'i5', outcome: 'skipped', reason: 'already gone' }),
        applied({ kind: 'delete', direction: 'cleanup', instanceId: 'i6', managerId: 'm2', reason: 'drained' }),
      ],
    }) as unknown as Record<string, unknown>,
    expect: {
      actions: [
        action({ instance: 'i2', manager: 'm1' }),
        action({ instance: 'i3', outcome: 'NO_ROOM', reason: 'target 5 > current 1; no room: m1: 0 of 10 slots free' }),
        action({ outcome: 'DEFERRED', reason: 'target 5 > current 1; launch backoff', until: new Date(UNTIL) }),
        action({ kind: 'DECOMMISSION', direction: 'DOWN', instance: 'i4', manager: 'm1', outcome: 'REMOVED', reason: 'nothing to drain' }),
        action({ kind: 'CANCEL', direction: 'DOWN', instance: 'i5', outcome: 'SKIPPED', reason: 'already gone' }),
        action({ kind: 'DELETE', direction: 'CLEANUP', instance: 'i6', manager: 'm2', reason: 'drained' }),
      ],
    },
  },
  {
    name: 'an applied record with nothing applied: no actions, although some were planned',
    record: evaluation({ applied: [] }) as unknown as Record<string, unknown>,
    expect: { actions: [] },
  },
  {
    name: 'a trigger round: its cause, no rules, no ramp limit, the planned recommission',
    record: {
      ...trigger,
      actions: [{ kind: 'recommission', direction: 'up', instanceId: 'i7', count: 1, reason: 'target 3 > current 2' }],
    },
    expect: {
      round: 'TRIGGER',
      cause: 'container die',
      rules: [],
      ideal: { min: 3, max: 3 },
      rampLimit: null,
      notes: ['round triggered by container die: rules not evaluated until the next interval'],
      actions: [action({ kind: 'RECOMMISSION', instance: 'i7', reason: 'target 3 > current 2' })],
    },
  },
  {
    name: 'an unbounded ideal range: max null',
    record: { ...trigger, ideal: { min: 34, max: null } },
    expect: { ideal: { min: 34, max: null } },
  },
  {
    name: 'a paused evaluation: held, with the reason',
    record: evaluation({ state: 'PAUSED', held: 'endpoint is PAUSED: no changes', actions: [], after: 1 }) as unknown as Record<string, unknown>,
    expect: { state: 'PAUSED', held: 'endpoint is PAUSED: no changes', after: 1, actions: [] },
  },
  {
    name: 'an old record without round, cause, applied, state or inputs: an evaluation, its planned actions as done',
    record: {
      current: 1,
      target: 2,
      after: 2,
      summary: 'old',
      rules: [{ rule: 'rate < 10', metric: 'rate', average: 12, total: 12, min: 2, max: null }],
      actions: [{ kind: 'launch', instanceId: null, count: 1, reason: 'target 2 > current 1' }],
    },
    expect: {
      round: 'EVALUATE',
      cause: '',
      state: null,
      inputs: null,
      current: 1,
      rules: [{ rule: 'rate < 10', metric: 'rate', value: 12, total: 12, min: 2, max: null, noData: false }],
      ideal: { min: 1, max: 1 },
      clamped: { min: 1, max: 1 },
      conflict: false,
      target: 2,
      after: 2,
      rampLimit: null,
      rampCut: 0,
      held: null,
      notes: [],
      actions: [action({ reason: 'target 2 > current 1' })],
      summary: 'old',
    },
  },
  {
    name: 'an empty record: the hold of nothing, no rules, no actions',
    record: {},
    expect: {
      round: 'EVALUATE',
      state: null,
      inputs: null,
      current: 0,
      rules: [],
      ideal: { min: 0, max: 0 },
      clamped: { min: 0, max: 0 },
      target: 0,
      after: 0,
      notes: [],
      actions: [],
      summary: '',
    },
  },
  {
    name: 'malformed parts: unreadable actions and rules left out, a bad until as null, non-finite metrics dropped',
    record: {
      ...trigger,
      inputs: { ...trigger.inputs, metrics: { rate: 1.5, bad: 'x' }, reported: 'two' },
      rules: [{ metric: 'rate' }, { rule: 'rate < 10', metric: 'rate', average: 'x', min: 1.5, max: 'y' }],
      notes: ['kept', 7],
      applied: [
        { kind: 'explode', outcome: 'done' },
        { kind: 'launch', outcome: 'maybe' },
        { kind: 'launch', outcome: 'deferred', instanceId: '', reason: 'launch backoff', until: 'soon' },
      ],
    },
    expect: {
      inputs: { ...trigger.inputs, metrics: { rate: 1.5 }, reported: null },
      rules: [{ rule: 'rate < 10', metric: 'rate', value: null, total: null, min: 0, max: null, noData: false }],
      notes: ['kept'],
      actions: [action({ outcome: 'DEFERRED', reason: 'launch backoff' })],
    },
  },
];

describe('decisionView', () => {
  for (const c of cases) {
    it(`should read ${c.name}`, () => {
      const view = decisionView(c.record);
      const picked = Object.fromEntries(Object.keys(c.expect).map((key) => [key, view[key as keyof DecisionView]]));
      assert.deepEqual(picked, c.expect);
    });
  }

  it('should carry the inputs as the engine recorded them', () => {
    const record = evaluation();
    assert.deepEqual(decisionView(record).inputs, record.inputs);
  });

  it('should agree with the record on every count, range and rule bound of a real evaluation', () => {
    const record = evaluation({ applied: [applied({ instanceId: 'i2', managerId: 'm1' })] });
    const view = decisionView(record);
    for (const key of ['current', 'target', 'after', 'conflict', 'rampLimit', 'rampCut', 'held', 'notes', 'summary', 'ideal', 'clamped'] as const) {
      assert.deepEqual(view[key], record[key], key);
    }
    assert.deepEqual(
      view.rules.map((r) => [r.rule, r.metric, r.value, r.total, r.min, r.max]),
      record.rules.map((r) => [r.rule, r.metric, r.average, r.total, r.min, r.max]),
    );
  });
});
