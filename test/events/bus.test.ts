// EventBus: publishing never waits; a subscriber that stops reading is cut off with a SLOW_CONSUMER error once its buffer is full, and the others keep receiving.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../src/errors/codes.js';
import { DEFAULT_SUBSCRIBER_BUFFER, EventBus } from '../../src/events/bus.js';
import { CLUSTER } from '../../src/model/events.js';
import { pushTo } from '../../src/events/push.js';
import { rejectsWithCode } from '../support/errors.js';

interface Item {
  id: string;
  endpoint: string;
}
type TestTopics = { items: Item };

const item = (n: number, endpoint = 'web'): Item => ({ id: `e${n}`, endpoint });

/** The ids of the next `count` items (each must arrive; done fails the test). */
async function drain(iterator: AsyncIterableIterator<Item>, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const next = await iterator.next();
    assert.equal(next.done, false, `item ${i + 1} of ${count}`);
    ids.push(next.value.id);
  }
  return ids;
}

/** The subscriber's next read fails with the SLOW_CONSUMER cut, naming the afterId to resume from. */
async function assertCutOff(iterator: AsyncIterableIterator<Item>, capacity: number, lastDeliveredId: string | null): Promise<void> {
  const error = await rejectsWithCode(iterator.next(), ErrorCodes.UNAVAILABLE);
  assert.deepEqual(error.details, { reason: 'SLOW_CONSUMER', lastDeliveredId });
  assert.equal(
    error.message,
    `subscriber too slow: more than ${capacity} items queued; reconnect with afterId ${JSON.stringify(lastDeliveredId)} to resume`,
  );
}

