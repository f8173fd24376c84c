// The cluster's half of "is this decommissioned instance drained?": what every host's balancer measured of a backend after the instance left every balancer.
import type { Store } from '../store/types.js';

/** Other hosts' balancers drop a decommissioned instance within their sync poll (2 s at most): this, with a margin. */
export const REMOTE_SETTLE_MS = 4000;
/** Beyond two share intervals: a late share, a gap between reads (`MAX_READ_GAP_MS`), the drain poll and a store round trip. */
const COVER_MARGIN_MS = 3000;
/** Reads further apart than this make the start of a share uncertain: counting starts over (see `connections`). */
const MAX_READ_GAP_MS = 1000;

interface Seen {
  /** The share's interval began no earlier than this (controller clock; -Infinity = unknown). */
  beganAfterMs: number;
  /** Open connections at the share's end, or 1 when it only answered requests. */
  busy: number;
  /** When this reader found the share (controller clock). */
  readMs: number;
}

/**
 * A host writes one share per endpoint and interval while it has traffic
 * (and one all-zero share when it goes quiet), listing the endpoint's
 * draining backends too. A share read now but absent from the previous
 * read was written after that read, so its interval began no earlier than
 * that read's time minus its length: the controller's clock only, whatever
 * the hosts' clocks say.
 *
 * A backend whose instance was decommissioned at D left every balancer by
 * L = D + `REMOTE_SETTLE_MS`. From then on, every host with a connection to
 * it at the end of an interval that began after L writes a share saying so
 * within two intervals (the first such interval begins within one). So the
 * backend's count is unknown (NaN) until L + 2 intervals + a margin, and
 * after that the sum of each host's newest share that began after L (a
 * host without one was quiet). Example (10 s intervals): decommissioned at
 * 0, L = 4 s; host B's share of [−1, 9] does not count, its share of [9, 19]
 * does; the backend is not counted drained before 27 s.
 */
export class DrainingShares {
  private seq: number | undefined;
  private lastReadMs: number | undefined;
  /** Reads have followed each other without a gap since then. */
  private steadySinceMs = 0;
  /** Backend address → host → its newest share that lists the address. */
  private readonly newest = new Map<string, Map<string, Seen>>();

  constructor(private readonly options: { store: Store; now: () => number; intervalMs: number }) {}

  private get coverMs(): number {
    return 2 * this.options.intervalMs + COVER_MARGIN_MS;
  }

  /** `draining`: backend address → when its instance was decommissioned (ms). Returns open connections per address, NaN while not yet known. */
  async connections(draining: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const readMs = this.options.now();
    await this.read(readMs);
    const counts = new Map<string, number>();
    for (const [address, decommissionedAtMs] of draining) {
      const left = decommissionedAtMs + REMOTE_SETTLE_MS;
      if (readMs < Math.max(left, this.steadySinceMs) + this.coverMs) {
        counts.set(address, NaN);
        continue;
      }
      let open = 0;
      for (const seen of this.newest.get(address)?.values() ?? []) if (seen.beganAfterMs >= left) open += seen.busy;
      counts.set(address, open);
    }
    return counts;
  }

  /** Takes in the shares stored since the last read. */
  private async read(readMs: number): Promise<void> {
    const { store } = this.options;
    const previous = this.lastReadMs;
    if (previous === undefined || readMs - previous > MAX_READ_GAP_MS) this.steadySinceMs = readMs;
    this.lastReadMs = readMs;
    // Start after what is stored: older shares say nothing about a drain that is watched from now on.
    this.seq ??= (await store.traffic.list(undefined, { limit: 1 }))[0]?.seq ?? 0;
    for (;;) {
      const page = await store.traffic.list(undefined, { afterSeq: this.seq, limit: 1000 });
      for (const share of page) {
        this.seq = Math.max(this.seq, share.seq ?? this.seq);
        const beganAfterMs = previous === undefined ? -Infinity : previous - share.seconds * 1000;
        for (const [address, b] of Object.entries(share.backends)) {
          const hosts = this.newest.get(address) ?? new Map<string, Seen>();
          hosts.set(share.managerId, { beganAfterMs, busy: b.active > 0 ? b.active : b.hits > 0 || b.errors > 0 ? 1 : 0, readMs });
          this.newest.set(address, hosts);
        }
      }
      if (page.length < 1000) break;
    }
    // A host that writes nothing more was quiet (or is gone): its old shares say nothing about now.
    for (const [address, hosts] of this.newest) {
      for (const [host, seen] of hosts) if (readMs - seen.readMs > this.coverMs) hosts.delete(host);
      if (hosts.size === 0) this.newest.delete(address);
    }
  }
}
