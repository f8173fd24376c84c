// Starts a live stream with the latest stored item(s), so a subscriber sees the current value at once instead of after an interval.
import { KeptReads } from '../store/read-cache.js';
import { PUSH, pushTo, type Pushable, type Sink } from './push.js';

/**
 * Gives `latest()`'s items first (read once, on the first `next()`), then the
 * live items of `live`, skipping any live item that was already given as
 * latest (the live subscription is made before the read, so an item
 * published in between may be in both).
 *
 * Not an async generator, for the reason `replayThenLive` gives: `return()`
 * must reach the live subscription at once, even while a `next()` waits.
 *
 * Example: `metricSamples(endpoint: "web", latest: true)` subscribed 7 s into
 * a 10 s interval gives the sample taken 7 s ago now, then each new one; without
 * `latest` its first item would come 3 s later.
 */
export function latestThenLive<T extends { id: string }>(
  latest: () => Promise<T[]>,
  live: AsyncIterableIterator<T>,
): AsyncIterableIterator<T> & Pushable<T> {
  let first: Promise<T[]> | undefined;
  /** The latest items not yet given, once read. */
  let left: T[] | undefined;
  const given = new Set<string>();
  let closed = false;
  const nextLive = async (): Promise<IteratorResult<T>> => {
    for (;;) {
      const next = await live.next();
      if (next.done || !given.has(next.value.id)) return next;
      given.delete(next.value.id); // each is given at most once; the set empties as the stream moves on
    }
  };
  return {
    async next(): Promise<IteratorResult<T>> {
      if (closed) return { done: true, value: undefined };
      first ??= latest().then((items) => {
        for (const item of items) given.add(item.id);
        return (left = [...items]);
      });
      let pending: T[];
      try {
        pending = await first;
      } catch (error) {
        // graphql-ws calls no return() after a next() that rejects: end the live subscription here, or it stays in the bus for good.
        closed = true;
        await live.return?.();
        throw error;
      }
      const item = pending.shift();
      if (item !== undefined) return { done: false, value: item };
      return nextLive();
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      closed = true;
      await live.return?.(value);
      return { done: true, value: undefined };
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      closed = true;
      if (live.throw) return live.throw(error);
      throw error;
    },
    // Once the latest items were all taken, what is left is the live stream, less what was given as latest.
    [PUSH](sink: Sink<T>): boolean {
      if (closed || left === undefined || left.length > 0) return false;
      return pushTo<T>(live, {
        item: (value) => {
          if (given.delete(value.id)) return;
          sink.item(value);
        },
        end: (error) => sink.end(error),
      });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export interface SharedLatestOptions {
  /** How long an answer is shared after its read started, in ms; default 500. */
  holdMs?: number;
  /** The clock, in ms (default Date.now). */
  now?: () => number;
}

/**
 * One store read of an endpoint's latest item, shared by every `latest: true`
 * subscriber that asks for it within `holdMs`: a reconnect storm of 1,000
 * dashboards then makes one read per endpoint, not 1,000.
 *
 * A shared answer is never older than an item its subscriber could miss:
 * `published` (called for every item of the topic the bus delivers) drops the
 * answer of that item's endpoint, so a subscriber that subscribes after an
 * item was delivered reads again, and one that subscribed before receives it
 * live. Failed reads are not kept, nor "none yet" (names are the clients',
 * so only endpoints that have items take room).
 *
 * Example: samples are taken every 10 s; 1,000 dashboards reconnect within
 * 300 ms at t = 4 s: the first read of "web" is shared by all of them; the
 * sample of t = 10 s drops it, so a dashboard that comes at 10.1 s reads it.
 */
export class SharedLatest<T> {
  private readonly answers: KeptReads;

  constructor(options: SharedLatestOptions = {}) {
    this.answers = new KeptReads({ maxAgeMs: options.holdMs ?? 500, now: options.now });
  }

  /** Reads that went to the store and reads that shared one (for tests). */
  get counts(): { reads: number; shared: number } {
    return { reads: this.answers.counts.misses, shared: this.answers.counts.hits };
  }

  /** The latest item of `endpoint`: the answer of a read started less than `holdMs` ago, or `fromStore()`. */
  read(endpoint: string, fromStore: () => Promise<T | null>): Promise<T | null> {
    return this.answers.read(endpoint, fromStore);
  }

  /** An item of `endpoint` was delivered: answers read before it are no longer the latest. */
  published(item: { endpoint: string }): void {
    this.answers.forget(item.endpoint);
  }
}
