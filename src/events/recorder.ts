// Writes an endpoint event to the store, then publishes it: the one way events are made.
import { newId } from '../store/ids.js';
import type { EventRecord, Store } from '../store/types.js';
import type { EventBus } from './bus.js';

export { EventKinds, RECONFIGURING_KINDS } from '../model/events.js';

export class EventRecorder {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Stored first, so a client that was told "done" finds the event after any crash. */
  async record(endpoint: string, kind: string, message: string, data: Record<string, unknown> = {}): Promise<EventRecord> {
    const event: EventRecord = { id: newId(), endpoint, kind, message, data, at: this.clock() };
    await this.store.events.append(event);
    this.bus.publish('endpointEvents', event);
    return event;
  }
}
