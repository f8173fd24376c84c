// Starts a live stream with the latest stored item(s), so a subscriber sees the current value at once instead of after an interval.

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
export function latestThenLive<T extends { id: string }>(latest: () => Promise<T[]>, live: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  let first: Promise<T[]> | undefined;
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
        return [...items];
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
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
