// The API's read cache on a real SQLite store: served from memory until a write through the tracked store or an invalidation, and never an answer read before a change.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openStore } from '../../src/store/open.js';
import { ReadCache } from '../../src/store/read-cache.js';
import type { InstanceRecord, Store } from '../../src/store/types.js';

function instance(id: string, endpoint: string): InstanceRecord {
  const now = new Date();
  return {
    id,
    endpoint,
    managerId: null,
    containerId: null,
    address: null,
    status: 'PENDING',
    slots: 1,
    reason: null,
    decommissionedAt: null,
    createdAt: now,
    updatedAt: now,
    term: 0,
  };
}

const CONFIG = '[endpoint]\nport=5000\n[cloud:docker]\nimage=x\n';

describe('ReadCache', () => {
  let dir: string;
  let raw: Store;
  let cache: ReadCache;
  let store: Store;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reactor-read-cache-'));
    raw = await openStore(`sqlite:${join(dir, 'reactor.db')}`);
    cache = new ReadCache(raw);
    store = cache.track(raw);
    await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: CONFIG });
  });

  afterEach(async () => {
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should serve a repeated read from memory', async () => {
    const first = await cache.endpoints();
    const misses = cache.counts.misses;
    const second = await cache.endpoints();
    assert.equal(second, first, 'the very same answer');
    assert.equal(cache.counts.misses, misses);
    assert.deepEqual(
      second.map((e) => [e.name, e.state]),
      [['web', 'PAUSED']],
    );
  });

  it('should show an endpoint change made through the tracked store to the next read at once', async () => {
    assert.equal((await cache.endpoint('web'))!.state, 'PAUSED');
    assert.equal((await cache.endpoints())[0]!.state, 'PAUSED');
    const current = await raw.endpoints.get('web');
    await store.endpoints.update('web', current!.version, { state: 'RUNNING' });
    assert.equal((await cache.endpoint('web'))!.state, 'RUNNING');
    assert.equal((await cache.endpoints())[0]!.state, 'RUNNING');
    await store.endpoints.create({ name: 'api', state: 'PAUSED', configText: CONFIG });
    assert.deepEqual((await cache.endpoints()).map((e) => e.name).sort(), ['api', 'web']);
    await store.endpoints.delete('web');
    assert.equal(await cache.endpoint('web'), null);
    assert.deepEqual((await cache.endpoints()).map((e) => e.name), ['api']);
  });

  it('should show instance writes of every kind to the next read at once', async () => {
    assert.deepEqual(await cache.instances('web'), []);
    await store.instances.upsert(instance('i1', 'web'));
    assert.deepEqual((await cache.instances('web')).map((i) => i.id), ['i1']);
    await store.instances.update('i1', { status: 'RUNNING', address: '127.0.0.1:4000' });
    assert.deepEqual((await cache.instances('web')).map((i) => [i.status, i.address]), [['RUNNING', '127.0.0.1:4000']]);
    await store.instances.claim(7);
    assert.equal((await cache.instances('web'))[0]!.term, 7);
    await store.instances.delete('i1');
    assert.deepEqual(await cache.instances('web'), []);
    await store.instances.upsert(instance('i2', 'web'));
    await cache.instances('web');
    await store.instances.deleteByEndpoint('web');
    assert.deepEqual(await cache.instances('web'), []);
  });

  it('should not keep an answer that was being read when a write started', async () => {
    const underway = cache.endpoint('web');
    const current = await raw.endpoints.get('web');
    const write = store.endpoints.update('web', current!.version, { state: 'STOPPED' });
    // The read begun before the change may answer either way; the next one must not be it.
    await underway;
    await write;
    assert.equal((await cache.endpoint('web'))!.state, 'STOPPED');
  });

  it('should forget everything on invalidate, as an endpoint event from another server does', async () => {
    assert.equal((await cache.endpoint('web'))!.state, 'PAUSED');
    // Another server writes to the shared store: not through this tracked store.
    const current = await raw.endpoints.get('web');
    await raw.endpoints.update('web', current!.version, { state: 'RUNNING' });
    assert.equal((await cache.endpoint('web'))!.state, 'PAUSED', 'still the kept answer: nothing told this cache yet');
    cache.invalidate();
    assert.equal((await cache.endpoint('web'))!.state, 'RUNNING');
  });

  it('should not keep a failed read', async () => {
    const failing = new ReadCache({
      ...raw,
      endpoints: { ...raw.endpoints, list: () => Promise.reject(new Error('store down')) },
    } as Store);
    await assert.rejects(failing.endpoints(), /store down/);
    await assert.rejects(failing.endpoints(), /store down/);
    assert.equal(failing.counts.misses, 2, 'the second read went to the store again');
  });

  it('should not keep "not found", so names that do not exist fill nothing and a new endpoint is seen at once', async () => {
    for (let n = 0; n < 100; n++) assert.equal(await cache.endpoint(`missing-${n}`), null);
    assert.equal(cache.size, 0);
    // Created by another server: no event has reached this cache, yet the next read finds it.
    await raw.endpoints.create({ name: 'missing-7', state: 'PAUSED', configText: CONFIG });
    assert.equal((await cache.endpoint('missing-7'))?.name, 'missing-7');
  });

  it('should serve an answer for maxAgeMs at most, for when an invalidation never comes (shared store)', async () => {
    let now = 1_000_000;
    const aging = new ReadCache(raw, { maxAgeMs: 1000, now: () => now });
    assert.equal((await aging.endpoint('web'))!.state, 'PAUSED');
    // Another server changes the record but dies before recording its event: no invalidation.
    const current = await raw.endpoints.get('web');
    await raw.endpoints.update('web', current!.version, { state: 'RUNNING' });
    now += 999;
    assert.equal((await aging.endpoint('web'))!.state, 'PAUSED', 'still fresh enough');
    now += 1;
    assert.equal((await aging.endpoint('web'))!.state, 'RUNNING');
    assert.equal((await aging.endpoints())[0]!.state, 'RUNNING');
  });

  it('should keep an answer until invalidated when no maxAgeMs is given (every writer is in this process)', async () => {
    let now = 1_000_000;
    const keeping = new ReadCache(raw, { now: () => now });
    assert.equal((await keeping.endpoint('web'))!.state, 'PAUSED');
    const current = await raw.endpoints.get('web');
    await raw.endpoints.update('web', current!.version, { state: 'RUNNING' });
    now += 3_600_000;
    assert.equal((await keeping.endpoint('web'))!.state, 'PAUSED');
    assert.equal(keeping.counts.misses, 1);
  });
});
