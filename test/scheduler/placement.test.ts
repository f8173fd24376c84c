// The pure slot scheduler: tables of named placements and skips, and property tests for its invariants.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planPlacements, type ManagerView, type PlacementRequest } from '../../src/scheduler/placement.js';

const manager = (id: string, slots: number, usedSlots = 0, extra: Partial<ManagerView> = {}): ManagerView => ({
  id,
  name: id,
  slots,
  usedSlots,
  problems: [],
  ...extra,
});
const requests = (count: number, slots: number, prefix = 'i'): PlacementRequest[] =>
  Array.from({ length: count }, (_, n) => ({ instanceId: `${prefix}${n + 1}`, endpoint: 'web', slots }));

describe('planPlacements', () => {
  const cases: {
    name: string;
    managers: ManagerView[];
    requests: PlacementRequest[];
    placed: [string, string][];
    pending?: { instanceId: string; reason: RegExp; codes: string[] }[];
  }[] = [
    {
      name: 'should place two of three 10-slot instances on 25 slots and keep the third pending',
      managers: [manager('a', 25)],
      requests: requests(3, 10),
      placed: [
        ['i1', 'a'],
        ['i2', 'a'],
      ],
      pending: [{ instanceId: 'i3', reason: /no manager can take 10 slots: a: needs 10 slots, 5 of 25 free/, codes: ['NOT_ENOUGH_SLOTS'] }],
    },
    {
      name: 'should pick the least relative use after placement, not the most free slots',
      // a would be at 20/25 = 80 %, b at 60/100 = 60 %.
      managers: [manager('a', 25, 10), manager('b', 100, 50)],
      requests: requests(1, 10),
      placed: [['i1', 'b']],
    },
    {
      name: 'should spread evenly across equal managers',
      managers: [manager('a', 10), manager('b', 10), manager('c', 10)],
      requests: requests(3, 2),
      placed: [
        ['i1', 'a'],
        ['i2', 'b'],
        ['i3', 'c'],
      ],
    },
    {
      name: 'should break a tie in relative use by more free slots left',
      // both end at 50 %: a 5/10, b 10/20; b has 10 free after, a 5.
      managers: [manager('a', 10, 4), manager('b', 20, 9)],
      requests: requests(1, 1),
      placed: [['i1', 'b']],
    },
    {
      name: 'should break a full tie by name, then id',
      managers: [manager('z', 10, 0, { name: 'beta' }), manager('y', 10, 0, { name: 'alpha' }), manager('x', 10, 0, { name: 'alpha' })],
      requests: requests(1, 1),
      placed: [['i1', 'x']],
    },
    {
      name: 'should skip an unhealthy manager with its problem as the reason',
      managers: [manager('sick', 100, 0, { problems: ['docker: engine not reachable'] }), manager('ok', 10, 9)],
      requests: requests(2, 1),
      placed: [['i1', 'ok']],
      pending: [
        { instanceId: 'i2', reason: /sick: docker: engine not reachable; ok: needs 1 slots, 0 of 10 free/, codes: ['UNHEALTHY', 'NOT_ENOUGH_SLOTS'] },
      ],
    },
    {
      name: 'should skip a manager without slots and one without the cloud',
      managers: [manager('none', 0), manager('nginx-only', 10, 0, { clouds: ['none'] })],
      requests: [{ instanceId: 'i1', endpoint: 'web', slots: 1, cloud: 'docker' }],
      placed: [],
      pending: [{ instanceId: 'i1', reason: /none: offers no slots; nginx-only: does not run docker/, codes: ['NO_SLOTS', 'NO_CLOUD'] }],
    },
    {
      name: 'should keep every request pending when there are no managers',
      managers: [],
      requests: requests(1, 3),
      placed: [],
      pending: [{ instanceId: 'i1', reason: /no manager to place 3 slots on/, codes: [] }],
    },
    {
      name: 'should let a small request use the room a big one could not',
      managers: [manager('a', 12, 0)],
      requests: [...requests(1, 10, 'big'), ...requests(1, 10, 'big2-'), ...requests(1, 2, 'small')],
      placed: [
        ['big1', 'a'],
        ['small1', 'a'],
      ],
      pending: [{ instanceId: 'big2-1', reason: /2 of 12 free/, codes: ['NOT_ENOUGH_SLOTS'] }],
    },
    {
      name: 'should count reported usage above the slots as full',
      managers: [manager('over', 10, 15), manager('b', 10, 0)],
      requests: requests(1, 1),
      placed: [['i1', 'b']],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const plan = planPlacements({ managers: c.managers, requests: c.requests });
      assert.deepEqual(
        plan.placements.map((p) => [p.instanceId, p.managerId]),
        c.placed,
      );
      assert.equal(plan.pending.length, c.pending?.length ?? 0);
      for (const [n, expected] of (c.pending ?? []).entries()) {
        const pending = plan.pending[n]!;
        assert.equal(pending.instanceId, expected.instanceId);
        assert.match(pending.reason, expected.reason);
        assert.deepEqual(
          pending.skipped.map((s) => s.code),
          expected.codes,
        );
      }
    });
  }

  it('should say in each placement why the manager was chosen', () => {
    const plan = planPlacements({ managers: [manager('a', 25)], requests: requests(2, 10) });
    assert.deepEqual(
      plan.placements.map((p) => p.reason),
      ['a: least relative slot use after placement, 10/25 slots', 'a: least relative slot use after placement, 20/25 slots'],
    );
  });

  it('should not change the snapshot it was given', () => {
    const managers = [manager('a', 25, 3)];
    const frozen = structuredClone(managers);
    planPlacements({ managers, requests: requests(2, 10) });
    assert.deepEqual(managers, frozen);
  });
});

