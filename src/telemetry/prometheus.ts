// What /metrics exposes, in Prometheus' conventions through prom-client: per-endpoint gauges read from the store at each scrape, and this process's counters and histograms.
import pLimit from 'p-limit';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../events/bus.js';
import { InstanceEventKinds } from '../model/events.js';
import { ENDPOINT_STATES, INSTANCE_STATUSES } from '../model/states.js';
import type { EndpointRecord, InstanceRecord, MetricSampleRecord, Store } from '../store/types.js';
import { countStoreErrors } from './store-errors.js';

/** What the gauges read at each scrape. */
export interface TelemetrySources {
  store: Store;
  bus: EventBus;
  /** The local nginx driver's counts, when this server runs one. */
  balancer?: () => { reloads: number; restarts: number; peerUpdates: number } | undefined;
}

/** Store reads of one scrape that run at once (one latest sample and one latest decision per endpoint). */
const SCRAPE_CONCURRENCY = 16;

/** Seconds: GraphQL requests are mostly milliseconds; mutations that wait on the store can take longer. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Per endpoint (read from the store when scraped, so they agree with the
 * API): `reactor_endpoint_instances{status}`, `reactor_endpoint_state`,
 * `reactor_endpoint_target` (the latest decision's), and every metric of
 * the latest sample as `reactor_endpoint_metric{metric}` with
 * `reactor_endpoint_sample_instances` (N).
 *
 * Since this process started: decisions, instance launches, removals and
 * launch failures (counted as they are published), nginx reloads and
 * restarts, API request durations, open subscriptions, store errors, and
 * prom-client's process metrics.
 */
