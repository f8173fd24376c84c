// Traffic shares: each host writes what its own nginx measured per endpoint and interval, and the controller adds up every host's shares into one reading.
import { readEndpointViews } from '../endpoints/backends.js';
import { newId } from '../store/ids.js';
import { groupBy } from '../util/group.js';
import type { BackendShare, Store, TrafficShareRecord } from '../store/types.js';
import type { BackendTotals, IntervalTotals, LogAccumulator } from './accumulator.js';
import type { ConnectionSampler } from './connections.js';

/** One reading of traffic, as the sampler takes it: counts over `seconds`, and open connections. */
export interface TrafficReading {
  totals: IntervalTotals;
  /** Mean open connections per backend address over the window. */
  active: Map<string, number>;
  /** Open connections per backend address at the end of it. */
  latest: ReadonlyMap<string, number>;
  seconds: number;
}

/** Where a sampler reads traffic when it is not (only) its own balancer's: the shares of every host. */
export interface TrafficSource {
  take(): Promise<TrafficReading>;
  /** Open connections per backend address as of the newest shares. */
  latest(): ReadonlyMap<string, number>;
}

export interface ShareReporterOptions {
  store: Store;
  managerId: string;
  accumulator: LogAccumulator;
  connections: ConnectionSampler;
  clock: () => Date;
}

const hasTraffic = (b: BackendShare) => b.hits > 0 || b.errors > 0 || b.active > 0;

/**
 * The host side: every interval, this host's nginx totals and connection
 * counts become one share per endpoint it balances, listing its backends in
 * rotation and its DECOMMISSIONED instances (see DrainingShares). Quiet endpoints write
 * nothing, except one all-zero share when they go quiet, so the controller
 * sees the drop rather than reusing the last busy share.
 */
export class ShareReporter {
  private lastAt: number;
  private busy = new Set<string>();

  constructor(private readonly options: ShareReporterOptions) {
    this.lastAt = options.clock().getTime();
  }

  async report(): Promise<TrafficShareRecord[]> {
    const { store, managerId, accumulator, connections, clock } = this.options;
    const now = clock();
    const seconds = Math.max(0.001, (now.getTime() - this.lastAt) / 1000);
    this.lastAt = now.getTime();
    const totals = accumulator.take();
    const active = await connections.take();
    const { views, instances } = await readEndpointViews(store);
    // Decommissioned instances are out of rotation but may still serve requests sent before: the controller deletes one only once every host says it is idle.
    const draining = groupBy(
      instances.filter((i) => i.status === 'DECOMMISSIONED' && i.address),
      (i) => i.endpoint,
    );
    const shares: TrafficShareRecord[] = [];
    const busy = new Set<string>();
    for (const view of views) {
      const backends: Record<string, BackendShare> = {};
      let any = false;
      const addresses = view.backends.map((b) => b.address);
      for (const instance of draining.get(view.record.name) ?? []) if (!addresses.includes(instance.address!)) addresses.push(instance.address!);
      for (const address of addresses) {
        const t: BackendTotals = totals.backends.get(address) ?? { hits: 0, bytes: 0, responseMs: 0, timed: 0, errors: 0 };
        const share = { ...t, active: active.get(address) ?? 0 };
        backends[address] = share;
        any ||= hasTraffic(share);
      }
      const pending = totals.pending.get(view.record.name) ?? 0;
      any ||= pending > 0;
      const name = view.record.name;
      if (any) busy.add(name);
      if (!any && !this.busy.has(name)) continue;
      shares.push({ id: newId(), endpoint: name, managerId, at: now, seconds, backends, pending });
    }
    this.busy = busy;
    await store.traffic.appendMany(shares);
    return shares;
  }
}

/** Counts of one backend that sum across shares. */
type Counts = Pick<BackendShare, 'hits' | 'bytes' | 'errors'>;

interface Carried {
  /** Per backend: counts per second of the host's latest shares. */
  rates: Map<string, Counts>;
  /** Per backend: counts lent to rounds that had no share of this host (repaid from its next one). */
  debt: Map<string, Counts>;
  /** Per backend: open connections as of the host's latest share. */
  active: Map<string, number>;
  /** Seconds the host's latest shares covered: a loan never covers more than that. */
  window: number;
  /** The take that last consumed a share of this host and endpoint. */
  round: number;
}

const zero = (): Counts => ({ hits: 0, bytes: 0, errors: 0 });

/**
 * The controller side: each `take` reads the shares stored since the last
 * one (by sequence number, so every share counts once, whatever the hosts'
 * clocks) and adds them up per backend over the controller's own window.
 *
 * The hosts' timers run beside the controller's, so a round sometimes finds
 * no share of a host yet and the next finds two. Rather than a dip to 0 and
 * a double spike (which would make the autoscaler flap), a round without a
 * share of a host lends it that host's latest rate for one round, and the
 * next share repays the loan: every counted request is counted once.
 *
 * Example (1 s rounds): h2's share says 30 requests to A in 1 s, h3's 10 to
 * A in 1 s → A 40/s. Next round h3's share is late: A gets 30 + 10 (lent).
 * The round after, h3 brings two shares (10 + 12): 22 − 10 lent = 12 counted.
 */
export class StoredShares implements TrafficSource {
  private seq: number | undefined;
  private round = 0;
  private lastTake: number | undefined;
  private readonly carried = new Map<string, Carried>();
  private newest: ReadonlyMap<string, number> = new Map();

