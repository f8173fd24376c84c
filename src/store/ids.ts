// Time-ordered ids for stored items (events, samples, decisions, instances): UUIDv7, monotonic within this process.
import { v7 as uuidv7 } from 'uuid';

/**
 * A new UUIDv7. Ids made by this process sort (as strings) in the order they
 * were made, even within one millisecond, so the store can page by id.
 */
export function newId(): string {
  return uuidv7();
}
