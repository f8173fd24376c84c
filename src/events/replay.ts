// Joins stored history and a live subscription into one stream with no gap and no duplicate.

/**
 * `live` must have been subscribed BEFORE `history` was read: items published
 * while the history was being read sit in the live buffer, and those already
 * in the history are skipped by id (ids are time-ordered UUIDv7 strings).
 */
export async function* replayThenLive<T extends { id: string }>(
  history: readonly T[],
  live: AsyncIterableIterator<T>,
): AsyncGenerator<T> {
  let lastId: string | undefined;
  try {
    for (const item of history) {
      lastId = item.id;
      yield item;
    }
    for (;;) {
      const next = await live.next();
      if (next.done) return;
      if (lastId !== undefined && next.value.id <= lastId) continue;
      yield next.value;
    }
  } finally {
    await live.return?.();
  }
}
