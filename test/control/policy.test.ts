// The controller's scaling policy as tables: evaluation and trigger rounds, STOPPED, PAUSED, draining and recommissioning.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointConfig } from '../../src/config/index.js';
import { ScalingPolicy, toEndpointPlan, type SampleView } from '../../src/control/policy.js';
import type { RoundInput } from '../../src/control/plan.js';
import type { RoundMode } from '../../src/model/decision.js';
import type { EndpointState, InstanceRecord, InstanceStatus } from '../../src/store/types.js';

const T0 = Date.UTC(2026, 0, 1);
const NOW = new Date(T0 + 600_000);

function config({ min = 1, max = 5, rules = '', ramp = 5, drain = 60 } = {}) {
  return parseEndpointConfig(`[endpoint]
url=http://web.test
port=5000
decommissioned_timeout=${drain}
[scaling]
min_instances=${min}
max_instances=${max}
rules=${rules}
ramp_limit=${ramp}
[cloud:docker]
image=x
`);
}

/** An instance record; `minute` orders creation, `decommissioned` is minutes before NOW. */
function inst(id: string, status: InstanceStatus, { minute = 0, decommissioned }: { minute?: number; decommissioned?: number } = {}): InstanceRecord {
  return {
    id,
    endpoint: 'web',
    managerId: 'm',
    containerId: `c-${id}`,
    address: `127.0.0.1:${1000 + id.charCodeAt(0)}`,
    status,
    slots: 1,
    reason: null,
    decommissionedAt: decommissioned === undefined ? null : new Date(NOW.getTime() - decommissioned * 60_000),
    createdAt: new Date(T0 + minute * 60_000),
    updatedAt: new Date(T0),
    term: 0,
  };
}

function input(
  state: EndpointState | null,
  instances: InstanceRecord[],
  { mode = 'trigger' as RoundMode, cfg = config() } = {},
): RoundInput {
  return { endpoint: 'web', state, config: state === null ? null : cfg, instances, mode, cause: mode === 'trigger' ? 'TEST' : '', now: NOW };
}

/** A policy whose sample and connection counts the test sets. */
function policy(sample: SampleView | null = null, active: Record<string, number> = {}) {
  const byAddress = new Map(Object.entries(active).map(([id, n]) => [`127.0.0.1:${1000 + id.charCodeAt(0)}`, n]));
  return new ScalingPolicy({ sample: () => sample, active: () => byAddress });
}

describe('ScalingPolicy: trigger rounds', () => {
  const cases: {
    name: string;
    state: EndpointState | null;
    instances: InstanceRecord[];
    cfg?: ReturnType<typeof config>;
    active?: Record<string, number>;
    launch?: number;
    remove?: string[];
    decommission?: string[];
    recommission?: string[];
  }[] = [
    { name: 'a start launches min_instances at once', state: 'RUNNING', instances: [], cfg: config({ min: 3, ramp: 1 }), launch: 3 },
    { name: 'pending and starting count as current', state: 'RUNNING', instances: [inst('a', 'PENDING'), inst('b', 'STARTING')], cfg: config({ min: 2 }) },
    {
      name: 'lost and errored records go, and are replaced',
      state: 'RUNNING',
      instances: [inst('a', 'RUNNING'), inst('b', 'LOST'), inst('c', 'ERROR')],
      cfg: config({ min: 2 }),
      launch: 1,
      remove: ['b', 'c'],
    },
    {
      name: 'a lowered maximum decommissions the least active first',
      state: 'RUNNING',
      instances: [inst('a', 'RUNNING'), inst('b', 'RUNNING'), inst('c', 'RUNNING')],
      cfg: config({ min: 1, max: 1 }),
      active: { a: 3, b: 0, c: 1 },
      decommission: ['b', 'c'],
    },
    {
      name: 'a decommissioned instance comes back before any launch',
      state: 'RUNNING',
      instances: [inst('a', 'DECOMMISSIONED', { decommissioned: 0.1 }), inst('b', 'LOST')],
      cfg: config({ min: 1 }),
      active: { a: 1 },
      remove: ['b'],
      recommission: ['a'],
    },
    {
      name: 'STOPPED removes idle instances at once and drains busy ones',
      state: 'STOPPED',
      instances: [inst('a', 'RUNNING'), inst('b', 'RUNNING'), inst('c', 'PENDING'), inst('d', 'STARTING')],
      active: { b: 2 },
      remove: ['c', 'd', 'a'],
      decommission: ['b'],
    },
    {
      name: 'PAUSED changes nothing, not even dead records',
      state: 'PAUSED',
      instances: [inst('a', 'LOST'), inst('b', 'DECOMMISSIONED', { decommissioned: 100 })],
      cfg: config({ min: 3 }),
    },
    { name: 'not managed removes everything', state: null, instances: [inst('a', 'RUNNING'), inst('b', 'PENDING')], remove: ['a', 'b'] },
  ];
  for (const c of cases) {
    it(`should plan: ${c.name}`, async () => {
      const plan = await policy(null, c.active).plan(input(c.state, c.instances, { cfg: c.cfg }));
      assert.equal(plan.launch, c.launch ?? 0, 'launch');
      assert.deepEqual(plan.remove.sort(), (c.remove ?? []).sort(), 'remove');
      assert.deepEqual(plan.decommission.sort(), (c.decommission ?? []).sort(), 'decommission');
      assert.deepEqual(plan.recommission, c.recommission ?? [], 'recommission');
      assert.ok(plan.why.length > 0);
    });
  }

  it('should hold the count the last evaluation set, and replace a lost instance up to it', async () => {
    const p = policy({ instances: 1, metrics: { rate: 3.5 } });
    const cfg = config({ rules: '0 < rate < 1', min: 1, max: 5 });
    const evaluated = await p.plan(input('RUNNING', [inst('a', 'RUNNING')], { mode: 'evaluate', cfg }));
    assert.equal(evaluated.launch, 3, 'rate 3.5 over 1 instance needs 4');
    assert.equal(p.heldCount('web'), 4);
    // One of the four is lost before the next evaluation: a trigger round replaces it, without asking the rules again.
    const healed = await p.plan(
      input('RUNNING', [inst('a', 'RUNNING'), inst('b', 'RUNNING'), inst('c', 'RUNNING'), inst('d', 'LOST')], { cfg }),
    );
    assert.equal(healed.launch, 1);
    assert.deepEqual(healed.remove, ['d']);
    assert.equal(healed.decision?.round, 'trigger');
    assert.match(healed.decision!.summary, /^TEST: holding 4 from the last evaluation; launching 1; deleting 1/);
  });

  it('should not spend the ramp limit twice between evaluations', async () => {
    const p = policy({ instances: 1, metrics: { rate: 20 } });
    const cfg = config({ rules: '0 < rate < 1', min: 1, max: 10, ramp: 2 });
    const evaluated = await p.plan(input('RUNNING', [inst('a', 'RUNNING')], { mode: 'evaluate', cfg }));
    assert.equal(evaluated.launch, 2);
    assert.equal(evaluated.decision!.rampCut, 7);
    const triggered = await p.plan(input('RUNNING', [inst('a', 'RUNNING'), inst('b', 'STARTING'), inst('c', 'STARTING')], { cfg }));
    assert.equal(triggered.launch, 0, 'a trigger round holds the 3 the evaluation reached');
  });
});

