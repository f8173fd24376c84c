// Bounded storage: identical holding decisions are not stored every round, each history is pruned past its retention, and an unmanaged endpoint's history goes with it.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { EndpointService } from '../../src/endpoints/service.js';
import { EventPruner } from '../../src/events/retention.js';
import { newId } from '../../src/store/ids.js';
import { Roles, roleConf } from '../support/roles.js';
import { silentLogger } from '../../src/log/logger.js';

describe('bounded storage', () => {
  let roles: Roles;
  afterEach(async () => roles?.close());

  async function evaluate(times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      await roles.time.advance(1000);
      await roles.controller.tick();
      await roles.settle();
    }
  }
  const decisions = async (endpoint: string) => (await roles.store.decisions.list(endpoint, { limit: 1000 })).map((d) => d.record as { summary: string; state: string });

  it('should keep one identical holding decision every N rounds, and every change at once', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 100 }], controller: { decisionKeepEvery: 4 } });
    await roles.endpoint('web', roleConf('web', { min: 2, rules: '0 < rate < 1' }), 'PAUSED');
    await roles.settle();
    const before = (await decisions('web')).length;
    await evaluate(9);
    assert.equal((await decisions('web')).length - before, 3, 'rounds 1, 5 and 9 of 9 identical holding evaluations are kept');

    await roles.store.endpoints.update('web', 1, { state: 'RUNNING' });
    await roles.round('web');
    await evaluate(1);
    const kept = await decisions('web');
    assert.ok(kept.length >= before + 4, 'the change (RUNNING, launching) is kept at once');
    assert.equal(kept.at(-1)!.state, 'RUNNING');
  });

  it('should prune decisions past their retention', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 100 }], controller: { decisionKeepEvery: 1, retentionSeconds: 120 } });
    await roles.endpoint('web', roleConf('web', { min: 1 }), 'PAUSED');
    await evaluate(3);
    const early = await decisions('web');
    assert.ok(early.length >= 3);
    // Three minutes later the first decisions are past 120 s; pruning runs at most once a minute.
    await roles.time.advance(180_000);
    await evaluate(2);
    const left = await roles.store.decisions.list('web', { limit: 1000 });
    const oldest = Math.min(...left.map((d) => d.at.getTime()));
    assert.ok(roles.time.now().getTime() - oldest <= 120_000 + 2000, 'no decision older than the retention is left');
    assert.ok(left.length < early.length + 2);
  });

  it('should prune events past their retention', async () => {
    roles = await Roles.start({ managers: [] });
    const at = (ms: number) => new Date(roles.time.now().getTime() - ms);
    for (const age of [10 * 86_400_000, 8 * 86_400_000, 86_400_000, 0]) {
      await roles.store.events.append({ id: newId(), endpoint: 'web', kind: 'TEST', message: `${age}`, data: {}, at: at(age) });
    }
    const pruner = new EventPruner(roles.store, 7 * 86_400, silentLogger, roles.time.now);
    assert.equal(await pruner.prune(), 2);
    assert.deepEqual((await roles.store.events.list('web')).map((e) => e.message), [`${86_400_000}`, '0']);
  });

  it("should delete an unmanaged endpoint's samples, decisions and custom metrics, and keep its events", async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 100 }], controller: { decisionKeepEvery: 1 } });
    await roles.endpoint('web', roleConf('web', { min: 1 }), 'PAUSED');
    await roles.endpoint('api', roleConf('api', { min: 1 }), 'PAUSED');
    await roles.store.customMetrics.set({ endpoint: 'web', instance: '', metrics: { q: [1, 2] }, updatedAt: roles.time.now() });
    await evaluate(2);
    assert.ok((await roles.store.samples.list('web')).length > 0);
    assert.ok((await roles.store.decisions.list('web')).length > 0);
    await new EndpointService(roles.store, roles.events).unmanage('web');
    await roles.settle();
    assert.deepEqual(await roles.store.samples.list('web'), []);
    assert.deepEqual(await roles.store.decisions.list('web'), []);
    assert.deepEqual(await roles.store.customMetrics.list('web'), []);
    assert.ok((await roles.store.samples.list('api')).length > 0, 'other endpoints keep theirs');
    assert.ok((await roles.store.events.list('web')).some((e) => e.kind === 'ENDPOINT_UNMANAGED'));
  });
});
