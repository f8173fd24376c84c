// Time-ordered ids for stored items (events, samples, decisions, instances): UUIDv7, monotonic within this process.
import { v7 as uuidv7 } from 'uuid';
import { nowMs } from '../time/timers.js';

/** The last id's milliseconds and counter: ids made within one millisecond (or while the clock stands still or steps back) count up. */
const last = { msecs: -Infinity, seq: 0 };

/**
 * A new UUIDv7. Ids made by this process sort (as strings) in the order they
 * were made, even within one millisecond, so the store can page by id.
 */
export function newId(): string {
  // uuid's own monotonic state reads Date.now(); this reads the process's clock (nowMs) and keeps the same rule.
  const now = nowMs();
  if (now > last.msecs) {
    last.msecs = now;
    last.seq = Math.floor(Math.random() * 0x80000000);
  } else {
    last.seq = (last.seq + 1) | 0;
    if (last.seq === 0) last.msecs++;
  }
  return uuidv7({ msecs: last.msecs, seq: last.seq });
}
