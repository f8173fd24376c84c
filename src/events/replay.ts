// Joins stored history and a live subscription into one stream with no gap and no duplicate.

/**
 * `live` must have been subscribed BEFORE `history` was read: items published
 * while the history was being read sit in the live buffer, and those already
 * in the history are skipped by their store sequence number (items without
 * one, by id: ids are time-ordered UUIDv7 strings).
 */
export async function* replayThenLive<T extends { id: string; seq?: number }>(
  history: readonly T[],
  live: AsyncIterableIterator<T>,
): AsyncGenerator<T> {
  let last: T | undefined;
  try {
    for (const item of history) {
      last = item;
      yield item;
    }
    for (;;) {
      const next = await live.next();
      if (next.done) return;
      if (last !== undefined && !after(next.value, last)) continue;
      yield next.value;
    }
  } finally {
    await live.return?.();
  }
}

/** Whether `item` comes after `last` in the store's order. */
function after(item: { id: string; seq?: number }, last: { id: string; seq?: number }): boolean {
  if (item.seq !== undefined && last.seq !== undefined) return item.seq > last.seq;
  return item.id > last.id;
}