describe('ScalingPolicy: evaluation rounds', () => {
  it('should scale an idle endpoint back to min_instances, the least active first', async () => {
    const cfg = config({ rules: '0 < rate < 1', min: 1 });
    const p = policy({ instances: 3, metrics: { rate: 0, active: 0.3 } }, { a: 1, b: 0, c: 0 });
    const plan = await p.plan(input('RUNNING', [inst('a', 'RUNNING', { minute: 1 }), inst('b', 'RUNNING', { minute: 2 }), inst('c', 'RUNNING', { minute: 3 })], { mode: 'evaluate', cfg }));
    assert.deepEqual(plan.decommission.sort(), ['b', 'c']);
    assert.equal(plan.decision!.target, 1);
    assert.equal(plan.decision!.round, 'evaluate');
  });

  it('should delete a decommissioned instance once drained or when decommissioned_timeout passed, not before', async () => {
    const cfg = config({ drain: 60 });
    const p = policy({ instances: 1, metrics: {} }, { b: 2, c: 1 });
    const plan = await p.plan(
      input(
        'RUNNING',
        [
          inst('a', 'RUNNING'),
          inst('b', 'DECOMMISSIONED', { decommissioned: 0.5 }), // busy, 30 s in: keeps draining
          inst('c', 'DECOMMISSIONED', { decommissioned: 2 }), // busy, but 120 s > 60 s
          inst('d', 'DECOMMISSIONED', { decommissioned: 0.1 }), // idle: drained
        ],
        { mode: 'evaluate', cfg },
      ),
    );
    assert.deepEqual(plan.remove.sort(), ['c', 'd']);
    assert.deepEqual(plan.decommission, []);
  });

  it('should keep a decommissioned instance while the readings do not know it drained, in either kind of round', async () => {
    // In a cluster a draining address is NaN until every host reported an interval after it left them (src/metrics/draining.ts).
    const asked: ReadonlyMap<string, number>[] = [];
    const p = new ScalingPolicy({
      sample: () => ({ instances: 1, metrics: {} }),
      active: (_mode, draining) => {
        asked.push(draining);
        return new Map([...draining.keys()].map((address) => [address, NaN]));
      },
    });
    const b = inst('b', 'DECOMMISSIONED', { decommissioned: 0.1 });
    for (const mode of ['evaluate', 'trigger'] as const) {
      const plan = await p.plan(input('RUNNING', [inst('a', 'RUNNING'), b], { mode }));
      assert.deepEqual(plan.remove, [], mode);
    }
    assert.deepEqual(asked.map((d) => [...d]), [[[b.address, b.decommissionedAt!.getTime()]], [[b.address, b.decommissionedAt!.getTime()]]]);
  });

  it('should recommission when the target rises again, before launching', async () => {
    const cfg = config({ rules: '0 < rate < 1', min: 1, max: 5 });
    const p = policy({ instances: 1, metrics: { rate: 2.5 } }, { b: 1 });
    const plan = await p.plan(input('RUNNING', [inst('a', 'RUNNING'), inst('b', 'DECOMMISSIONED', { decommissioned: 0.2 })], { mode: 'evaluate', cfg }));
    assert.deepEqual(plan.recommission, ['b']);
    assert.equal(plan.launch, 1, 'needs 3..∞ → clamped to 3..5 → target 3 (no upper bound: the fewest): one back, one new');
  });

  it('should change nothing while PAUSED, whatever the rules say', async () => {
    const cfg = config({ rules: '0 < rate < 1', min: 1, max: 5 });
    const p = policy({ instances: 1, metrics: { rate: 50 } });
    const plan = await p.plan(input('PAUSED', [inst('a', 'RUNNING'), inst('b', 'LOST')], { mode: 'evaluate', cfg }));
    assert.deepEqual([plan.launch, plan.remove, plan.decommission, plan.recommission], [0, [], [], []]);
    assert.match(plan.decision!.summary, /^paused, no changes/);
  });
});

