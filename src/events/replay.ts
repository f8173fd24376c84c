// Joins stored history and a live subscription into one stream with no gap and no duplicate, reading history a page at a time as the client takes it.
import { isReactorError } from '../errors/codes.js';

/** Stored items read at once when a subscriber resumes with afterId. */
export const REPLAY_PAGE = 100;

/** One page of stored history: its items (oldest first) and the position to read the next page from, or null at the end. */
export interface HistoryPage<T> {
  items: T[];
  next: string | null;
}

export interface ReplaySource<T> {
  /** Stored items after `afterId`, oldest first, reading at most `limit` stored records. */
  page(afterId: string, limit: number): Promise<HistoryPage<T>>;
  /** A new live subscription, buffering from the moment it is made. */
  live(): AsyncIterableIterator<T>;
  /** The store's sequence number of the item `id` (undefined when it is gone): where a resume starts in the store's order. */
  seqOf?(id: string): Promise<number | undefined>;
}

/** Where a stream stands: the last item given (or the client's afterId), by sequence number when known. */
interface Position {
  id: string;
  seq: number | undefined;
}

/**
 * True if `item` comes after `position` in the store's order: by sequence
 * number when both have one (ids are ordered by the clock of the server that
 * made them, and servers' clocks may differ by seconds), else by id.
 */
function isAfter(item: { id: string; seq?: number }, position: Position): boolean {
  if (item.seq !== undefined && position.seq !== undefined) return item.seq > position.seq;
  return item.id > position.id;
}

/**
 * Replays what was stored after `afterId`, then streams live items.
 *
 * History is read `REPLAY_PAGE` records at a time, and the next page only
 * once the consumer has taken the previous one. graphql-ws sends one item
 * and waits until the socket has taken it before asking for the next, so a
 * client that does not read holds at most one page in the server, however
 * far back it resumes (before, 30 such subscriptions buffered 10,000 events
 * each and ran the server out of memory).
 *
 * The live subscription is made before the history is read, so nothing
 * published meanwhile is lost; live items at or before the last one the
 * history gave (or afterId) are skipped, compared by the store's sequence
 * numbers (ids are ordered by their server's clock, which may be seconds off
 * another's; by id only for an item without a number). Live items are not
 * compared with each other: the bus gives each once, in the store's order. If the live buffer overflows while the
 * history is still being read (a long replay), nothing is lost either: the
 * store has every item, so the replay subscribes again and reads on from
 * the last item it gave. An overflow after that, while live, ends the stream
 * with the bus's SLOW_CONSUMER error naming the id to resume after.
 */
export function replayThenLive<T extends { id: string; seq?: number }>(
  source: ReplaySource<T>,
  afterId: string | undefined,
  firstLive: AsyncIterableIterator<T> = source.live(),
): AsyncGenerator<T> {
  const state: { live: AsyncIterableIterator<T> | undefined } = { live: firstLive };
  const stream = replay(source, afterId, state);
  // An async generator that awaits (here: the next live item) handles return() only at its next
  // yield, which on a quiet topic may never come: so return() ends the live subscription first,
  // which ends that wait. It also ends the first live subscription of a stream never started.
  const stop = async (): Promise<void> => {
    const live = state.live;
    state.live = undefined;
    await live?.return?.();
  };
  return {
    next: () => stream.next(),
    return: async (value?: unknown) => {
      await stop();
      return stream.return(value as never);
    },
    throw: async (error?: unknown) => {
      await stop();
      return stream.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  } as AsyncGenerator<T>;
}

async function* replay<T extends { id: string; seq?: number }>(
  source: ReplaySource<T>,
  afterId: string | undefined,
  state: { live: AsyncIterableIterator<T> | undefined },
): AsyncGenerator<T> {
  let last: Position | undefined = afterId === undefined ? undefined : { id: afterId, seq: await source.seqOf?.(afterId) };
  let live = state.live;
  try {
    for (;;) {
      live ??= state.live = source.live();
      if (last !== undefined) {
        let cursor: string | null = last.id;
        while (cursor !== null) {
          const page: HistoryPage<T> = await source.page(cursor, REPLAY_PAGE);
          for (const item of page.items) {
            last = { id: item.id, seq: item.seq };
            yield item;
          }
          cursor = page.next;
        }
      }
      // The end of the history: live items up to it were given by the history (or the client had them).
      const boundary = last;
      let tookLive = false;
      try {
        for (;;) {
          const next = await live.next();
          if (next.done) return;
          if (boundary !== undefined && !isAfter(next.value, boundary)) continue;
          tookLive = true;
          last = { id: next.value.id, seq: next.value.seq };
          yield next.value;
        }
      } catch (error) {
        if (!isSlowConsumer(error)) throw error;
        await live.return?.();
        live = state.live = undefined;
        // Overflowed while the history was read: the store has it all, read on from there.
        if (!tookLive && last !== undefined) continue;
        throw resumeError(error, last?.id);
      }
    }
  } finally {
    await live?.return?.();
    state.live = undefined;
  }
}

function isSlowConsumer(error: unknown): error is Error & { details: Record<string, unknown> } {
  return isReactorError(error) && error.details.reason === 'SLOW_CONSUMER';
}

/** The bus's SLOW_CONSUMER error, naming the last item this stream actually gave (history included). */
function resumeError(error: Error & { details: Record<string, unknown> }, lastId: string | undefined): Error {
  error.message = error.message.replace(/afterId .*? to resume/, `afterId ${JSON.stringify(lastId ?? null)} to resume`);
  error.details.lastDeliveredId = lastId ?? null;
  return error;
}
