// The host's shared endpoint views on a real SQLite store and a real bus: one read for concurrent callers, kept until a change or 1 s, never an answer read before a change, never a failure.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EndpointViews, ENDPOINT_VIEWS_MAX_AGE_MS } from '../../src/endpoints/views.js';
import { EventBus } from '../../src/events/bus.js';
import type { InstanceChangeRecord } from '../../src/events/types.js';
import { EventRecorder } from '../../src/events/recorder.js';
import { SurgeDetector } from '../../src/host/surge.js';
import { silentLogger } from '../../src/log/logger.js';
import type { BalancerLogLine } from '../../src/metrics/log-line.js';
import { openStore } from '../../src/store/open.js';
import type { EndpointRecord, InstanceRecord, Store } from '../../src/store/types.js';
import { readEndpointViews } from '../../src/endpoints/backends.js';
import { ManualTime } from '../../src/time/timers.js';

const CONFIG = '[endpoint]\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=5\nrules=0 < rate < 1000\n[cloud:docker]\nimage=x\n';

function instance(id: string, endpoint: string, status: InstanceRecord['status'] = 'RUNNING'): InstanceRecord {
  const now = new Date();
  return { id, endpoint, managerId: 'm', containerId: null, address: `127.0.0.1:${4000 + Number(id.slice(1))}`, status, slots: 1, reason: null, decommissionedAt: null, createdAt: now, updatedAt: now, term: 0 };
}

const change = (record: InstanceRecord): InstanceChangeRecord => ({ id: `e-${record.id}`, endpoint: record.endpoint, at: new Date(), change: 'CREATED', instance: record });

