// Tests for the round plan: launch/recommission/decommission order, cleanup of drained and failed instances, the ramp limit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planRound, type InstanceView, type PlanInput } from '../../src/scaling/index.js';
import type { InstanceStatus } from '../../src/store/types.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);

function inst(id: string, status: InstanceStatus, active = 0, extra: Partial<InstanceView> = {}): InstanceView {
  return { id, status, active, createdAt: ago(3600), decommissionedAt: status === 'DECOMMISSIONED' ? ago(10) : null, ...extra };
}

const plan = (target: number, instances: InstanceView[], rampLimit: number | null = 5, decommissionedTimeout = 60) =>
  planRound({ target, instances, rampLimit, decommissionedTimeout, now: NOW } satisfies PlanInput);

/** The plan as short strings: `launch×3`, `decommission:b`, `delete:x`. */
const brief = (p: ReturnType<typeof planRound>) =>
  p.actions.map((a) => (a.instanceId === null ? `${a.kind}×${a.count}` : `${a.kind}:${a.instanceId}`));

describe('planRound', () => {
  const cases: { name: string; target: number; instances: InstanceView[]; rampLimit?: number | null; want: string[]; after: number; cut: number }[] = [
    { name: 'seed: 0 instances, target 5 → launch 5', target: 5, instances: [], want: ['launch×5'], after: 5, cut: 0 },
    { name: 'at target → nothing', target: 2, instances: [inst('a', 'RUNNING'), inst('b', 'STARTING')], want: [], after: 2, cut: 0 },
    {
      name: 'PENDING counts as current (asked for, not yet placed): no second launch',
      target: 2,
      instances: [inst('a', 'RUNNING'), inst('p', 'PENDING')],
      want: [],
      after: 2,
      cut: 0,
    },
    {
      name: 'recommission decommissioned ones first, newest decommission first, then launch',
      target: 4,
      instances: [inst('a', 'RUNNING', 3), inst('d1', 'DECOMMISSIONED', 1, { decommissionedAt: ago(50) }), inst('d2', 'DECOMMISSIONED', 2, { decommissionedAt: ago(5) })],
      want: ['recommission:d2', 'recommission:d1', 'launch×1'],
      after: 4,
      cut: 0,
    },
    {
      name: 'recommission a drained one rather than delete it and launch',
      target: 2,
      instances: [inst('a', 'RUNNING'), inst('d', 'DECOMMISSIONED', 0)],
      want: ['recommission:d'],
      after: 2,
      cut: 0,
    },
    {
      name: 'ramp limit cuts launches: 1 → 12 with limit 5 launches 5, cut 6',
      target: 12,
      instances: [inst('a', 'RUNNING')],
      want: ['launch×5'],
      after: 6,
      cut: 6,
    },
    {
      name: 'ramp limit counts recommissions too: 2 recommissions + 3 launches',
      target: 12,
      instances: [inst('a', 'RUNNING'), inst('d1', 'DECOMMISSIONED', 4), inst('d2', 'DECOMMISSIONED', 4, { decommissionedAt: ago(1) })],
      want: ['recommission:d2', 'recommission:d1', 'launch×3'],
      after: 6,
      cut: 6,
    },
    {
      name: 'scale down least active first',
      target: 2,
      instances: [inst('a', 'RUNNING', 9), inst('b', 'RUNNING', 1), inst('c', 'RUNNING', 4), inst('d', 'RUNNING', 0)],
      want: ['decommission:d', 'decommission:b'],
      after: 2,
      cut: 0,
    },
    {
      name: 'scale down: cancel pending, then starting, then the least active running',
      target: 1,
      instances: [inst('r1', 'RUNNING', 2), inst('r2', 'RUNNING', 1), inst('s', 'STARTING', 0), inst('p', 'PENDING', 0)],
      want: ['cancel:p', 'decommission:s', 'decommission:r2'],
      after: 1,
      cut: 0,
    },
    {
      name: 'scale down ties: the newest instance goes first',
      target: 1,
      instances: [inst('old', 'RUNNING', 0, { createdAt: ago(900) }), inst('new', 'RUNNING', 0, { createdAt: ago(60) })],
      want: ['decommission:new'],
      after: 1,
      cut: 0,
    },
    {
      name: 'ramp limit cuts decommissions: 10 → 1 with limit 3',
      target: 1,
      instances: Array.from({ length: 10 }, (_, i) => inst(`r${i}`, 'RUNNING', i)),
      rampLimit: 3,
      want: ['decommission:r0', 'decommission:r1', 'decommission:r2'],
      after: 7,
      cut: 6,
    },
    {
      name: 'ramp limit 0 holds everything',
      target: 3,
      instances: [inst('a', 'RUNNING')],
      rampLimit: 0,
      want: [],
      after: 1,
      cut: 2,
    },
    {
      name: 'no ramp limit (STOPPED): all go at once',
      target: 0,
      instances: Array.from({ length: 8 }, (_, i) => inst(`r${i}`, 'RUNNING', 0)),
      rampLimit: null,
      want: Array.from({ length: 8 }, (_, i) => `decommission:r${7 - i}`).sort(),
      after: 0,
      cut: 0,
    },
    {
      name: 'cleanup: drained deleted, busy kept until timeout, timed-out deleted',
      target: 1,
      instances: [
        inst('a', 'RUNNING', 1),
        inst('drained', 'DECOMMISSIONED', 0, { decommissionedAt: ago(5) }),
        inst('busy', 'DECOMMISSIONED', 3, { decommissionedAt: ago(59) }),
        inst('expired', 'DECOMMISSIONED', 3, { decommissionedAt: ago(60) }),
      ],
      want: ['delete:drained', 'delete:expired'],
      after: 1,
      cut: 0,
    },
    {
      name: 'ERROR and LOST are not current: deleted and replaced by launches',
      target: 3,
      instances: [inst('a', 'RUNNING'), inst('e', 'ERROR', 2), inst('l', 'LOST')],
      want: ['launch×2', 'delete:e', 'delete:l'],
      after: 3,
      cut: 0,
    },
    {
      name: 'cleanup is not a scaling action: it happens even with ramp limit 0',
      target: 1,
      instances: [inst('a', 'RUNNING'), inst('e', 'ERROR'), inst('d', 'DECOMMISSIONED', 0)],
      rampLimit: 0,
      want: ['delete:e', 'delete:d'],
      after: 1,
      cut: 0,
    },
    {
      name: 'a DECOMMISSIONED instance with no decommission time counts as just decommissioned',
      target: 1,
      instances: [inst('a', 'RUNNING'), inst('d', 'DECOMMISSIONED', 5, { decommissionedAt: null })],
      want: [],
      after: 1,
      cut: 0,
    },
  ];
  for (const c of cases) {
    it(`should plan ${c.name}`, () => {
      const got = plan(c.target, c.instances, c.rampLimit === undefined ? 5 : c.rampLimit);
      const actions = brief(got);
      assert.deepEqual(c.rampLimit === null ? actions.sort() : actions, c.want);
      assert.equal(got.after, c.after);
      assert.equal(got.rampCut, c.cut);
    });
  }

  it('should give every action a direction and a reason', () => {
    const got = plan(3, [inst('a', 'RUNNING'), inst('d', 'DECOMMISSIONED', 2), inst('e', 'ERROR')]);
    assert.deepEqual(
      got.actions.map((a) => [a.kind, a.direction]),
      [['recommission', 'up'], ['launch', 'up'], ['delete', 'cleanup']],
    );
    for (const a of got.actions) assert.ok(a.reason.length > 10, a.reason);
  });
});

