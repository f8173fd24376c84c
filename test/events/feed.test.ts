// StoreFeed on a real SQLite store: it says when items may have been missed (a failed poll, a skipped gap), so the read cache can forget what it kept.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EventBus } from '../../src/events/bus.js';
import { StoreFeed } from '../../src/events/feed.js';
import { silentLogger } from '../../src/log/logger.js';
import { newId } from '../../src/store/ids.js';
import { openStore } from '../../src/store/open.js';
import type { EventRecord, Store } from '../../src/store/types.js';
import { realTimers } from '../../src/time/timers.js';

const event = (): EventRecord => ({ id: newId(), endpoint: 'web', kind: 'CONFIG_CHANGED', message: 'changed', data: {}, at: new Date() });

describe('StoreFeed onMissed', () => {
  let dir: string;
  let raw: Store;
  let now: number;
  let missed: number;
  let delivered: string[];
  /** What the feed's store does instead of the real events.list; undefined = the real one. */
  let list: Store['events']['list'] | undefined;
  let feed: StoreFeed;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reactor-feed-'));
    raw = await openStore(`sqlite:${join(dir, 'reactor.db')}`);
    now = 1_000_000;
    missed = 0;
    delivered = [];
    list = undefined;
    const store = { ...raw, events: { ...raw.events, list: (e, o) => (list ?? raw.events.list.bind(raw.events))(e, o) } } as Store;
    const bus = new EventBus();
    bus.watch('endpointEvents', (e) => delivered.push(e.id));
    // Polled by hand (poll()), never started: the clock moves only when the test says.
    feed = new StoreFeed({ store, bus, time: { now: () => new Date(now), timers: realTimers }, gapWaitMs: 2000, log: silentLogger, onMissed: () => (missed += 1) });
  });

  afterEach(async () => {
    await feed.stop();
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should say nothing while every item arrives in order', async () => {
    const [a, b] = [event(), event()];
    await raw.events.append(a);
    await raw.events.append(b);
    await feed.poll();
    assert.deepEqual(delivered, [a.id, b.id]);
    assert.equal(missed, 0);
  });

  it('should call onMissed when it skips a gap its writer never filled, and not while it waits for it', async () => {
    const [lost, after] = [event(), event()];
    await raw.events.append(lost);
    await raw.events.append(after);
    // The first item's writer drew number 1 and died before storing it: the feed sees 2 only.
    list = async (e, o) => (await raw.events.list(e, o)).filter((item) => item.id !== lost.id);
    await feed.poll();
    assert.deepEqual(delivered, []);
    assert.equal(missed, 0, 'still waiting for 1');
    now += 2000;
    await feed.poll();
    assert.deepEqual(delivered, [after.id]);
    assert.equal(missed, 1);
  });

  it('should call onMissed on every poll that fails', async () => {
    list = () => Promise.reject(new Error('store unavailable'));
    await feed.poll();
    await feed.poll();
    assert.equal(missed, 2);
    list = undefined;
    await feed.poll();
    assert.equal(missed, 2, 'a poll that works says nothing');
  });
});
