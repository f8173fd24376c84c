// Writes an endpoint event to the store, then publishes it: the one way events are made.
import { newId } from '../store/ids.js';
import type { EventRecord, Store } from '../store/types.js';
import type { EventBus } from './bus.js';

/** Event kinds Reactor records; the `kind` field of EndpointEvent. */
export const EventKinds = {
  ENDPOINT_MANAGED: 'ENDPOINT_MANAGED',
  ENDPOINT_UNMANAGED: 'ENDPOINT_UNMANAGED',
  CONFIG_CHANGED: 'CONFIG_CHANGED',
  STATE_CHANGED: 'STATE_CHANGED',
  CUSTOM_METRICS_SET: 'CUSTOM_METRICS_SET',
  /** nginx refused a new configuration (nginx -t or the reload failed); the last good one keeps serving. */
  BALANCER_CONFIG_REFUSED: 'BALANCER_CONFIG_REFUSED',
  /** nginx died and is being started again. */
  BALANCER_RESTARTED: 'BALANCER_RESTARTED',
  /** nginx exited with an error (e.g. a port in use) and is being started again after a back-off. */
  BALANCER_FAILED: 'BALANCER_FAILED',
} as const;

/**
 * Endpoint events that change what should run for an endpoint (it appeared,
 * went, or its config or state changed): the reconciler and the balancer
 * sync act on these at once; the other kinds only report.
 */
export const RECONFIGURING_KINDS: ReadonlySet<string> = new Set<string>([
  EventKinds.STATE_CHANGED,
  EventKinds.CONFIG_CHANGED,
  EventKinds.ENDPOINT_MANAGED,
  EventKinds.ENDPOINT_UNMANAGED,
]);

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
