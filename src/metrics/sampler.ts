// Every interval: turns the balancer's totals and the custom metrics into one sample per endpoint, stores it, publishes it, prunes old ones.
import { readEndpointViews, type EndpointView } from '../endpoints/backends.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log/logger.js';
import { aggregateMetrics, type InstanceReport } from '../scaling/aggregate.js';
import { newId } from '../store/ids.js';
import type { CustomMetricsRecord, InstanceRecord, MetricSampleRecord, Store } from '../store/types.js';
import type { BackendTotals, IntervalTotals, LogAccumulator } from './accumulator.js';
import type { ConnectionSampler } from './connections.js';
import { DrainingShares } from './draining.js';
import type { TrafficSource } from './shares.js';
import { groupBy } from '../util/group.js';
import { wallClock } from '../time/timers.js';

export const DEFAULT_SAMPLE_INTERVAL_SECONDS = 10;
export const DEFAULT_RETENTION_SECONDS = 24 * 60 * 60;
/** Pruning runs at most this often. */
const PRUNE_EVERY_MS = 60_000;

export interface MetricsSamplerOptions {
  store: Store;
  bus: EventBus;
  /** Seconds between samples. */
  intervalSeconds?: number;
  /** Samples older than this are deleted. */
  retentionSeconds?: number;
  /** The balancer's log totals; absent when no nginx runs here (then only instance counts and custom metrics). */
  accumulator?: LogAccumulator;
  /** Open connections per backend; absent = `active` is not measured. */
  connections?: ConnectionSampler;
  /** Backend addresses the local balancer routes to now (a draining instance is not drained while routed). */
  routed?: () => ReadonlySet<string>;
  /** Requests the host's activator holds now, per endpoint (the `held` metric); absent = not measured here. */
  held?: () => ReadonlyMap<string, number>;
  /** Read traffic from here instead of the accumulator and connections: the shares of every host (a cluster). */
  source?: TrafficSource;
  /** With `source`: this host's open connections per backend now (/proc), added to the shared counts of a draining backend. */
  live?: () => Promise<ReadonlyMap<string, number>>;
  clock?: () => Date;
  log?: Logger;
  /**
   * Sample on the sampler's own timer (default true). The control loop sets
   * false and calls `tick()` itself, so every evaluation decides with a
   * sample taken just before it, and the two never drift apart.
   */
  ownTimer?: boolean;
}

/** One backend's built-in per-instance metrics over `seconds`. */
export function builtinMetrics(totals: BackendTotals | undefined, active: number, seconds: number): Record<string, number> {
  const t = totals ?? { hits: 0, bytes: 0, responseMs: 0, timed: 0, errors: 0 };
  const metrics: Record<string, number> = {
    active,
    rate: t.hits / seconds,
    bytes: t.bytes / seconds,
    errors: t.errors / seconds,
  };
  // An instance that answered nothing has no response time; it is left out of the mean, not counted as 0 ms.
  if (t.timed > 0) metrics.response = t.responseMs / t.timed;
  return metrics;
}

/**
 * The sample of one endpoint, pure. Per backend in rotation, a report of
 * active / rate / bytes / response / errors (nginx endpoints) plus the
 * instance's own custom `[weight, value]` pairs; then `aggregateMetrics`
 * (src/scaling) gives the per-instance averages and N, with the
 * endpoint-wide custom pairs joining the weighted averages. `pending` is the
 * endpoint's rate of requests that found no instance: it is not divided by N
 * (it is non-zero exactly when N is 0, or every instance is out).
 *
 * Worked example (interval 10 s): backends A and B served 300 and 360
 * requests with 4 and 2 open connections → rate 33, active 3, N 2.
 */
export function endpointSample(input: {
  view: EndpointView;
  totals: IntervalTotals;
  active: Map<string, number>;
  custom: readonly CustomMetricsRecord[];
  seconds: number;
  /** Requests held at this moment for the endpoint (a gauge, not a rate). */
  held?: number;
}): { instances: number; metrics: Record<string, number> } {
  const { view, totals, active, custom, seconds } = input;
  const nginx = view.config.endpoint.loadbalancer === 'nginx';
  // This runs for every backend of every endpoint each interval: no spreads, and the per-instance custom metrics indexed only if there are any.
  let own: Map<string, Readonly<Record<string, unknown>>> | undefined;
  let endpointWide: Readonly<Record<string, unknown>> | undefined;
  for (const c of custom) {
    if (c.instance === '') endpointWide ??= c.metrics;
    else (own ??= new Map()).set(c.instance, c.metrics);
  }
  const reports: InstanceReport[] = view.backends.map((backend) => {
    const metrics: Record<string, unknown> = nginx ? builtinMetrics(totals.backends.get(backend.address), active.get(backend.address) ?? 0, seconds) : {};
    const mine = own?.get(backend.instance);
    if (mine) Object.assign(metrics, mine);
    return { instance: backend.instance, metrics };
  });
  const aggregated = aggregateMetrics(reports, endpointWide);
  const metrics: Record<string, number> = nginx ? Object.assign({ active: 0, rate: 0, bytes: 0 }, aggregated.metrics) : aggregated.metrics;
  if (nginx) metrics.pending = (totals.pending.get(view.record.name) ?? 0) / seconds;
  // Held requests per instance; at N = 0 the endpoint's total (the decision reads it as one instance's, see decide()).
  if (nginx && input.held !== undefined) metrics.held = input.held / Math.max(1, aggregated.instances);
  return { instances: aggregated.instances, metrics };
}

