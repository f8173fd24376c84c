// latestThenLive: the stored latest items first, then live ones, and a failed store read leaves no subscriber behind in the bus.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBus } from '../../src/events/bus.js';
import { latestThenLive } from '../../src/events/latest.js';

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
