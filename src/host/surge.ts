// The surge detector: watches each endpoint's traffic over the last second and its held requests, and asks the controller for a scale-up round at once when the rules want more instances than it has (after Knative's panic mode).
import type { EndpointConfig } from '../config/model.js';
import type { EndpointView } from '../endpoints/backends.js';
import type { EndpointViews } from '../endpoints/views.js';
import type { EventRecorder } from '../events/recorder.js';
import type { Logger } from '../log/logger.js';
import type { BalancerLogLine } from '../metrics/log-line.js';
import type { RoundStart } from '../model/decision.js';
import { ControlEventKinds } from '../model/events.js';
import { decide } from '../scaling/decision.js';
import { countsAsCurrent, type InstanceView } from '../scaling/plan.js';
import type { InstanceRecord } from '../store/types.js';
import { Rerun } from '../lanes/rerun.js';
import { groupBy } from '../util/group.js';
import { systemTime, type Time, type Timer } from '../time/timers.js';

/** The short window a burst is read over, and how often it is read. */
export const SURGE_WINDOW_MS = 1000;
const CHECK_MS = 250;
/** After asking for a round, an endpoint is not asked for again this soon (the launch needs a moment to show in the store). */
const COOLDOWN_MS = 1000;

export interface SurgeOptions {
  /** The host's endpoints and instances (read from the store at most about once a second while nothing changes). */
  views: Pick<EndpointViews, 'read'>;
  events: EventRecorder;
  /** Requests held now per endpoint (the activator's). */
  held: () => ReadonlyMap<string, number>;
  time?: Time;
  log: Logger;
}

/** The sample a surge round decides with: what this host saw over the window, as per-instance averages over N serving instances. */
export interface SurgeSample {
  instances: number;
  metrics: { rate: number; held: number };
}

/**
 * What the rules would do with this short-window reading: the target when it
 * is above the current count (a scale-up round should run now), else null.
 * Pure. Worked example: rule `0 < rate < 5`, 1 instance serving, 40 requests
 * in the last second → rate 40/instance → 9..∞ → target 9 > 1: a round now.
 * With 3 requests held at 0 instances, target 1 > 0: a round now.
 */
export function surgeTarget(view: EndpointView, instances: readonly InstanceRecord[], sample: SurgeSample, now: Date): number | null {
  if (view.record.state !== 'RUNNING') return null;
  const config: EndpointConfig = view.config;
  const views: InstanceView[] = instances.map((i) => ({ id: i.id, status: i.status, active: 0, createdAt: i.createdAt, decommissionedAt: i.decommissionedAt }));
  let current = 0;
  for (const instance of views) if (countsAsCurrent(instance.status)) current++;
  if (current >= config.scaling.maxInstances) return null;
  const decision = decide(
    { endpoint: view.record.name, state: 'RUNNING', scaling: config.scaling, decommissionedTimeout: config.endpoint.decommissionedTimeout, sample, instances: views },
    now,
  );
  return decision.target > current ? decision.target : null;
}

/**
 * Fed every access log line as it arrives (not once an interval), it keeps
 * per endpoint the requests answered in the last SURGE_WINDOW_MS. Every
 * CHECK_MS, and at once when a request is held, each endpoint with traffic
 * is checked with `surgeTarget`; when the rules want more instances, a SURGE
 * event asks for a round (the controller hears it on the bus, or through the
 * store's feed when it is another server), at most once per COOLDOWN_MS per
 * endpoint. Only ever scale-up: scale-down waits for the interval.
 */
export class SurgeDetector {
  /** Endpoint → answered requests per time slot (slot = ms / CHECK_MS). */
  private readonly hits = new Map<string, Map<number, number>>();
  private readonly quietUntil = new Map<string, number>();
  private timer: Timer | undefined;
  private readonly checks = new Rerun(async () => {
    try {
      await this.checkOnce();
    } catch (error) {
      this.options.log.warn({ component: 'surge', err: error }, `burst check failed: ${(error as Error).message}`);
    }
  });
  private readonly time: Time;
  /** SURGE events recorded so far (for tests and benchmarks). */
  signalled = 0;