export class MetricsSampler {
  private timer: NodeJS.Timeout | undefined;
  private lastAt: number;
  private lastPrune = 0;
  private running: Promise<unknown> | undefined;
  private readonly clock: () => Date;
  private readonly intervalSeconds: number;
  private readonly retentionSeconds: number;
  /** With `source`: what every host measured of draining backends since they left the balancers. */
  private readonly draining: DrainingShares | undefined;
  /** Open connections per backend address at the end of the latest tick (not averaged). */
  latestConnections: ReadonlyMap<string, number> = new Map();

  constructor(private readonly options: MetricsSamplerOptions) {
    this.clock = options.clock ?? wallClock;
    this.intervalSeconds = options.intervalSeconds ?? DEFAULT_SAMPLE_INTERVAL_SECONDS;
    this.retentionSeconds = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    this.lastAt = this.clock().getTime();
    if (options.source) this.draining = new DrainingShares({ store: options.store, now: () => this.clock().getTime(), intervalMs: this.intervalSeconds * 1000 });
  }

  start(): void {
    if (this.timer) return;
    this.lastAt = this.clock().getTime();
    this.options.connections?.start();
    // The accumulator counted since it was made; start the first interval now.
    this.options.accumulator?.take();
    if (this.options.ownTimer === false) return;
    this.timer = setInterval(() => {
      if (this.running) return; // a slow store never stacks ticks
      this.running = this.tick()
        .catch((error: unknown) => this.options.log?.error({ component: 'metrics', err: error }, `sampling failed: ${(error as Error).message}`))
        .finally(() => (this.running = undefined));
    }, this.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.options.connections?.stop();
    await this.running;
  }

  /**
   * Open connections per backend address right now (empty when `active` is
   * not measured here). `draining` maps the address of each decommissioned
   * instance to when it was decommissioned (ms). With one host that changes
   * nothing: the local count is the whole truth. In a cluster the newest
   * shares answer for the rest, and a draining address counts what every
   * host measured after the instance left every balancer, plus this host's
   * open connections now; NaN (busy) until that is known (see DrainingShares).
   */
  async connectionsNow(draining?: ReadonlyMap<string, number>): Promise<ReadonlyMap<string, number>> {
    const { source, live } = this.options;
    if (!source) return (await this.options.connections?.current()) ?? new Map();
    if (!draining || draining.size === 0 || !this.draining) return source.latest();
    const [shared, local] = await Promise.all([this.draining.connections(draining), live?.() ?? new Map<string, number>()]);
    const counts = new Map(source.latest());
    for (const address of draining.keys()) counts.set(address, (shared.get(address) ?? NaN) + (local.get(address) ?? 0));
    return counts;
  }

  /** Backend addresses the local balancer routes to now; null without a local balancer. */
  routed(): ReadonlySet<string> | null {
    return this.options.routed?.() ?? null;
  }

  /** Takes one sample of every endpoint now (the timer or the control loop calls this; tests may too). */
  async tick(): Promise<MetricSampleRecord[]> {
    const now = this.clock();
    let seconds = Math.max(0.001, (now.getTime() - this.lastAt) / 1000);
    this.lastAt = now.getTime();
    let totals: IntervalTotals;
    let active: Map<string, number>;
    if (this.options.source) {
      const reading = await this.options.source.take();
      ({ totals, active, seconds } = reading);
      this.latestConnections = reading.latest;
    } else {
      totals = this.options.accumulator?.take() ?? { backends: new Map(), pending: new Map(), lines: 0 };
      active = (await this.options.connections?.take()) ?? new Map<string, number>();
      this.latestConnections = this.options.connections?.latest ?? new Map();
    }
    const { store, bus } = this.options;
    const [{ views, instances }, custom] = await Promise.all([readEndpointViews(store), store.customMetrics.list()]);
    const samples: MetricSampleRecord[] = [];
    const customByEndpoint = groupBy(custom, (record) => record.endpoint);
    const held = this.options.held?.();
    for (const view of views) {
      const mine = customByEndpoint.get(view.record.name) ?? [];
      const { instances: count, metrics } = endpointSample({ view, totals, active, custom: mine, seconds, held: held ? (held.get(view.record.name) ?? 0) : undefined });
      samples.push({ id: newId(), endpoint: view.record.name, at: now, instances: count, metrics });
    }
    // One write for the whole interval, then the live stream: stored before anyone is told.
    await store.samples.appendMany(samples);
    for (const sample of samples) bus.publish('metricSamples', sample);
    await this.forgetGone(custom, views, instances);
    if (now.getTime() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now.getTime();
      await store.samples.prune(new Date(now.getTime() - this.retentionSeconds * 1000));
      if (this.options.source) await store.traffic.prune(new Date(now.getTime() - this.retentionSeconds * 1000));
    }
    return samples;
  }

  /** Custom metrics of endpoints that were unmanaged or of instances that are gone. */
  private async forgetGone(custom: readonly CustomMetricsRecord[], views: readonly EndpointView[], records: readonly InstanceRecord[]) {
    if (custom.length === 0) return;
    const endpoints = new Set(views.map((v) => v.record.name));
    // Most custom metrics are endpoint-wide: the instance ids are indexed only when one is not.
    let instances: Set<string> | undefined;
    for (const record of custom) {
      if (!endpoints.has(record.endpoint)) await this.options.store.customMetrics.delete(record.endpoint);
      else if (record.instance !== '' && !(instances ??= new Set(records.map((i) => i.id))).has(record.instance)) {
        await this.options.store.customMetrics.delete(record.endpoint, record.instance);
      }
    }
  }
}
