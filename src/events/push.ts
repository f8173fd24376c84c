// Streams that can hand their items to a callback as they come, instead of being pulled one promise at a time.

/**
 * Why: a subscriber pulled with `next()` costs a chain of promises per item
 * (the bus's wake, each wrapper's await, graphql-ws's for-await and its
 * awaited send). At 10,000 subscribers that chain, and the garbage it
 * leaves, cost more than the socket writes themselves. A stream that is
 * pushed calls its sink synchronously from the publisher instead; the sink
 * only takes note (src/server/live-delivery.ts queues the write).
 *
 * A stream offers push only once what is left of it is live: the bus's
 * subscription always; `latestThenLive` once its latest items were taken;
 * `replayThenLive` never (a resumed stream is pulled to its end: its history
 * is read a page at a time as the client takes it).
 */
export const PUSH: unique symbol = Symbol('push');

export interface Sink<T> {
  /** The next item, in the stream's order. Called from inside the publisher: take note, do not do the work here. */
  item(value: T): void;
  /** The stream ended (`error` undefined) or failed. Called once; no item comes after it. */
  end(error?: unknown): void;
}

export interface Pushable<T> {
  /**
   * From now on every item goes to `sink` as it comes (those already
   * waiting first, at once), and `next()` must not be called again;
   * `return()` still ends the stream, and then `sink.end()` is called.
   * False when the stream cannot push yet (it has history left): pull one
   * more item with `next()` and ask again.
   */
  [PUSH](sink: Sink<T>): boolean;
}

function canPush<T>(stream: unknown): stream is Pushable<T> {
  return typeof (stream as Partial<Pushable<T>> | null)?.[PUSH] === 'function';
}

/** Asks `stream` to push to `sink`; false if it cannot (yet). */
export function pushTo<T>(stream: unknown, sink: Sink<T>): boolean {
  return canPush<T>(stream) && stream[PUSH](sink);
}
