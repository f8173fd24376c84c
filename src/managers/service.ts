// Managers (hosts that run containers): registration of the local host, listing and per-manager settings.
import { parseManagerOption } from '../config/index.js';
import { DEFAULT_MANAGER_SLOTS } from '../config/model.js';
import { notFound } from '../errors/codes.js';
import { CONTROLLER_LEASE } from '../model/states.js';
import type { LeaseRecord, ManagerRecord, Store } from '../store/types.js';
import { wallClock } from '../time/timers.js';

export interface ManagerRegistration {
  id: string;
  name: string;
  address: string;
  /** Slots asked for on the command line; undefined keeps the stored value (or the default). */
  slots?: number;
  clouds: string[];
  loadbalancers: string[];
  problems: string[];
}

export class ManagerService {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = wallClock,
  ) {}

  list(): Promise<ManagerRecord[]> {
    return this.store.managers.list();
  }

  get(id: string): Promise<ManagerRecord | null> {
    return this.store.managers.get(id);
  }

  /**
   * Registers or refreshes a manager. Slots set through the API survive a
   * restart unless the command line names a value again.
   */
  async register(registration: ManagerRegistration): Promise<ManagerRecord> {
    const existing = await this.store.managers.get(registration.id);
    const now = this.clock();
    return this.store.managers.upsert({
      id: registration.id,
      name: registration.name,
      address: registration.address,
      slots: registration.slots ?? existing?.slots ?? DEFAULT_MANAGER_SLOTS,
      usedSlots: existing?.usedSlots ?? 0,
      clouds: registration.clouds,
      loadbalancers: registration.loadbalancers,
      problems: registration.problems,
      lastSeen: now,
      createdAt: existing?.createdAt ?? now,
      // A host that registers is alive; the controller marks it LOST if its heartbeat stops.
      status: existing?.status ?? 'READY',
    });
  }

  /** Changes the one setting only, so a heartbeat writing used slots at the same moment cannot undo it. */
  async setOption(id: string, key: string, value: string): Promise<ManagerRecord> {
    const changes = parseManagerOption(key, value);
    const updated = await this.store.managers.update(id, changes);
    if (!updated) throw notFound('manager', id);
    return updated;
  }

  /** The controller lease as stored (who leads, which term), or null before any server took the role. */
  controller(): Promise<LeaseRecord | null> {
    return this.store.leases.get(CONTROLLER_LEASE);
  }

  async forget(id: string): Promise<boolean> {
    return this.store.managers.delete(id);
  }
}
