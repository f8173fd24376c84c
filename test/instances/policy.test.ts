// The interim instance policy and the launch backoff, as tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, interimPlan, type PolicyInput } from '../../src/instances/policy.js';
import type { InstanceStatus } from '../../src/store/types.js';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
const inst = (id: string, status: InstanceStatus, minute = 0) => ({ id, status, createdAt: at(minute) });

describe('interimPlan', () => {
  const cases: { name: string; input: PolicyInput; launch: number; remove: string[] }[] = [
    { name: 'RUNNING below min launches the difference', input: { state: 'RUNNING', minInstances: 3, instances: [inst('a', 'RUNNING')] }, launch: 2, remove: [] },
    { name: 'RUNNING counts pending and starting as live', input: { state: 'RUNNING', minInstances: 2, instances: [inst('a', 'PENDING'), inst('b', 'STARTING')] }, launch: 0, remove: [] },
    {
      name: 'RUNNING replaces lost and errored instances',
      input: { state: 'RUNNING', minInstances: 2, instances: [inst('a', 'RUNNING'), inst('b', 'LOST'), inst('c', 'ERROR')] },
      launch: 1,
      remove: ['b', 'c'],
    },
    {
      name: 'RUNNING above min removes pending first, then the newest',
      input: {
        state: 'RUNNING',
        minInstances: 1,
        instances: [inst('old', 'RUNNING', 1), inst('new', 'RUNNING', 5), inst('starting', 'STARTING', 2), inst('waiting', 'PENDING', 0)],
      },
      launch: 0,
      remove: ['waiting', 'starting', 'new'],
    },
    { name: 'RUNNING leaves decommissioned instances to the control loop', input: { state: 'RUNNING', minInstances: 1, instances: [inst('a', 'DECOMMISSIONED')] }, launch: 1, remove: [] },
    { name: 'STOPPED removes everything', input: { state: 'STOPPED', minInstances: 3, instances: [inst('a', 'RUNNING'), inst('b', 'PENDING')] }, launch: 0, remove: ['a', 'b'] },
    { name: 'PAUSED changes nothing, not even dead records', input: { state: 'PAUSED', minInstances: 3, instances: [inst('a', 'LOST')] }, launch: 0, remove: [] },
    { name: 'unmanaged removes everything', input: { state: null, minInstances: 0, instances: [inst('a', 'RUNNING')] }, launch: 0, remove: ['a'] },
    { name: 'min 0 while RUNNING removes all', input: { state: 'RUNNING', minInstances: 0, instances: [inst('a', 'RUNNING')] }, launch: 0, remove: ['a'] },
  ];
  for (const c of cases) {
    it(`should plan: ${c.name}`, () => {
      const plan = interimPlan(c.input);
      assert.equal(plan.launch, c.launch);
      assert.deepEqual(plan.remove, c.remove);
      assert.ok(plan.why.length > 0);
    });
  }
});

describe('backoffDelay', () => {
  const options = { baseMs: 1000, maxMs: 60_000 };
  for (const [failures, delay] of [
    [0, 0],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [7, 60_000],
    [500, 60_000],
  ] as const) {
    it(`should wait ${delay} ms after ${failures} failures`, () => {
      assert.equal(backoffDelay(failures, options), delay);
    });
  }
});
