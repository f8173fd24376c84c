// Writes an endpoint event to the store, then publishes it: the one way events are made. While an endpoint's launches keep failing, repeats of an event are folded into one, with a count and the last time.
import { EventKinds, InstanceEventKinds } from '../model/events.js';
import { newId } from '../store/ids.js';
import type { EventRecord, Store } from '../store/types.js';
import type { EventBus } from './bus.js';
import { wallClock } from '../time/timers.js';

export { EventKinds, RECONFIGURING_KINDS } from '../model/events.js';

export interface RecordOptions {
  /**
   * What makes two events the same repeat besides their kind, when the
   * message carries something that changes each time (e.g. "next attempt
   * in 8 s"); default the message.
   */
  sameAs?: string;
}

/** What ends a series of failures: a launch that worked, or the operator changing the endpoint. */
const ENDS_SERIES: ReadonlySet<string> = new Set<string>([
  InstanceEventKinds.INSTANCE_RUNNING,
  EventKinds.CONFIG_CHANGED,
  EventKinds.STATE_CHANGED,
  EventKinds.ENDPOINT_MANAGED,
  EventKinds.ENDPOINT_UNMANAGED,
]);

function isFailure(kind: string, data: Record<string, unknown>): boolean {
  return typeof data.failure === 'string' || kind === InstanceEventKinds.IMAGE_UNAVAILABLE || kind === InstanceEventKinds.ROUND_FAILED;
}

interface Repeat {
  id: string;
  count: number;
  firstAt: Date;
}

/**
 * A launch that keeps failing retries with a back-off, and each retry is
 * the same few events (placed, pending: image unavailable, …). From an
 * endpoint's first failure until a launch works or the operator changes it,
 * an event identical (kind and message) to one recorded during the series
 * replaces it: the earlier one is deleted and the new one carries
 * `repeated` (how many so far) and `firstAt`; its own `at` is the last
 * time. The log then holds each distinct event of the series once, in the
 * order of their latest occurrence. Outside a series nothing is folded.
 */
export class EventRecorder {
  /** Per endpoint in a failure series: the events seen during it, by kind and message. */
  private readonly series = new Map<string, Map<string, Repeat>>();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly clock: () => Date = wallClock,
  ) {}

  /** Stored first, so a client that was told "done" finds the event after any crash. */
  async record(
    endpoint: string,
    kind: string,
    message: string,
    data: Record<string, unknown> = {},
    options: RecordOptions = {},
  ): Promise<EventRecord> {
    const at = this.clock();
    const key = `${kind}\n${options.sameAs ?? message}`;
    let seen = this.series.get(endpoint);
    if (!seen && isFailure(kind, data)) this.series.set(endpoint, (seen = new Map()));
    const previous = seen?.get(key);
    const event: EventRecord = {
      id: newId(),
      endpoint,
      kind,
      message,
      data: previous ? { ...data, repeated: previous.count + 1, firstAt: previous.firstAt.toISOString() } : data,
      at,
    };
    if (seen) seen.set(key, { id: event.id, count: (previous?.count ?? 0) + 1, firstAt: previous?.firstAt ?? at });
    if (ENDS_SERIES.has(kind)) this.series.delete(endpoint);
    await this.store.events.append(event);
    if (previous) await this.store.events.delete(previous.id);
    this.bus.publish('endpointEvents', event);
    return event;
  }
}
