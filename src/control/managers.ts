// Manager liveness as the controller sees it: a host that stops beating its heartbeat for the manager timeout is LOST (timed on the controller's own clock), and what a new term does with stale records.
import type { EventRecorder } from '../events/recorder.js';
import type { InstanceService } from '../instances/service.js';
import { CLUSTER, ClusterEventKinds } from '../model/events.js';
import type { InstanceRecord, ManagerRecord, Store } from '../store/types.js';
import type { Timer, Timers } from '../time/timers.js';

/**
 * How often the leader looks at the managers' heartbeats between
 * evaluations: a tenth of an interval, between 100 ms and 1 s. A manager is
 * then declared LOST within this much of its timeout, not up to a whole
 * interval later (and its last heartbeat is noted within this much of being
 * written); each look is one read of the managers' records.
 */
export function livenessCheckMs(intervalSeconds: number): number {
  return Math.min(1000, Math.max(100, intervalSeconds * 100));
}

/** The leader's looks at the heartbeats, on a timer while it leads; one at a time: the evaluation's and the timer's share one in progress. */
export class LivenessChecks {
  private timer: Timer | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly look: () => Promise<void>,
    private readonly timers: Timers,
  ) {}

  start(intervalSeconds: number): void {
    this.timer ??= this.timers.setInterval(() => void this.check(), livenessCheckMs(intervalSeconds));
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  check(): Promise<void> {
    return (this.running ??= this.look().finally(() => (this.running = null)));
  }
}

/**
 * The controller never compares a host's `lastSeen` with its own clock
 * (they may differ by seconds): it notes when it saw `lastSeen` change, on
 * its own clock, and a manager whose `lastSeen` has not changed for
 * `timeoutMs` is LOST. A manager seen for the first time (a new controller,
 * a new host) gets the whole timeout from that moment.
 *
 * The timeout is three intervals, at least 15 s (`--interval 10`: 30 s);
 * each host beats once per interval.
 */
export class ManagerWatch {
  private readonly seen = new Map<string, { lastSeen: number; at: number }>();

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  /** Notes what the managers' records say now. */
  observe(managers: readonly ManagerRecord[]): void {
    const now = this.now();
    for (const manager of managers) {
      const lastSeen = manager.lastSeen.getTime();
      const known = this.seen.get(manager.id);
      if (!known || known.lastSeen !== lastSeen) this.seen.set(manager.id, { lastSeen, at: now });
    }
  }

  /** Milliseconds since the manager's heartbeat last changed (0 for one never observed). */
  silentFor(manager: ManagerRecord): number {
    const known = this.seen.get(manager.id);
    return known ? this.now() - known.at : 0;
  }

  lost(manager: ManagerRecord): boolean {
    return this.silentFor(manager) > this.timeoutMs;
  }

  /** Why placement skips the manager, if it does. */
  problems(manager: ManagerRecord): string[] {
    if (!this.lost(manager)) return [];
    return [`host not seen for ${Math.round(this.silentFor(manager) / 1000)} s (manager timeout ${Math.round(this.timeoutMs / 1000)} s)`];
  }
}

/**
 * Records of an older term than this one were written by a controller that
 * had already lost the lease (after this term claimed everything): no host
 * acts on them, and they are deleted unseen.
 */
export async function dropStale(instances: InstanceService, records: readonly InstanceRecord[], term: number): Promise<InstanceRecord[]> {
  if (!records.some((i) => i.term < term)) return records as InstanceRecord[];
  const kept: InstanceRecord[] = [];
  for (const record of records) {
    if (record.term >= term) {
      kept.push(record);
      continue;
    }
    await instances.remove(record, `instance ${record.id} dropped: written by a stale controller (term ${record.term}) after term ${term} began`, { staleTerm: record.term }, { term: record.term });
  }
  return kept;
}

export interface ManagerCheck {
  store: Store;
  events: EventRecorder;
  instances: InstanceService;
  watch: ManagerWatch;
  term: number;
  /** A trigger round of `endpoint`. */
  reconcile: (endpoint: string, cause: string) => void;
  /** Rounds of the endpoints whose instances wait for room. */
  kickPending: () => void;
}

/**
 * Marks managers whose heartbeat stopped LOST (and READY again when it comes
 * back). A LOST manager's instance records are removed at once — its host
 * is not there to do it — so the rounds that follow replace them on the
 * other managers; the balancers stop sending traffic to them, as they serve
 * only instances that have a record.
 */
export async function checkManagers(check: ManagerCheck): Promise<void> {
  const { store, events, instances, watch, term } = check;
  const managers = await store.managers.list();
  watch.observe(managers);
  for (const manager of managers) {
    const lost = watch.lost(manager);
    if (lost && manager.status !== 'LOST') {
      const silent = Math.round(watch.silentFor(manager) / 1000);
      await store.managers.update(manager.id, { status: 'LOST' });
      await events.record(CLUSTER, ClusterEventKinds.MANAGER_LOST, `manager ${manager.name} is LOST: no heartbeat for ${silent} s; its instances are replaced elsewhere`, { managerId: manager.id, name: manager.name });
      const orphaned = await store.instances.list({ managerId: manager.id });
      // All at once: each removal is a store round trip or two, and the replacements wait for the last of them.
      await Promise.all(orphaned.map((instance) => instances.remove(instance, `instance ${instance.id} removed: its manager ${manager.name} is LOST`, { managerLost: manager.id }, { term })));
      for (const endpoint of new Set(orphaned.map((i) => i.endpoint))) check.reconcile(endpoint, `manager ${manager.name} lost`);
    } else if (!lost && manager.status === 'LOST') {
      await store.managers.update(manager.id, { status: 'READY' });
      await events.record(CLUSTER, ClusterEventKinds.MANAGER_READY, `manager ${manager.name} is READY again`, { managerId: manager.id, name: manager.name });
      check.kickPending();
    }
  }
}