describe('ScalingPolicy: burst and held rounds', () => {
  it('should scale up at once with the host\'s short-window reading, recording a burst', async () => {
    const cfg = config({ rules: '0 < rate < 5', min: 1, max: 4 });
    const p = policy({ instances: 1, metrics: { rate: 0 } });
    const plan = await p.plan({ ...input('RUNNING', [inst('a', 'RUNNING')], { mode: 'evaluate', cfg }), startedBy: 'burst', surge: { instances: 1, metrics: { rate: 12 } } });
    assert.equal(plan.launch, 2, '12/s needs 3..∞ → target 3');
    assert.equal(plan.decision!.startedBy, 'burst');
    assert.equal(plan.decision!.inputs.minInstances, 1);
    assert.match(plan.decision!.summary, /^burst: /);
    assert.equal(p.heldCount('web'), 3);
  });

  it('should never scale down in a burst round: that waits for the interval', async () => {
    const cfg = config({ rules: '0 < rate < 5', min: 1, max: 4 });
    const p = policy(null);
    const plan = await p.plan({ ...input('RUNNING', [inst('a', 'RUNNING'), inst('b', 'RUNNING'), inst('c', 'RUNNING')], { mode: 'evaluate', cfg }), startedBy: 'burst', surge: { instances: 3, metrics: { rate: 0 } } });
    assert.deepEqual([plan.launch, plan.decommission, plan.remove], [0, [], []]);
    assert.equal(plan.decision!.target, 3);
  });

  it('should launch the first instance for a held request at 0 instances', async () => {
    const cfg = config({ rules: '0 < rate < 5', min: 0, max: 4 });
    const p = policy(null);
    const plan = await p.plan({ ...input('RUNNING', [], { mode: 'evaluate', cfg }), startedBy: 'held', surge: { instances: 0, metrics: { rate: 0, held: 1 } } });
    assert.equal(plan.launch, 1);
    assert.equal(plan.decision!.startedBy, 'held');
  });

  it('should say the interval or a change started the other rounds', async () => {
    const cfg = config({ rules: '0 < rate < 5' });
    const p = policy({ instances: 1, metrics: { rate: 0 } });
    assert.equal((await p.plan(input('RUNNING', [inst('a', 'RUNNING')], { mode: 'evaluate', cfg }))).decision!.startedBy, 'interval');
    assert.equal((await p.plan(input('RUNNING', [inst('a', 'RUNNING')], { cfg }))).decision!.startedBy, 'change');
  });
});

describe('toEndpointPlan', () => {
  it('should remove what never served and decommission what did', () => {
    const views = [
      { id: 'p', status: 'PENDING' as const, active: 0, createdAt: NOW, decommissionedAt: null },
      { id: 's', status: 'STARTING' as const, active: 0, createdAt: NOW, decommissionedAt: null },
      { id: 'r', status: 'RUNNING' as const, active: 0, createdAt: NOW, decommissionedAt: null },
    ];
    const plan = toEndpointPlan(
      [
        { kind: 'cancel', direction: 'down', instanceId: 'p', count: 1, reason: '' },
        { kind: 'decommission', direction: 'down', instanceId: 's', count: 1, reason: '' },
        { kind: 'decommission', direction: 'down', instanceId: 'r', count: 1, reason: '' },
        { kind: 'launch', direction: 'up', instanceId: null, count: 2, reason: '' },
      ],
      views,
      { stopped: false, why: 'test' },
    );
    const { reasons, ...rest } = plan;
    assert.deepEqual(rest, { launch: 2, remove: ['p', 's'], decommission: ['r'], recommission: [], why: 'test', removedAtOnce: ['s'] });
    assert.deepEqual(Object.keys(reasons!).sort(), ['p', 'r', 's']);
  });
});