describe('EndpointViews', () => {
  let dir: string;
  let store: Store;
  let bus: EventBus;
  let clock: number;
  let views: EndpointViews;
  /** Store reads of the endpoint list, and what the next one does first. */
  let lists: number;
  let before: (() => Promise<void>) | undefined;
  let after: (() => Promise<void>) | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reactor-endpoint-views-'));
    store = await openStore(`sqlite:${join(dir, 'reactor.db')}`);
    lists = 0;
    before = after = undefined;
    const list = store.endpoints.list.bind(store.endpoints);
    store.endpoints.list = async (): Promise<EndpointRecord[]> => {
      lists += 1;
      await before?.();
      const records = await list();
      await after?.();
      return records;
    };
    await store.endpoints.create({ name: 'web', state: 'RUNNING', configText: CONFIG });
    bus = new EventBus();
    clock = 0;
    views = new EndpointViews({ store, bus, now: () => clock });
  });

  afterEach(async () => {
    views.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should share one store read among callers that ask while it is under way', async () => {
    const [a, b, c] = await Promise.all([views.read(), views.read(), views.read()]);
    assert.equal(lists, 1);
    assert.equal(a, b);
    assert.equal(b, c);
    assert.deepEqual(
      a.views.map((v) => v.record.name),
      ['web'],
    );
  });

  it('should reuse the answer until an endpoint event or an instance change arrives', async () => {
    const first = await views.read();
    assert.equal(await views.read(), first);
    assert.equal(lists, 1);

    await store.instances.upsert(instance('i1', 'web'));
    assert.equal(await views.read(), first, 'no item yet: still the answer in memory');
    bus.publish('instanceChanges', change(instance('i1', 'web')));
    const second = await views.read();
    assert.equal(lists, 2);
    assert.deepEqual(
      second.views[0].backends.map((b) => b.instance),
      ['i1'],
    );

    await store.endpoints.update('web', second.views[0].record.version, { state: 'STOPPED' });
    bus.publish('endpointEvents', { id: 'e1', endpoint: 'other', kind: 'STATE_CHANGED', message: '', data: {}, at: new Date() });
    const third = await views.read();
    assert.equal(lists, 3, 'an item of any endpoint forgets the answer');
    assert.equal(third.views[0].record.state, 'STOPPED');
    assert.deepEqual(third.views[0].backends, []);
  });

  it(`should read the store again once the answer is ${ENDPOINT_VIEWS_MAX_AGE_MS} ms old`, async () => {
    await views.read();
    clock = ENDPOINT_VIEWS_MAX_AGE_MS - 1;
    await views.read();
    assert.equal(lists, 1);
    clock = ENDPOINT_VIEWS_MAX_AGE_MS;
    await views.read();
    assert.equal(lists, 2);
  });

  it('should not serve a read that was under way during an invalidation to anyone who asks after it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    after = () => gate; // the first read has its records (before the change) but has not answered yet
    const early = views.read();
    while (lists === 0) await new Promise((resolve) => setImmediate(resolve));
    await store.instances.upsert(instance('i1', 'web'));
    bus.publish('instanceChanges', change(instance('i1', 'web')));
    after = undefined;
    const late = views.read();
    assert.equal(lists, 2, 'a read of its own');
    release();
    assert.deepEqual((await early).views[0].backends, [], 'the early caller gets what was read before the change');
    const afterwards = await views.read();
    assert.equal(afterwards, await late);
    assert.deepEqual(
      afterwards.views[0].backends.map((b) => b.instance),
      ['i1'],
    );
    assert.equal(lists, 2);
  });

  it('should not keep a failed read', async () => {
    before = async () => {
      throw new Error('store down');
    };
    await assert.rejects(views.read(), /store down/);
    before = undefined;
    const answer = await views.read();
    assert.equal(lists, 2);
    assert.equal(answer.views.length, 1);
  });

  it('should forget the answer on a write through the tracked store, without waiting for its item', async () => {
    const tracked = views.track(store);
    await views.read();
    await tracked.instances.upsert(instance('i2', 'web'));
    const answer = await views.read();
    assert.equal(lists, 2);
    assert.deepEqual(
      answer.views[0].backends.map((b) => b.instance),
      ['i2'],
    );
  });

  it('should be forgotten before a watcher or subscriber registered after it reacts to the same item', async () => {
    await views.read();
    const seen: string[][] = [];
    bus.watch('instanceChanges', () => void views.read().then((answer) => seen.push(answer.views[0].backends.map((b) => b.instance))));
    const subscription = bus.subscribe('instanceChanges');
    const woken = subscription.next().then(() => views.read());
    await store.instances.upsert(instance('i3', 'web'));
    bus.publish('instanceChanges', change(instance('i3', 'web')));
    const bySubscriber = await woken;
    while (seen.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [['i3']], 'the watcher read after the change');
    assert.deepEqual(
      bySubscriber.views[0].backends.map((b) => b.instance),
      ['i3'],
    );
    assert.equal(lists, 2, 'and both shared that one read');
    await subscription.return?.();
  });

  it('should let a host under steady traffic read the store about once a second for its burst checks, not four times', async () => {
    await store.instances.upsert(instance('i1', 'web'));
    const time = new ManualTime(0);
    const checkFor = async (source: Pick<EndpointViews, 'read'>): Promise<number> => {
      const surge = new SurgeDetector({ views: source, events: new EventRecorder(store, bus, time.now), held: () => new Map(), time, log: silentLogger });
      surge.start();
      const start = lists;
      for (let i = 0; i < 40; i++) {
        surge.add({ endpoints: ['web'], status: 200, bytes: 10, requestTime: 0.001, attempts: [] } as BalancerLogLine);
        await time.advance(250);
      }
      await surge.stop();
      assert.equal(surge.signalled, 0, 'within the rules: no round asked for, so no event forgets the answer');
      return lists - start;
    };
    const direct = await checkFor({ read: () => readEndpointViews(store) });
    const shared = new EndpointViews({ store, bus, now: () => time.now().getTime() });
    const viaViews = await checkFor(shared);
    shared.close();
    assert.equal(direct, 40, 'before: every check (4 a second for 10 s) read the store');
    assert.ok(viaViews >= 9 && viaViews <= 11, `about one read a second for 10 s, got ${viaViews}`);
  });
});