export class Telemetry {
  readonly registry = new Registry();
  private sources: TelemetrySources | undefined;
  private reading: Promise<EndpointSnapshot> | undefined;
  private unwatch: (() => void)[] = [];
  private readonly storeErrors: Counter<'operation'>;
  private readonly requests: Histogram<'operation' | 'outcome'>;
  private readonly subscriptions: Gauge<'topic'>;
  private readonly decisions: Counter<'endpoint' | 'round'>;
  private readonly launches: Counter<'endpoint'>;
  private readonly removals: Counter<'endpoint'>;
  private readonly launchFailures: Counter<'endpoint' | 'reason'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'reactor_' });
    // Gauges prom-client names *_total, which Prometheus' conventions (and promtool) keep for counters.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(`reactor_${name}`);
    }
    this.storeErrors = new Counter({
      name: 'reactor_store_errors_total',
      help: 'Store calls that failed (not answers such as CONFLICT or NOT_FOUND), by repository operation.',
      labelNames: ['operation'],
      registers,
    });
    this.requests = new Histogram({
      name: 'reactor_api_request_duration_seconds',
      help: 'GraphQL requests over HTTP, from receipt to response, by operation type and outcome.',
      labelNames: ['operation', 'outcome'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.subscriptions = new Gauge({
      name: 'reactor_api_subscriptions_open',
      help: 'GraphQL subscriptions open now, by subscription field.',
      labelNames: ['topic'],
      registers,
    });
    this.decisions = new Counter({
      name: 'reactor_decisions_total',
      help: 'Scaling decisions kept (every evaluation, and trigger rounds that acted), by endpoint and round.',
      labelNames: ['endpoint', 'round'],
      registers,
    });
    this.launches = new Counter({
      name: 'reactor_instance_launches_total',
      help: 'Containers started for instances (INSTANCE_STARTED events), by endpoint.',
      labelNames: ['endpoint'],
      registers,
    });
    this.removals = new Counter({
      name: 'reactor_instance_removals_total',
      help: 'Instances removed (INSTANCE_REMOVED events), by endpoint.',
      labelNames: ['endpoint'],
      registers,
    });
    this.launchFailures = new Counter({
      name: 'reactor_instance_launch_failures_total',
      help: 'Launches that failed (image unavailable, engine error, exited or not ready before serving), by endpoint and reason.',
      labelNames: ['endpoint', 'reason'],
      registers,
    });
    this.balancerCounters(registers);
    this.endpointGauges(registers);
  }

  /** The same store, its failures counted in `reactor_store_errors_total`. */
  instrument(store: Store): Store {
    return countStoreErrors(store, (operation) => this.storeErrors.inc({ operation }));
  }

  /** Starts counting what the server publishes, and reading the store at each scrape. */
  attach(sources: TelemetrySources): void {
    this.sources = sources;
    this.unwatch.push(
      sources.bus.watch('scalingDecisions', (decision) => {
        const round = (decision.record as { round?: unknown }).round === 'trigger' ? 'trigger' : 'evaluate';
        this.decisions.inc({ endpoint: decision.endpoint, round });
      }),
      sources.bus.watch('endpointEvents', (event) => {
        if (event.kind === InstanceEventKinds.INSTANCE_STARTED) this.launches.inc({ endpoint: event.endpoint });
        else if (event.kind === InstanceEventKinds.INSTANCE_REMOVED) this.removals.inc({ endpoint: event.endpoint });
        const failure = event.data.failure;
        // A health check failing after the instance served is not a failed launch.
        if (typeof failure === 'string' && failure !== 'HEALTH_CHECK') this.launchFailures.inc({ endpoint: event.endpoint, reason: failure });
      }),
    );
  }

  detach(): void {
    for (const stop of this.unwatch) stop();
    this.unwatch = [];
  }

  /** One GraphQL request over HTTP took `seconds`. */
  observeRequest(operation: string, outcome: 'ok' | 'error', seconds: number): void {
    this.requests.observe({ operation, outcome }, seconds);
  }

  /** A subscription opened (+1) or ended (-1). */
  subscription(topic: string, delta: 1 | -1): void {
    this.subscriptions.inc({ topic }, delta);
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** nginx reloads, restarts and peer updates, read from the driver at scrape time (it keeps the counts). */
  private balancerCounters(registers: Registry[]): void {
    const telemetry = this;
    const seen = { reloads: 0, restarts: 0, peerUpdates: 0 };
    const counter = (name: string, help: string, key: keyof typeof seen) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const stats = telemetry.sources?.balancer?.();
          if (!stats) return;
          // A new driver (a restarted balancer) counts from 0 again: only growth is added.
          const delta = stats[key] >= seen[key] ? stats[key] - seen[key] : stats[key];
          seen[key] = stats[key];
          if (delta > 0) this.inc(delta);
        },
      });
    counter('reactor_nginx_reloads_total', 'Configuration reloads asked of the local nginx master.', 'reloads');
    counter('reactor_nginx_restarts_total', 'Local nginx masters started again after one died.', 'restarts');
    counter('reactor_nginx_peer_updates_total', 'Membership changes pushed to the local nginx Lua balancer without a reload.', 'peerUpdates');
  }

  /**
   * One read of the store per scrape, shared by the five per-endpoint
   * gauges: prom-client collects every metric of a scrape at once, so each
   * gauge's collect awaits the same read and takes its part.
   */
  private snapshot(): Promise<EndpointSnapshot | null> {
    const store = this.sources?.store;
    if (!store) return Promise.resolve(null);
    this.reading ??= readEndpoints(store).finally(() => (this.reading = undefined));
    return this.reading;
  }

  private endpointGauges(registers: Registry[]): void {
    const telemetry = this;
    const gauge = (name: string, help: string, labelNames: string[], fill: (gauge: Gauge<string>, snapshot: EndpointSnapshot) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const snapshot = await telemetry.snapshot();
          this.reset();
          if (snapshot) fill(this, snapshot);
        },
      });
    gauge('reactor_endpoint_instances', 'Instances of the endpoint by status (the instance records, as the API lists them).', ['endpoint', 'status'], (g, s) => {
      for (const endpoint of s.endpoints) for (const status of INSTANCE_STATUSES) g.set({ endpoint: endpoint.name, status }, 0);
      for (const record of s.instances) g.inc({ endpoint: record.endpoint, status: record.status });
    });
    gauge('reactor_endpoint_state', 'The endpoint state: 1 for the state it is in, 0 for the others.', ['endpoint', 'state'], (g, s) => {
      for (const endpoint of s.endpoints) for (const state of ENDPOINT_STATES) g.set({ endpoint: endpoint.name, state }, endpoint.state === state ? 1 : 0);
    });
    gauge('reactor_endpoint_target', "The target instance count of the endpoint's latest scaling decision.", ['endpoint'], (g, s) => {
      for (const [endpoint, target] of s.targets) g.set({ endpoint }, target);
    });
    gauge('reactor_endpoint_sample_instances', "Instances that reported in the endpoint's latest metric sample (N).", ['endpoint'], (g, s) => {
      for (const [endpoint, sample] of s.samples) g.set({ endpoint }, sample.instances);
    });
    gauge(
      'reactor_endpoint_metric',
      "Every metric of the endpoint's latest sample: per-instance averages of active, rate, bytes, response, pending, errors and custom metrics.",
      ['endpoint', 'metric'],
      (g, s) => {
        for (const [endpoint, sample] of s.samples) {
          for (const [metric, value] of Object.entries(sample.metrics)) {
            if (typeof value === 'number' && Number.isFinite(value)) g.set({ endpoint, metric }, value);
          }
        }
      },
    );
  }
}

/** What the per-endpoint gauges show, read in one go. */
interface EndpointSnapshot {
  endpoints: EndpointRecord[];
  instances: InstanceRecord[];
  samples: Map<string, MetricSampleRecord>;
  targets: Map<string, number>;
}

async function readEndpoints(store: Store): Promise<EndpointSnapshot> {
  const [endpoints, instances] = await Promise.all([store.endpoints.list(), store.instances.list()]);
  const samples = new Map<string, MetricSampleRecord>();
  const targets = new Map<string, number>();
  const limit = pLimit(SCRAPE_CONCURRENCY);
  await Promise.all(
    endpoints.map((endpoint) =>
      limit(async () => {
        const [sample, decisions] = await Promise.all([store.samples.latest(endpoint.name), store.decisions.list(endpoint.name, { limit: 1 })]);
        if (sample) samples.set(endpoint.name, sample);
        const target = (decisions[0]?.record as { target?: unknown } | undefined)?.target;
        if (typeof target === 'number') targets.set(endpoint.name, target);
      }),
    ),
  );
  return { endpoints, instances, samples, targets };
}
