// Instance records: every create, status change and removal is stored, published on instanceChanges and logged as an endpoint event.
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import { InstanceEventKinds, type InstanceChangeKind, type InstanceEventKind } from '../model/events.js';
import { newId } from '../store/ids.js';
import type { InstanceChanges, InstanceGuard, InstanceRecord, InstanceStatus, Store } from '../store/types.js';
import { wallClock } from '../time/timers.js';

export { InstanceEventKinds, type InstanceEventKind } from '../model/events.js';

/** The JSON form of a record inside an event's data (dates as ISO strings). */
function recordData(record: InstanceRecord): Record<string, unknown> {
  return {
    ...record,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    decommissionedAt: record.decommissionedAt?.toISOString() ?? null,
  };
}

export { instanceChangeFromEvent } from '../events/instance-change.js';

export interface NewInstance {
  endpoint: string;
  slots: number;
  status: InstanceStatus;
  managerId: string | null;
  reason: string | null;
  /** Default: a new time-ordered id. */
  id?: string;
  /** The term of the controller that writes it (0 outside any). */
  term?: number;
}

export class InstanceService {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly events: EventRecorder,
    private readonly clock: () => Date = wallClock,
  ) {}

  list(filter?: { endpoint?: string; managerId?: string }): Promise<InstanceRecord[]> {
    return this.store.instances.list(filter);
  }

  get(id: string): Promise<InstanceRecord | null> {
    return this.store.instances.get(id);
  }

  /** Stores a new instance record (BEFORE any container exists), then tells the world. */
  async create(
    input: NewInstance,
    kind: InstanceEventKind,
    message: string,
    data: Record<string, unknown> = {},
  ): Promise<InstanceRecord> {
    const now = this.clock();
    const record: InstanceRecord = {
      id: input.id ?? newId(),
      endpoint: input.endpoint,
      managerId: input.managerId,
      containerId: null,
      address: null,
      status: input.status,
      slots: input.slots,
      reason: input.reason,
      decommissionedAt: null,
      createdAt: now,
      updatedAt: now,
      term: input.term ?? 0,
    };
    await this.store.instances.upsert(record);
    await this.announce(record, 'CREATED', kind, message, data);
    return record;
  }

  /**
   * Changes the named fields of a record that still exists (and meets
   * `guard`: a status, a term at most the writer's), then tells the world.
   * Null when it is gone or does not meet the guard: nothing was written or told.
   */
  async change(
    id: string,
    changes: InstanceChanges,
    kind: InstanceEventKind,
    message: string,
    data: Record<string, unknown> = {},
    guard: InstanceGuard = {},
  ): Promise<InstanceRecord | null> {
    const next = await this.store.instances.update(id, { ...changes, updatedAt: this.clock() }, guard);
    if (next) await this.announce(next, 'STATUS_CHANGED', kind, message, data);
    return next;
  }

  /** Deletes a record (its container must be gone first), then tells the world; false when it was gone or did not meet `guard`. */
  async remove(record: InstanceRecord, message: string, data: Record<string, unknown> = {}, guard: InstanceGuard = {}): Promise<boolean> {
    const existed = await this.store.instances.delete(record.id, guard);
    if (!existed) return false;
    await this.announce({ ...record, updatedAt: this.clock() }, 'REMOVED', InstanceEventKinds.INSTANCE_REMOVED, message, data);
    return true;
  }

  private async announce(
    record: InstanceRecord,
    change: InstanceChangeKind,
    kind: InstanceEventKind,
    message: string,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    const event = await this.events.record(record.endpoint, kind, message, {
      ...data,
      instanceId: record.id,
      change,
      instance: recordData(record),
    });
    this.bus.publish('instanceChanges', { id: event.id, seq: event.seq, endpoint: record.endpoint, at: event.at, change, instance: record, data });
  }
}
