// Finds one stored decision of an endpoint by its id, reading only the few decisions made in the same millisecond.
import type { DecisionRecord, Store } from '../store/types.js';

/** A UUIDv7 as `newId()` makes them: 48 bits of Unix milliseconds first. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decisions of one endpoint made within one millisecond: far fewer than this. */
const SAME_MILLISECOND = 1000;

/**
 * The decision `id` of `endpoint`, or null. Ids are UUIDv7 and the store
 * orders its logs by id, so listing after the smallest id of the same
 * millisecond (the time digits followed by zeros) finds it in one short read.
 */
export async function findDecision(store: Store, endpoint: string, id: string): Promise<DecisionRecord | null> {
  if (!UUID.test(id)) return null;
  const wanted = id.toLowerCase();
  const floor = `${wanted.slice(0, 14)}0000-0000-000000000000`;
  const candidates = await store.decisions.list(endpoint, { afterId: floor, limit: SAME_MILLISECOND });
  return candidates.find((decision) => decision.id === wanted) ?? null;
}
