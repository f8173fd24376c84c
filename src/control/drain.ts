// Watches decommissioned instances drain, so each is removed as soon as its last connection closes (or its decommissioned_timeout passes), not at the next evaluation.
import type { RoundMode } from '../model/decision.js';
import type { InstanceRecord } from '../store/types.js';
import type { Time, Timer } from '../time/timers.js';
import type { TrafficReadings } from './options.js';

/** Between two readings of the connections while anything drains. */
export const DRAIN_POLL_MS = 250;
/** A drained instance whose round did not remove it is asked about again after this long. */
const ASK_AGAIN_MS = 1000;

/** Connection counts where each routed address counts at least 1: not drained while a balancer may still send to it. */
export function withRouted(active: ReadonlyMap<string, number>, routed: ReadonlySet<string> | null): ReadonlyMap<string, number> {
  if (!routed || routed.size === 0) return active;
  const merged = new Map(active);
  for (const address of routed) if (!((merged.get(address) ?? 0) > 0)) merged.set(address, 1);
  return merged;
}

/**
 * The connection counts of one round. An evaluation reads those taken with
 * its sample, except for draining addresses, read afresh with the drain
 * condition (a count from the round that decommissioned an instance says
 * nothing about requests sent to it since); a trigger round reads all
 * afresh. A routed address counts as busy.
 */
export async function roundConnections(
  mode: RoundMode,
  draining: ReadonlyMap<string, number>,
  sampled: ReadonlyMap<string, number>,
  traffic: Pick<TrafficReadings, 'connectionsNow' | 'routed'> | undefined,
): Promise<ReadonlyMap<string, number>> {
  let active: ReadonlyMap<string, number> = mode === 'evaluate' ? sampled : new Map();
  if (traffic && (mode !== 'evaluate' || draining.size > 0)) {
    const fresh = await traffic.connectionsNow(draining);
    if (mode !== 'evaluate') active = fresh;
    else {
      const merged = new Map(sampled);
      for (const address of draining.keys()) merged.set(address, fresh.get(address) ?? 0);
      active = merged;
    }
  }
  return withRouted(active, traffic?.routed?.() ?? null);
}

interface Draining {
  endpoint: string;
  address: string | null;
  decommissionedAtMs: number;
  askedAtMs: number | null;
}

export interface DrainWatchOptions {
  time: Time;
  /** Where connections and routed addresses are read; undefined while there is none yet. */
  traffic: () => Pick<TrafficReadings, 'connectionsNow' | 'routed'> | undefined;
  /** A trigger round of `endpoint` (its plan deletes what is drained or timed out). */
  reconcile: (endpoint: string, cause: string) => void;
  pollMs?: number;
}

/**
 * The steps of a drain: the controller writes the instance DECOMMISSIONED
 * (the balancer drops it, without a reload), requests in flight finish, and
 * once no balancer routes to it and it has no open connection — or its
 * `decommissioned_timeout` has passed — this watch asks for a trigger round
 * at once. That round's plan deletes it (REMOVING), and its host stops the
 * container with a grace period (SIGTERM, then a kill) and removes it.
 *
 * An address still routed counts as busy: between the decommission and the
 * balancer's update a request could still go there, and a container stopped
 * under it would fail it. Other hosts' balancers are not seen here: with
 * several hosts `connectionsNow` counts an address unknown (NaN, busy)
 * until their reports of a time after the instance left them are in.
 */
export class DrainWatch {
  private readonly draining = new Map<string, Draining>();
  /** Endpoint → its decommissioned_timeout in ms, as its latest round read it. */
  private readonly timeouts = new Map<string, number>();
  private timer: Timer | undefined;
  private polling = false;

  constructor(private readonly options: DrainWatchOptions) {}

  /** Follows one instance record as it changes: watched while DECOMMISSIONED, forgotten otherwise. */
  saw(instance: InstanceRecord, removed = false): void {
    if (!removed && instance.status === 'DECOMMISSIONED') {
      const known = this.draining.get(instance.id);
      const at = instance.decommissionedAt?.getTime() ?? this.now();
      if (!known || known.decommissionedAtMs !== at) {
        this.draining.set(instance.id, { endpoint: instance.endpoint, address: instance.address, decommissionedAtMs: at, askedAtMs: null });
      }
      this.ensureTimer();
    } else {
      this.draining.delete(instance.id);
      if (this.draining.size === 0) this.cancel();
    }
  }

  /** An endpoint's round read its config: its drain timeout in seconds (null: not managed, only connections count). */
  timeout(endpoint: string, seconds: number | null): void {
    if (seconds === null) this.timeouts.delete(endpoint);
    else this.timeouts.set(endpoint, seconds * 1000);
  }

  /** Instances being watched (for tests). */
  get size(): number {
    return this.draining.size;
  }

  stop(): void {
    this.cancel();
    this.draining.clear();
  }

  /** One reading: a round for every endpoint with an instance drained or timed out. */
  async poll(): Promise<void> {
    if (this.polling || this.draining.size === 0) return;
    this.polling = true;
    try {
      const traffic = this.options.traffic();
      if (!traffic) return;
      const since = new Map<string, number>();
      for (const drain of this.draining.values()) if (drain.address !== null) since.set(drain.address, drain.decommissionedAtMs);
      const active = withRouted(await traffic.connectionsNow(since), traffic.routed?.() ?? null);
      const now = this.now();
      const asked = new Map<string, string>();
      for (const drain of this.draining.values()) {
        if (drain.askedAtMs !== null && now - drain.askedAtMs < ASK_AGAIN_MS) continue;
        const timeout = this.timeouts.get(drain.endpoint);
        const timedOut = timeout !== undefined && now - drain.decommissionedAtMs >= timeout;
        const address = drain.address;
        // Not `!(n > 0)`: NaN (not known yet) is busy.
        const drained = address === null || (active.get(address) ?? 0) <= 0;
        if (!drained && !timedOut) continue;
        drain.askedAtMs = now;
        if (!asked.has(drain.endpoint)) asked.set(drain.endpoint, drained ? 'drained' : 'decommissioned_timeout');
      }
      for (const [endpoint, cause] of asked) this.options.reconcile(endpoint, cause);
    } finally {
      this.polling = false;
    }
  }

  private ensureTimer(): void {
    this.timer ??= this.options.time.timers.setInterval(() => void this.poll(), this.options.pollMs ?? DRAIN_POLL_MS);
  }

  private cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private now(): number {
    return this.options.time.now().getTime();
  }
}