// Arbitrary endpoints: a mix of every status, activity and age.
const arbInstances = fc
  .array(
    fc.record({
      status: fc.constantFrom<InstanceStatus>('PENDING', 'STARTING', 'RUNNING', 'DECOMMISSIONED', 'ERROR', 'LOST'),
      active: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }), fc.constant(Number.NaN)),
      age: fc.integer({ min: 0, max: 7200 }),
      decommissionedAgo: fc.option(fc.integer({ min: 0, max: 300 })),
    }),
    { maxLength: 40 },
  )
  .map((xs) =>
    xs.map(
      (x, i): InstanceView => ({
        id: `i${i}`,
        status: x.status,
        active: x.active,
        createdAt: ago(x.age),
        decommissionedAt: x.status === 'DECOMMISSIONED' && x.decommissionedAgo !== null ? ago(x.decommissionedAgo) : null,
      }),
    ),
  );

describe('plan properties', () => {
  it('should never take more than ramp_limit launches + recommissions + decommissions in one round', () => {
    fc.assert(
      fc.property(arbInstances, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 10 }), (instances, target, rampLimit) => {
        const got = plan(target, instances, rampLimit);
        const scaling = got.actions.filter((a) => a.direction !== 'cleanup').reduce((n, a) => n + a.count, 0);
        assert.ok(scaling <= rampLimit, `${scaling} > ${rampLimit}`);
        assert.equal(scaling, got.launches + got.recommissions + got.decommissions);
        // it moves towards the target and never past it
        const current = instances.filter((i) => ['RUNNING', 'STARTING', 'PENDING'].includes(i.status)).length;
        assert.equal(got.current, current);
        assert.equal(Math.abs(target - got.after) + scaling, Math.abs(target - current));
        assert.equal(got.rampCut, Math.abs(target - got.after));
      }),
      { numRuns: 2000 },
    );
  });

  it('should never delete an instance that still has active connections before its decommissioned_timeout', () => {
    fc.assert(
      fc.property(arbInstances, fc.integer({ min: 0, max: 60 }), fc.option(fc.integer({ min: 0, max: 10 })), fc.integer({ min: 1, max: 240 }), (instances, target, rampLimit, timeout) => {
        const got = plan(target, instances, rampLimit, timeout);
        const byId = new Map(instances.map((i) => [i.id, i]));
        for (const action of got.actions) {
          if (action.kind !== 'delete') continue;
          const instance = byId.get(action.instanceId!)!;
          if (instance.status === 'ERROR' || instance.status === 'LOST') continue; // failed: removed whatever they report
          assert.equal(instance.status, 'DECOMMISSIONED');
          const drained = instance.active === 0;
          const expired = instance.decommissionedAt !== null && NOW.getTime() - instance.decommissionedAt.getTime() >= timeout * 1000;
          assert.ok(drained || expired, `deleted ${instance.id} with ${instance.active} active, decommissioned ${instance.decommissionedAt?.toISOString()}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('should act on each instance at most once per round, and never remove ERROR/LOST through scaling', () => {
    fc.assert(
      fc.property(arbInstances, fc.integer({ min: 0, max: 60 }), (instances, target) => {
        const got = plan(target, instances, null);
        const ids = got.actions.filter((a) => a.instanceId !== null).map((a) => a.instanceId);
        assert.equal(new Set(ids).size, ids.length);
        const byId = new Map(instances.map((i) => [i.id, i]));
        for (const a of got.actions) {
          if (a.kind === 'decommission') assert.ok(['RUNNING', 'STARTING'].includes(byId.get(a.instanceId!)!.status));
          if (a.kind === 'cancel') assert.equal(byId.get(a.instanceId!)!.status, 'PENDING');
          if (a.kind === 'recommission') assert.equal(byId.get(a.instanceId!)!.status, 'DECOMMISSIONED');
        }
      }),
    );
  });

  it('should remove the same instances first whether the ramp limit cuts the round or not (selection = sort order)', () => {
    fc.assert(
      fc.property(arbInstances, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 40 }), (instances, target, rampLimit) => {
        const ids = (p: ReturnType<typeof planRound>) => p.actions.filter((a) => a.direction === 'down').map((a) => a.instanceId);
        const all = ids(plan(target, instances, null));
        assert.deepEqual(ids(plan(target, instances, rampLimit)), all.slice(0, rampLimit));
      }),
      { numRuns: 1000 },
    );
  });
});
