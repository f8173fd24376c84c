// latestThenLive: the stored latest items first, then live ones, and a failed store read leaves no subscriber behind in the bus; SharedLatest: one store read for many subscribers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBus } from '../../src/events/bus.js';
import { latestThenLive, SharedLatest } from '../../src/events/latest.js';
import { pushTo } from '../../src/events/push.js';

interface Item {
  id: string;
  endpoint: string;
}
type TestTopics = { items: Item };

describe('latestThenLive', () => {
  it('should give the latest items, then live items not already given', async () => {
    const bus = new EventBus<TestTopics>();
    const stream = latestThenLive(async () => [{ id: 'a', endpoint: 'web' }], bus.subscribe('items'));
    bus.publish('items', { id: 'a', endpoint: 'web' }); // published between the subscription and the read: given once
    bus.publish('items', { id: 'b', endpoint: 'web' });
    assert.equal((await stream.next()).value?.id, 'a');
    assert.equal((await stream.next()).value?.id, 'b');
    await stream.return!();
    assert.equal(bus.subscriberCount('items'), 0);
  });

  it('should end its bus subscription when the store read fails, since graphql-ws calls no return() after that', async () => {
    const bus = new EventBus<TestTopics>();
    const stream = latestThenLive<Item>(() => Promise.reject(new Error('store unavailable')), bus.subscribe('items'));
    assert.equal(bus.subscriberCount('items'), 1);
    await assert.rejects(stream.next(), /store unavailable/);
    assert.equal(bus.subscriberCount('items'), 0);
    assert.deepEqual(await stream.next(), { done: true, value: undefined }, 'ended, not read again');
  });
});

describe('latestThenLive pushed', () => {
  it('should refuse to push until its latest items are taken, then push live items not already given', async () => {
    const bus = new EventBus<TestTopics>();
    const stream = latestThenLive(async () => [{ id: 'a', endpoint: 'web' }], bus.subscribe('items'));
    const got: string[] = [];
    const ends: unknown[] = [];
    const sink = { item: (value: Item) => got.push(value.id), end: (error?: unknown) => ends.push(error ?? 'done') };
    assert.equal(pushTo(stream, sink), false, 'nothing read yet');
    bus.publish('items', { id: 'a', endpoint: 'web' }); // also given as latest: given once
    bus.publish('items', { id: 'b', endpoint: 'web' });
    assert.equal((await stream.next()).value?.id, 'a');
    assert.equal(pushTo(stream, sink), true, 'the latest item taken, what is left is live');
    bus.publish('items', { id: 'c', endpoint: 'web' });
    assert.deepEqual(got, ['b', 'c']);
    await stream.return!();
    assert.deepEqual(ends, ['done']);
    assert.equal(bus.subscriberCount('items'), 0);
  });
});

describe('SharedLatest', () => {
  /** A store read of each endpoint's latest item that counts its calls and answers when told. */
  function store() {
    const calls: string[] = [];
    const pending: (() => void)[] = [];
    const latest: Record<string, Item | null> = { web: { id: 's1', endpoint: 'web' }, api: { id: 's2', endpoint: 'api' }, idle: null };
    return {
      calls,
      answerAll: () => pending.splice(0).forEach((answer) => answer()),
      read: (endpoint: string) => () => {
        calls.push(endpoint);
        return new Promise<Item | null>((resolve) => pending.push(() => resolve(latest[endpoint] ?? null)));
      },
    };
  }

  it('should make one store read per endpoint for 1,000 subscribers that ask within holdMs', async () => {
    let now = 0;
    const shared = new SharedLatest<Item>({ holdMs: 500, now: () => now });
    const s = store();
    const answers: Promise<Item | null>[] = [];
    for (let n = 0; n < 1000; n++) {
      now = n % 2 === 0 ? 0 : 499; // some while the read is under way, some once it is answered
      for (const endpoint of ['web', 'api']) answers.push(shared.read(endpoint, s.read(endpoint)));
      if (n === 500) s.answerAll();
    }
    s.answerAll();
    const items = await Promise.all(answers);
    assert.deepEqual(s.calls, ['web', 'api']);
    assert.equal(items.filter((item) => item?.id === 's1').length, 1000);
    assert.deepEqual(shared.counts, { reads: 2, shared: 1998 });
  });

  it('should read again once holdMs have passed since the shared read started', async () => {
    let now = 0;
    const shared = new SharedLatest<Item>({ holdMs: 500, now: () => now });
    const s = store();
    const first = shared.read('web', s.read('web'));
    s.answerAll();
    await first;
    now = 500;
    const second = shared.read('web', s.read('web'));
    s.answerAll();
    await second;
    assert.deepEqual(s.calls, ['web', 'web']);
  });

  it("should read again after an item of that endpoint was published, so no later subscriber misses it, and only for that endpoint", async () => {
    const shared = new SharedLatest<Item>({ holdMs: 500, now: () => 0 });
    const s = store();
    const reads = [shared.read('web', s.read('web')), shared.read('api', s.read('api'))];
    s.answerAll();
    await Promise.all(reads);
    shared.published({ endpoint: 'web' });
    const again = [shared.read('web', s.read('web')), shared.read('api', s.read('api'))];
    s.answerAll();
    await Promise.all(again);
    assert.deepEqual(s.calls, ['web', 'api', 'web']);
  });

  it('should not keep a failed read nor "none yet"', async () => {
    const shared = new SharedLatest<Item>({ holdMs: 500, now: () => 0 });
    await assert.rejects(shared.read('web', () => Promise.reject(new Error('store unavailable'))), /store unavailable/);
    assert.equal((await shared.read('web', async () => ({ id: 's1', endpoint: 'web' })))?.id, 's1');
    const s = store();
    for (let n = 0; n < 3; n++) {
      const none = shared.read('idle', s.read('idle'));
      s.answerAll();
      assert.equal(await none, null);
    }
    assert.deepEqual(s.calls, ['idle', 'idle', 'idle']);
  });
});