describe('EventBus slow-consumer cut', () => {
  it('should cut off a subscriber that stops reading once its buffer is full, naming the last item it was given', async () => {
    const bus = new EventBus<TestTopics>();
    const slow = bus.subscribe('items', { capacity: 3 });
    bus.publish('items', item(1));
    assert.deepEqual(await drain(slow, 1), ['e1'], 'it read one item, then stopped reading');

    for (const n of [2, 3, 4]) bus.publish('items', item(n));
    assert.equal(bus.subscriberCount('items'), 1, 'a full buffer is not yet an overflow');
    bus.publish('items', item(5)); // one more than the buffer holds

    // The queued items are dropped with the subscription: the client resumes from the store with afterId.
    await assertCutOff(slow, 3, 'e1');
    assert.equal(bus.subscriberCount('items'), 0, 'the cut subscriber is gone');
    assert.deepEqual(await slow.next(), { value: undefined, done: true }, 'and stays ended');
  });

  it('should name no afterId when the cut subscriber was given nothing yet', async () => {
    const bus = new EventBus<TestTopics>();
    const slow = bus.subscribe('items', { capacity: 2 });
    for (const n of [1, 2, 3]) bus.publish('items', item(n));
    await assertCutOff(slow, 2, null);
  });

  it('should keep delivering every item to the other subscribers, before and after the cut', async () => {
    const bus = new EventBus<TestTopics>();
    const slow = bus.subscribe('items', { capacity: 2 });
    const reader = bus.subscribe('items', { capacity: 2 });
    const other = bus.subscribe('items', { endpoint: 'api', capacity: 2 });

    const read: string[] = [];
    for (let n = 1; n <= 6; n++) {
      bus.publish('items', item(n)); // publish returns at once, whoever is behind
      read.push(...(await drain(reader, 1)));
    }
    await assertCutOff(slow, 2, null);
    assert.deepEqual(read, ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'], 'the reading subscriber missed nothing');

    // A filtered subscriber counts only its own endpoint's items against its buffer.
    bus.publish('items', item(7, 'api'));
    assert.deepEqual(await drain(other, 1), ['e7']);
    bus.publish('items', item(8));
    assert.deepEqual(await drain(reader, 2), ['e7', 'e8']);
    assert.equal(bus.subscriberCount('items'), 2, 'only the slow one was removed');
  });

  it(`should hold ${DEFAULT_SUBSCRIBER_BUFFER} items by default before cutting`, async () => {
    const bus = new EventBus<TestTopics>();
    const slow = bus.subscribe('items');
    for (let n = 1; n <= DEFAULT_SUBSCRIBER_BUFFER; n++) bus.publish('items', item(n));
    assert.equal(bus.subscriberCount('items'), 1);
    assert.deepEqual(await drain(slow, 2), ['e1', 'e2'], 'a full buffer is still delivered in order');
    for (let n = DEFAULT_SUBSCRIBER_BUFFER + 1; n <= DEFAULT_SUBSCRIBER_BUFFER + 3; n++) bus.publish('items', item(n));
    await assertCutOff(slow, DEFAULT_SUBSCRIBER_BUFFER, 'e2');
  });

  it('should wake a waiting reader with the cut, not leave it hanging', async () => {
    const bus = new EventBus<TestTopics>();
    const slow = bus.subscribe('items', { capacity: 1 });
    bus.publish('items', item(1));
    assert.deepEqual(await drain(slow, 1), ['e1']);
    const waiting = slow.next(); // a reader parked on an empty queue
    bus.publish('items', item(2));
    assert.deepEqual(await waiting, { value: item(2), done: false });
    bus.publish('items', item(3));
    bus.publish('items', item(4));
    await assertCutOff(slow, 1, 'e2');
  });
});

describe('EventBus fan-out', () => {
  it("should give each item to its endpoint's subscribers and to those of all endpoints, and to no one else", async () => {
    const bus = new EventBus<TestTopics>();
    const web = bus.subscribe('items', { endpoint: 'web' });
    const api = bus.subscribe('items', { endpoint: 'api' });
    const all = bus.subscribe('items');
    assert.equal(bus.subscriberCount('items'), 3);
    bus.publish('items', item(1, 'web'));
    bus.publish('items', item(2, 'api'));
    bus.publish('items', item(3, 'web'));
    assert.deepEqual(await drain(web, 2), ['e1', 'e3']);
    assert.deepEqual(await drain(api, 1), ['e2']);
    assert.deepEqual(await drain(all, 3), ['e1', 'e2', 'e3']);
    await web.return!();
    assert.equal(bus.subscriberCount('items'), 2);
    bus.publish('items', item(4, 'web'));
    assert.deepEqual(await drain(all, 1), ['e4']);
    // A new subscriber of an endpoint whose last one left gets its items again.
    const again = bus.subscribe('items', { endpoint: 'web' });
    bus.publish('items', item(5, 'web'));
    assert.deepEqual(await drain(again, 1), ['e5']);
  });

  it('should give a subscriber of the cluster endpoint cluster items only, as its afterId history does', async () => {
    const bus = new EventBus<TestTopics>();
    const cluster = bus.subscribe('items', { endpoint: CLUSTER });
    const all = bus.subscribe('items');
    bus.publish('items', item(1, 'web'));
    bus.publish('items', item(2, CLUSTER));
    bus.publish('items', item(3, 'api'));
    bus.publish('items', item(4, CLUSTER));
    assert.deepEqual(await drain(cluster, 2), ['e2', 'e4']);
    assert.deepEqual(await drain(all, 4), ['e1', 'e2', 'e3', 'e4'], 'cluster items once each for a subscriber of all');
    await cluster.return!();
    await all.return!();
    assert.equal(bus.subscriberCount('items'), 0);
  });

  it('should wake every waiting reader when there are more than one batch of them, each with the item', async () => {
    const bus = new EventBus<TestTopics>();
    const readers = Array.from({ length: 1000 }, () => bus.subscribe('items', { endpoint: 'web' }));
    // Every reader is waiting for its next item before it is published.
    const waiting = readers.map((reader) => reader.next());
    bus.publish('items', item(1));
    const got = await Promise.all(waiting);
    assert.equal(got.filter((step) => !step.done && step.value.id === 'e1').length, 1000);
    bus.publish('items', item(2));
    bus.publish('items', item(3));
    const next = await Promise.all(readers.map((reader) => drain(reader, 2)));
    assert.ok(next.every((ids) => ids.join() === 'e2,e3'));
  });
});

describe('EventBus push (src/events/push.ts)', () => {
  /** A sink that writes down what it is given. */
  function recorder() {
    const got: string[] = [];
    const ends: unknown[] = [];
    return { got, ends, sink: { item: (value: Item) => got.push(value.id), end: (error?: unknown) => ends.push(error ?? 'done') } };
  }

  it('should hand the items already queued at once, then each new one from inside publish, in order', async () => {
    const bus = new EventBus<TestTopics>();
    const stream = bus.subscribe('items', { endpoint: 'web' });
    bus.publish('items', item(1));
    bus.publish('items', item(2, 'api'));
    bus.publish('items', item(3));
    const { got, sink } = recorder();
    assert.equal(pushTo(stream, sink), true);
    assert.deepEqual(got, ['e1', 'e3'], 'the queue, at once');
    bus.publish('items', item(4));
    assert.deepEqual(got, ['e1', 'e3', 'e4'], 'synchronously, no turn of the loop needed');
  });

  it('should not cut a pushed subscriber by its queue capacity: its sink bounds what waits', async () => {
    const bus = new EventBus<TestTopics>();
    const stream = bus.subscribe('items', { capacity: 2 });
    const { got, ends, sink } = recorder();
    pushTo(stream, sink);
    for (let n = 1; n <= 10; n++) bus.publish('items', item(n));
    assert.equal(got.length, 10);
    assert.deepEqual(ends, []);
    assert.equal(bus.subscriberCount('items'), 1);
  });

  it('should end the sink once when the stream is returned, and give it nothing after', async () => {
    const bus = new EventBus<TestTopics>();
    const stream = bus.subscribe('items');
    const { got, ends, sink } = recorder();
    pushTo(stream, sink);
    await stream.return!();
    await stream.return!();
    bus.publish('items', item(1));
    assert.deepEqual(ends, ['done']);
    assert.deepEqual(got, []);
    assert.equal(bus.subscriberCount('items'), 0);
  });

  it('should refuse to push a subscriber already cut, so its next read gives the cut', async () => {
    const bus = new EventBus<TestTopics>();
    const slow = bus.subscribe('items', { capacity: 1 });
    bus.publish('items', item(1));
    bus.publish('items', item(2));
    assert.equal(pushTo(slow, recorder().sink), false);
    await assertCutOff(slow, 1, null);
  });
});
