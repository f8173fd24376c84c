// The instanceChanges item an endpoint event carries: how a change to an instance is rebuilt from the store's log (history replay, the store feed).
import type { InstanceChangeKind } from '../model/events.js';
import type { EventRecord, InstanceRecord } from '../store/types.js';
import type { InstanceChangeRecord } from './types.js';

/**
 * Rebuilds the instanceChanges item an event recorded, or null if the event is
 * not about an instance (the subscription's history replays these).
 */
export function instanceChangeFromEvent(event: EventRecord): InstanceChangeRecord | null {
  const change = event.data.change as InstanceChangeKind | undefined;
  const data = event.data.instance as Record<string, unknown> | undefined;
  if (!change || !data || typeof data.id !== 'string') return null;
  const date = (value: unknown) => (value == null ? null : new Date(String(value)));
  const instance = {
    ...(data as unknown as InstanceRecord),
    createdAt: date(data.createdAt)!,
    updatedAt: date(data.updatedAt)!,
    decommissionedAt: date(data.decommissionedAt),
  };
  const { instance: _instance, change: _change, ...rest } = event.data;
  return { id: event.id, seq: event.seq, endpoint: event.endpoint, at: event.at, change, instance: { ...instance, term: Number(data.term ?? 0) }, data: rest };
}

