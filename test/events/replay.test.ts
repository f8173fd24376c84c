// Resuming a stream after afterId: the stored history, then live items, each once and in the store's order, even when ids (made on servers whose clocks differ) run against that order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replayThenLive, type HistoryPage } from '../../src/events/replay.js';

interface Item {
  id: string;
  seq: number;
}

/** Ids as a server whose clock is behind makes them: `seq` is the store's order, the id's letter is the maker's clock. */
const item = (seq: number, id: string): Item => ({ id, seq });

/** A live subscription that gives `items`, then ends. */
function liveOf(items: Item[]): AsyncIterableIterator<Item> {
  const iterator = items[Symbol.iterator]();
  return {
    next: async () => {
      const next = iterator.next();
      return next.done ? { done: true, value: undefined } : { done: false, value: next.value };
    },
    return: async () => ({ done: true, value: undefined }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** The store: `stored` in sequence order, paged after an id by that id's sequence number, as the stores do. */
function source(stored: Item[], live: Item[]) {
  const seqOf = async (id: string) => stored.find((i) => i.id === id)?.seq;
  return {
    live: () => liveOf(live),
    seqOf,
    page: async (afterId: string, limit: number): Promise<HistoryPage<Item>> => {
      const after = (await seqOf(afterId)) ?? 0;
      const items = stored.filter((i) => i.seq > after).slice(0, limit);
      return { items, next: items.length < limit ? null : items[items.length - 1]!.id };
    },
  };
}

async function take(stream: AsyncIterable<Item>): Promise<number[]> {
  const seqs: number[] = [];
  for await (const next of stream) seqs.push(next.seq);
  return seqs;
}

describe('replay after afterId, then live', () => {
  it('should give each live item after the history once, even one whose id sorts before the last one given', async () => {
    // 1 and 2 by a server on time (ids m, n); 3 by one two seconds behind (id a); 4 on time again (id o).
    const stored = [item(1, 'm'), item(2, 'n'), item(3, 'a')];
    // The live subscription, made before the history was read, also holds 2 and 3, then brings 4 and 5 (id b, behind).
    const got = await take(replayThenLive(source(stored, [item(2, 'n'), item(3, 'a'), item(4, 'o'), item(5, 'b')]), 'm'));
    assert.deepEqual(got, [2, 3, 4, 5]);
  });

  it('should give a live item made by a server behind when nothing was stored after afterId yet', async () => {
    const stored = [item(1, 'm'), item(2, 'n')];
    // This server's feed still brings 2 (the client had it), then 3, made two seconds behind.
    const got = await take(replayThenLive(source(stored, [item(2, 'n'), item(3, 'a')]), 'n'));
    assert.deepEqual(got, [3]);
  });
});