  /**
   * `wait` pauses before reading again for a host whose share is late: a
   * share a moment late is then counted in its own round, and only one that
   * stays missing is stood in for. Default: no waiting (tests).
   */
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly wait: { sleep: (ms: number) => Promise<void>; stepMs: number; maxMs: number } | undefined = undefined,
  ) {}

  latest(): ReadonlyMap<string, number> {
    return this.newest;
  }

  async take(): Promise<TrafficReading> {
    this.round += 1;
    const now = this.now();
    const seconds = this.lastTake === undefined ? 1 : Math.max(0.001, (now - this.lastTake) / 1000);
    this.lastTake = now;
    if (this.seq === undefined) {
      // Start after what is stored: older shares are history.
      this.seq = (await this.store.traffic.list(undefined, { limit: 1 }))[0]?.seq ?? 0;
    }
    const fresh = new Map<string, TrafficShareRecord[]>();
    await this.read(fresh);
    // Hosts that sent a busy share last round and none yet this round: usually a moment late, so wait a little.
    if (this.wait) {
      const late = () => [...this.carried].some(([key, c]) => c.round === this.round - 1 && !fresh.has(key) && [...c.rates.values()].some((r) => r.hits > 0 || r.errors > 0));
      for (let waited = 0; waited < this.wait.maxMs && late(); waited += this.wait.stepMs) {
        await this.wait.sleep(this.wait.stepMs);
        await this.read(fresh);
      }
    }
    const totals: IntervalTotals = { backends: new Map(), pending: new Map(), lines: 0 };
    const active = new Map<string, number>();
    const add = (address: string, counts: Counts, responseMs = 0, timed = 0) => {
      const sum = totals.backends.get(address) ?? { hits: 0, bytes: 0, responseMs: 0, timed: 0, errors: 0 };
      sum.hits += counts.hits;
      sum.bytes += counts.bytes;
      sum.errors += counts.errors;
      sum.responseMs += responseMs;
      sum.timed += timed;
      totals.backends.set(address, sum);
    };
    for (const [key, shares] of fresh) {
      const carried = this.carried.get(key) ?? { rates: new Map(), debt: new Map(), active: new Map(), window: 1, round: this.round };
      carried.round = this.round;
      const window = shares.reduce((n, s) => n + s.seconds, 0);
      const sums = new Map<string, BackendShare>();
      for (const share of shares) {
        for (const [address, b] of Object.entries(share.backends)) {
          const sum = sums.get(address) ?? { hits: 0, bytes: 0, responseMs: 0, timed: 0, errors: 0, active: 0 };
          sum.hits += b.hits;
          sum.bytes += b.bytes;
          sum.errors += b.errors;
          sum.responseMs += b.responseMs;
          sum.timed += b.timed;
          sum.active = b.active; // as of the latest share
          sums.set(address, sum);
        }
        if (share.pending > 0) totals.pending.set(share.endpoint, (totals.pending.get(share.endpoint) ?? 0) + share.pending);
      }
      carried.rates = new Map();
      carried.active = new Map();
      carried.window = window;
      const debt = new Map<string, Counts>();
      for (const [address, sum] of sums) {
        carried.active.set(address, sum.active);
        const owed = carried.debt.get(address) ?? zero();
        add(address, { hits: Math.max(0, sum.hits - owed.hits), bytes: Math.max(0, sum.bytes - owed.bytes), errors: Math.max(0, sum.errors - owed.errors) }, sum.responseMs, sum.timed);
        // What was lent beyond what came in is repaid by later shares.
        const left = { hits: Math.max(0, owed.hits - sum.hits), bytes: Math.max(0, owed.bytes - sum.bytes), errors: Math.max(0, owed.errors - sum.errors) };
        if (left.hits > 0 || left.bytes > 0 || left.errors > 0) debt.set(address, left);
        active.set(address, (active.get(address) ?? 0) + sum.active);
        carried.rates.set(address, { hits: sum.hits / window, bytes: sum.bytes / window, errors: sum.errors / window });
      }
      carried.debt = debt;
      this.carried.set(key, carried);
    }
    for (const [key, carried] of this.carried) {
      if (fresh.has(key)) continue;
      if (carried.round < this.round - 1) {
        this.carried.delete(key);
        continue;
      }
      // No share of this host this round: lend it its latest rate, once, for no longer than its own shares cover.
      const lend = Math.min(seconds, carried.window);
      for (const [address, rate] of carried.rates) {
        const lent = { hits: rate.hits * lend, bytes: rate.bytes * lend, errors: rate.errors * lend };
        add(address, lent);
        active.set(address, (active.get(address) ?? 0) + (carried.active.get(address) ?? 0));
        const owed = carried.debt.get(address) ?? zero();
        carried.debt.set(address, { hits: owed.hits + lent.hits, bytes: owed.bytes + lent.bytes, errors: owed.errors + lent.errors });
      }
    }
    this.newest = active;
    return { totals, active, latest: active, seconds };
  }

  /** Adds the shares stored after the last one read, by host and endpoint. */
  private async read(fresh: Map<string, TrafficShareRecord[]>): Promise<void> {
    for (;;) {
      const page = await this.store.traffic.list(undefined, { afterSeq: this.seq, limit: 1000 });
      for (const share of page) {
        const key = `${share.endpoint}\u0000${share.managerId}`;
        const list = fresh.get(key);
        if (list) list.push(share);
        else fresh.set(key, [share]);
        this.seq = Math.max(this.seq!, share.seq ?? this.seq!);
      }
      if (page.length < 1000) return;
    }
  }
}
