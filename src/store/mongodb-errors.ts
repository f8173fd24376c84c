// What the MongoDB driver's errors mean to the store: which failures are a store that cannot be reached.
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb';

/** A MongoDB store that did not answer a call: whether the call may have reached it, and the driver's one-line cause. */
export interface MongoUnreachable {
  /**
   * False when no server was found for the call (server selection timed out):
   * nothing was sent, so nothing changed. True when the connection broke
   * while the call was under way: a write may or may not have been applied.
   */
  maybeSent: boolean;
  cause: string;
}

/**
 * Server selection timed out (no server answers: stopped, refused, a
 * partition the driver's heartbeat noticed), or the connection broke or timed
 * out during the call (network errors, a pool cleared under the call); null
 * for every other error, which is an answer (duplicate key …) or a bug.
 */
export function mongoUnreachable(error: unknown): MongoUnreachable | null {
  if (error instanceof MongoServerSelectionError) return { maybeSent: false, cause: firstLine(error) };
  if (error instanceof MongoNetworkError) return { maybeSent: !beforeSending(error), cause: firstLine(error) };
  return null;
}

/** Codes of a connection that could not be opened: nothing went over it. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A network error that came before the call could be sent: opening a new
 * connection failed (refused, unreachable, closed or cancelled while it was
 * being set up), or the pool was cleared while the call waited for one.
 */
function beforeSending(error: MongoNetworkError): boolean {
  if (error.name === 'MongoPoolClearedError') return true;
  const cause = error.cause as { syscall?: unknown; code?: unknown } | undefined;
  if (cause?.syscall === 'connect' || NOT_CONNECTED.has(String(cause?.code))) return true;
  return /during connection establishment|connection establishment was cancelled/.test(error.message);
}

function firstLine(error: Error): string {
  return error.message.split('\n')[0]!.trim() || error.name;
}
