// The controller lease: exactly one server at a time is the controller, for a term, and a paused or partitioned one finds out and steps down.
import { CONTROLLER_LEASE } from '../model/states.js';
import type { LeaseRecord, Store } from '../store/types.js';
import type { Time, Timer } from '../time/timers.js';
import type { Logger } from '../log/logger.js';

export { CONTROLLER_LEASE };

/**
 * The lease's timing, from `--interval`: it lasts three intervals but never
 * less than 6 s, and the holder renews it every third of that. A follower
 * takes over once it has seen no renewal for a whole lease, timed on its own
 * clock: servers never compare one clock's time with another's, so clocks
 * that differ by seconds do not matter. With `--interval 10`: a 30 s lease,
 * renewed every 10 s; with `--interval 1`: 6 s, renewed every 2 s.
 */
export function leaseTiming(intervalSeconds: number): { leaseMs: number; renewMs: number } {
  const leaseMs = Math.max(6_000, 3 * intervalSeconds * 1000);
  return { leaseMs, renewMs: Math.round(leaseMs / 3) };
}

export interface ControllerLeaseOptions {
  store: Store;
  /** This server's name (`--name`): the lease's holder while it leads. */
  holder: string;
  time: Time;
  leaseMs: number;
  renewMs: number;
  /** It became the controller for `term` (called once per term, before any round of it). */
  elected: (term: number) => Promise<void>;
  /** It is the controller no more (the lease was taken over, or renewing it failed for a whole lease). */
  deposed: (term: number, why: string) => void;
  log: Logger;
}

/**
 * Every `renewMs` each server reads the lease:
 * - none yet: create it, term 1;
 * - ours: renew it (compare-and-set on term and renewals); a refused renewal
 *   means another took over, and this server steps down;
 * - another's: note when its (term, renewals) last changed, on our clock;
 *   unchanged for `leaseMs` means its holder is gone, so take over with the
 *   next term (compare-and-set: of several followers, one wins).
 * A leader that could not renew for `leaseMs - renewMs` (a pause, a lost
 * store) stops acting at once (`isLeader` is false) even before it learns
 * that another took over; its writes are fenced by term anyway.
 */
export class ControllerLease {
  private term: number | null = null;
  private renewedAt = 0;
  private seen: { term: number; renewals: number; holder: string; at: number } | undefined;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private current: LeaseRecord | null = null;
  private readonly startedAt: number;

  constructor(private readonly options: ControllerLeaseOptions) {
    this.startedAt = options.time.now().getTime();
  }

  /** Tries at once, then every `renewMs`. */
  start(): Promise<void> {
    this.timer = this.options.time.timers.setInterval(() => void this.check(), this.options.renewMs);
    return this.check();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  /** The term this server leads, or null when it is not (or may no longer be) the controller. */
  leading(): number | null {
    if (this.term === null) return null;
    const sinceRenewal = this.options.time.now().getTime() - this.renewedAt;
    return sinceRenewal < this.options.leaseMs - this.options.renewMs ? this.term : null;
  }

  /** The lease as last read. */
  get lease(): LeaseRecord | null {
    return this.current;
  }

  /** One look at the lease (never two at once). */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.look()
      .catch((error: unknown) => this.options.log.error({ err: error }, `controller lease: ${(error as Error).message}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async look(): Promise<void> {
    const { store, holder, time, leaseMs } = this.options;
    const now = time.now().getTime();
    const expiresAt = new Date(now + leaseMs);
    const lease = await store.leases.get(CONTROLLER_LEASE);
    this.current = lease;
    if (!lease) {
      const created = await store.leases.create({ name: CONTROLLER_LEASE, holder, term: 1, renewals: 0, expiresAt });
      if (created) await this.win(created, now);
      return;
    }
    if (this.term !== null) {
      if (lease.holder === holder && lease.term === this.term) {
        const renewed = await store.leases.swap(CONTROLLER_LEASE, lease, { holder, term: this.term, renewals: lease.renewals + 1, expiresAt });
        if (renewed) {
          this.current = renewed;
          this.renewedAt = now;
          return;
        }
      }
      this.lose(`the lease is held by ${lease.holder} for term ${lease.term}`);
      return;
    }
    // Our own name on a lease we do not hold in this process: an earlier process of this server, now gone.
    const ours = lease.holder === holder;
    if (!this.seen || this.seen.term !== lease.term || this.seen.renewals !== lease.renewals || this.seen.holder !== lease.holder) {
      this.seen = { term: lease.term, renewals: lease.renewals, holder: lease.holder, at: now };
      if (!ours) return;
    }
    const silentFor = now - Math.max(this.seen.at, this.startedAt);
    if (!ours && silentFor < leaseMs) return;
    const taken = await store.leases.swap(CONTROLLER_LEASE, lease, { holder, term: lease.term + 1, renewals: 0, expiresAt });
    if (taken) await this.win(taken, now);
  }

  private async win(lease: LeaseRecord, now: number): Promise<void> {
    this.current = lease;
    this.term = lease.term;
    this.renewedAt = now;
    this.seen = undefined;
    await this.options.elected(lease.term);
  }

  private lose(why: string): void {
    const term = this.term;
    this.term = null;
    this.seen = undefined;
    if (term !== null) this.options.deposed(term, why);
  }

  /** Called by the controller when the store refused one of its writes as fenced by a newer term. */
  fencedOut(why: string): void {
    this.lose(why);
  }
}