const arbitraryManager = fc.record({
  id: fc.uuid(),
  name: fc.constantFrom('alpha', 'beta', 'gamma', 'delta'),
  slots: fc.integer({ min: 0, max: 200 }),
  usedSlots: fc.integer({ min: 0, max: 250 }),
  problems: fc.oneof(fc.constant([] as string[]), fc.constant(['docker: down'])),
});
const arbitrarySnapshot = fc.record({
  managers: fc.uniqueArray(arbitraryManager, { selector: (m) => m.id, maxLength: 12 }),
  requests: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 }).map((sizes) =>
    sizes.map((slots, n) => ({ instanceId: `r${n}`, endpoint: 'web', slots })),
  ),
});

describe('planPlacements properties', () => {
  it('should never over-commit a manager', () => {
    fc.assert(
      fc.property(arbitrarySnapshot, (snapshot) => {
        const plan = planPlacements(snapshot);
        const sizes = new Map(snapshot.requests.map((r) => [r.instanceId, r.slots]));
        for (const m of snapshot.managers) {
          const added = plan.placements.filter((p) => p.managerId === m.id).reduce((sum, p) => sum + sizes.get(p.instanceId)!, 0);
          if (added > 0) {
            assert.ok(m.usedSlots + added <= m.slots, `${m.id}: ${m.usedSlots} + ${added} > ${m.slots}`);
            assert.equal(m.problems.length, 0, 'placed on an unhealthy manager');
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('should place or queue every request exactly once, with a reason per manager when queued', () => {
    fc.assert(
      fc.property(arbitrarySnapshot, (snapshot) => {
        const plan = planPlacements(snapshot);
        const ids = [...plan.placements.map((p) => p.instanceId), ...plan.pending.map((p) => p.instanceId)].sort();
        assert.deepEqual(ids, snapshot.requests.map((r) => r.instanceId).sort());
        for (const pending of plan.pending) assert.equal(pending.skipped.length, snapshot.managers.length);
      }),
      { numRuns: 300 },
    );
  });

  it('should queue a request only when no manager had room for it at its turn', () => {
    fc.assert(
      fc.property(arbitrarySnapshot, (snapshot) => {
        const plan = planPlacements(snapshot);
        const sizes = new Map(snapshot.requests.map((r) => [r.instanceId, r.slots]));
        for (const pending of plan.pending) {
          // Use only grows during a plan: if it fits somewhere at the end, it fitted at its turn and was missed.
          for (const m of snapshot.managers) {
            const used = m.usedSlots + plan.placements.filter((p) => p.managerId === m.id).reduce((s, p) => s + sizes.get(p.instanceId)!, 0);
            const free = m.slots - used;
            assert.ok(m.problems.length > 0 || free < sizes.get(pending.instanceId)!, `${pending.instanceId} fits on ${m.id}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('should give the same plan for the same snapshot', () => {
    fc.assert(
      fc.property(arbitrarySnapshot, (snapshot) => {
        assert.deepEqual(planPlacements(snapshot), planPlacements(structuredClone(snapshot)));
      }),
      { numRuns: 100 },
    );
  });
});
