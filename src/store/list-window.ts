// How a history query (`ListOptions`) becomes a window over a sequence-ordered log, the same on every backend.
import { badInput } from '../errors/codes.js';
import type { ListOptions } from './types.js';

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10_000;

/**
 * A window over one log (events, samples, decisions), which is ordered by
 * sequence number (see `ListOptions`).
 *
 * - `afterId`, `afterSeq` and/or `since` given: the first `limit` items after that point,
 *   oldest first (a reader resuming where it stopped).
 * - neither: the `limit` most recent items, still returned oldest first; the
 *   backend reads them newest first (`newestFirst`) and the caller reverses.
 */
export interface ListWindow {
  afterId?: string;
  afterSeq?: number;
  since?: Date;
  limit: number;
  newestFirst: boolean;
}

export function listWindow(options: ListOptions = {}): ListWindow {
  const { afterId, afterSeq, since } = options;
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw badInput(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got ${limit}`, { field: 'limit' });
  }
  if (since !== undefined && (!(since instanceof Date) || Number.isNaN(since.getTime()))) {
    throw badInput(`since must be a valid date, got ${String(since)}`, { field: 'since' });
  }
  if (afterSeq !== undefined && !Number.isInteger(afterSeq)) {
    throw badInput(`afterSeq must be a whole number, got ${afterSeq}`, { field: 'afterSeq' });
  }
  return {
    ...(afterId !== undefined ? { afterId } : {}),
    ...(afterSeq !== undefined ? { afterSeq } : {}),
    ...(since !== undefined ? { since } : {}),
    limit,
    newestFirst: afterId === undefined && afterSeq === undefined && since === undefined,
  };
}