  constructor(private readonly options: SurgeOptions) {
    this.time = options.time ?? systemTime;
  }

  start(): void {
    this.timer ??= this.time.timers.setInterval(() => void this.checks.run(), CHECK_MS);
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.checks.current;
  }

  /** One access log line: a request answered (or refused) for its endpoints. */
  add(line: BalancerLogLine): void {
    const slot = Math.floor(this.time.now().getTime() / CHECK_MS);
    for (const endpoint of line.endpoints) {
      let slots = this.hits.get(endpoint);
      if (!slots) this.hits.set(endpoint, (slots = new Map()));
      slots.set(slot, (slots.get(slot) ?? 0) + 1);
    }
  }

  /** A request was held: check now rather than at the next tick (the check reads every endpoint's held count). */
  heldFor(): void {
    void this.checks.run();
  }

  /** Requests answered over the window, per endpoint; old slots are dropped. */
  private rates(nowMs: number): Map<string, number> {
    const first = Math.floor((nowMs - SURGE_WINDOW_MS) / CHECK_MS) + 1;
    const out = new Map<string, number>();
    for (const [endpoint, slots] of this.hits) {
      let sum = 0;
      for (const [slot, count] of slots) {
        if (slot < first) slots.delete(slot);
        else sum += count;
      }
      if (slots.size === 0) this.hits.delete(endpoint);
      if (sum > 0) out.set(endpoint, sum / (SURGE_WINDOW_MS / 1000));
    }
    return out;
  }

  private async checkOnce(): Promise<void> {
    const now = this.time.now();
    const rates = this.rates(now.getTime());
    const held = this.options.held();
    const candidates = new Set<string>();
    for (const [endpoint] of rates) candidates.add(endpoint);
    for (const [endpoint, count] of held) if (count > 0) candidates.add(endpoint);
    for (const endpoint of candidates) if ((this.quietUntil.get(endpoint) ?? 0) > now.getTime()) candidates.delete(endpoint);
    if (candidates.size === 0) return;
    // Read only while there is traffic to judge: an idle host never reads the store here.
    const { views, instances } = await this.options.views.read();
    // Grouped once: filtering every instance for each endpoint with traffic is quadratic when many burst together.
    const byEndpoint = groupBy(instances, (instance) => instance.endpoint);
    for (const view of views) {
      const endpoint = view.record.name;
      if (!candidates.has(endpoint) || view.config.endpoint.loadbalancer !== 'nginx') continue;
      const serving = view.backends.length;
      const holding = held.get(endpoint) ?? 0;
      const per = Math.max(1, serving);
      const sample: SurgeSample = { instances: serving, metrics: { rate: (rates.get(endpoint) ?? 0) / per, held: holding / per } };
      const mine = byEndpoint.get(endpoint) ?? [];
      const target = surgeTarget(view, mine, sample, now);
      if (target === null) continue;
      const startedBy: RoundStart = holding > 0 && serving === 0 ? 'held' : 'burst';
      // A held request is always served; a burst waits for the interval where the operator asked so.
      if (startedBy === 'burst' && !view.config.scaling.burstReaction) continue;
      this.quietUntil.set(endpoint, now.getTime() + COOLDOWN_MS);
      this.signalled += 1;
      const why =
        startedBy === 'held'
          ? `${holding} request${holding === 1 ? '' : 's'} held with no instance serving`
          : `${(rates.get(endpoint) ?? 0).toFixed(1)} requests/s over the last ${SURGE_WINDOW_MS / 1000} s on ${serving} serving instance${serving === 1 ? '' : 's'}`;
      await this.options.events.record(endpoint, ControlEventKinds.SURGE, `${startedBy}: ${why}; the rules want ${target}, a scale-up round now`, {
        startedBy,
        sample,
        target,
      });
    }
  }
}
