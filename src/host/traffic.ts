// The host's balancer and traffic metrics, assembled: log receiver and accumulator, the nginx driver and its sync, the connection sampler and the metrics sampler.
import { join } from 'node:path';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { Logger } from '../log/logger.js';
import { findExecutable } from '../managers/probe.js';
import { LogAccumulator } from '../metrics/accumulator.js';
import { ConnectionSampler } from '../metrics/connections.js';
import type { BalancerLogLine } from '../metrics/log-line.js';
import { startLogReceiver, type LogReceiver } from '../metrics/receiver.js';
import { MetricsSampler } from '../metrics/sampler.js';
import { NginxDriver } from '../nginx/driver.js';
import { readBalancerState } from '../nginx/state-file.js';
import { BalancerSync } from '../nginx/sync.js';
import { EndpointViews } from '../endpoints/views.js';
import type { Store } from '../store/types.js';
import { systemTime, wallClock, type Time, type Timer } from '../time/timers.js';
import { ShareReporter, StoredShares } from '../metrics/shares.js';
import { Activator } from './activator.js';
import { SurgeDetector } from './surge.js';

export interface HostTrafficOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  /** nginx's prefix is `<dataDir>/nginx`. */
  dataDir: string;
  /** Run the local nginx (the local agent's balancer). */
  balancer: boolean;
  /** Where endpoint servers listen; default 0.0.0.0. */
  balancerAddress?: string;
  /** Seconds between samples; default 10. */
  intervalSeconds?: number;
  /** Seconds samples are kept; default 24 h. */
  retentionSeconds?: number;
  clock?: () => Date;
  /** The nginx driver's clock and timers (its polls and restart back-off); default the system's. */
  time?: Time;
  log: Logger;
  /** false when the control loop drives the sampler (calls its tick before each evaluation); default true. */
  sampleTimer?: boolean;
  /** The endpoints and backends the balancer's parts share (the server's, which the store feed also invalidates); default one of its own. */
  views?: EndpointViews;
}

/** The running balancer of this host: nginx, what keeps it in step with the store, and where its access log lines go. */
export interface LocalBalancer {
  driver: NginxDriver;
  sync: BalancerSync;
  accumulator: LogAccumulator;
  receiver: LogReceiver;
  /** Holds requests of endpoints with no serving instance, until one serves. */
  activator: Activator;
  /** Asks for a scale-up round at once when traffic or held requests outgrow the instances. */
  surge: SurgeDetector;
  /** Stops the sync and the receiver; nginx ends too unless `keepNginx`, and then serves its last configuration for the next server to adopt. */
  stop(keepNginx?: boolean): Promise<void>;
}

/**
 * Log lines flow receiver → accumulator; the driver tells nginx to send them
 * to the receiver's port, and records what it reports as endpoint events;
 * the sync applies the store's endpoints to the driver.
 */
async function startLocalBalancer(options: HostTrafficOptions, views: EndpointViews, binary: string, pollMs: number): Promise<LocalBalancer> {
  const { log } = options;
  const prefix = join(options.dataDir, 'nginx');
  // What a running nginx (left by an earlier server) was given: taking the same ports again keeps its
  // configuration as it is, so adopting it needs no reload.
  const left = readBalancerState(prefix);
  let surge: SurgeDetector | undefined;
  const activator = new Activator({ views, bus: options.bus, events: options.events, time: options.time, log, onHeld: () => surge?.heldFor() });
  const leftFallback = left?.model.find((endpoint) => endpoint.fallback)?.fallback;
  const fallback = await activator.start(leftFallback ? Number(leftFallback.slice(leftFallback.lastIndexOf(':') + 1)) : 0);
  surge = new SurgeDetector({ views, events: options.events, held: () => activator.heldCounts(), time: options.time, log });
  const accumulator = new LogAccumulator(fallback);
  const onLine = (line: BalancerLogLine) => {
    accumulator.add(line);
    surge!.add(line);
  };
  // The port that nginx sends its access log to: taking it again keeps its lines coming.
  const previous = left?.syslogPort;
  const receiver = await startLogReceiver(onLine, previous).catch(() => startLogReceiver(onLine));
  const driver = new NginxDriver({
    binary,
    prefix,
    listenAddress: options.balancerAddress,
    syslogPort: receiver.port,
    time: options.time,
    log,
    report: async (report) => {
      for (const endpoint of report.endpoints) {
        await options.events.record(endpoint, report.kind, report.message, report.data);
      }
    },
  });
  try {
    await driver.start();
  } catch (error) {
    await receiver.close();
    await activator.stop();
    throw error;
  }
  const sync = new BalancerSync({ views, bus: options.bus, driver, pollMs, fallback, log });
  await sync.start();
  surge.start();
  return {
    driver,
    sync,
    accumulator,
    receiver,
    activator,
    surge,
    async stop(keepNginx = false) {
      await surge!.stop();
      await sync.stop();
      await activator.stop();
      if (keepNginx) await driver.detach();
      else await driver.stop();
      await receiver.close();
    },
  };
}

/** The backend addresses nginx sends requests to now (what it was last told and took). */
function routedBy(driver: NginxDriver): () => ReadonlySet<string> {
  return () => new Set(driver.current.flatMap((endpoint) => endpoint.backends.map((backend) => backend.address)));
}

/**
 * `start()` once the API listens, `stop()` before the store closes. Without
 * an nginx binary the balancer is left out (the manager already reports the
 * problem) and samples still carry instance counts and custom metrics.
 */
export class HostTraffic {
  balancer: LocalBalancer | undefined;
  sampler: MetricsSampler | undefined;
  /** With a shared store: what writes this host's shares of the traffic. */
  reporter: ShareReporter | undefined;
  private reporting: Timer | undefined;
  private connections: ConnectionSampler | undefined;
  private started = false;

  /** Built here, before the activator and the balancer sync start, so its bus watchers run before theirs (see EndpointViews). */
  readonly views: EndpointViews;

  constructor(private readonly options: HostTrafficOptions) {
    this.views = options.views ?? new EndpointViews({ store: options.store, bus: options.bus });
  }

  /**
   * Starts nginx (with a host) and the sampler. On a shared (MongoDB) store
   * the sampler reads every host's shares of the traffic, and this host
   * writes its own every interval as `managerId`.
   */
  async start(managerId?: string): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { options } = this;
    const shared = options.store.kind === 'mongodb';
    if (options.balancer) {
      const binary = findExecutable('nginx');
      if (!binary) {
        options.log.warn({ component: 'nginx' }, 'no nginx binary on PATH; endpoints are not balanced here (install nginx-light)');
      } else {
        try {
          this.balancer = await startLocalBalancer(options, this.views, binary, Math.min(2000, (options.intervalSeconds ?? 10) * 1000));
        } catch (error) {
          options.log.error({ component: 'nginx', err: error }, `the balancer did not start: ${(error as Error).message}`);
        }
      }
    }
    this.connections = this.balancer ? new ConnectionSampler() : undefined;
    this.sampler = new MetricsSampler({
      store: options.store,
      bus: options.bus,
      intervalSeconds: options.intervalSeconds,
      retentionSeconds: options.retentionSeconds,
      ...(shared ? { source: this.storedShares(), live: this.liveConnections() } : { accumulator: this.balancer?.accumulator, connections: this.connections }),
      routed: this.balancer ? routedBy(this.balancer.driver) : undefined,
      held: this.balancer ? () => this.balancer?.activator.heldCounts() ?? new Map() : undefined,
      clock: options.clock,
      log: options.log,
      ownTimer: options.sampleTimer,
    });
    this.sampler.start();
    if (shared && this.balancer && this.connections && managerId) {
      const clock = options.clock ?? wallClock;
      this.connections.start();
      this.balancer.accumulator.take(); // the first share starts now
      const reporter = new ShareReporter({ store: options.store, managerId, accumulator: this.balancer.accumulator, connections: this.connections, clock });
      this.reporter = reporter;
      let running: Promise<unknown> | undefined;
      this.reporting = (options.time ?? systemTime).timers.setInterval(() => {
        if (running) return;
        running = reporter
          .report()
          .catch((error: unknown) => options.log.error({ component: 'nginx', err: error }, `writing this host's share failed: ${(error as Error).message}`))
          .finally(() => (running = undefined));
      }, (options.intervalSeconds ?? 10) * 1000);
    }
  }

  /** Stops sampling and the balancer; with `keepNginx`, nginx goes on serving (see LocalBalancer.stop). */
  /**
   * Every host's shares, read by the controller's sampler. A host's share a
   * moment late is waited for, up to a fifth of an interval (at most 1 s),
   * so it counts in its own round.
   */
  private storedShares(): StoredShares {
    const { options } = this;
    const clock = options.clock ?? wallClock;
    const timers = (options.time ?? systemTime).timers;
    const maxMs = Math.min(1000, ((options.intervalSeconds ?? 10) * 1000) / 5);
    return new StoredShares(options.store, () => clock().getTime(), { sleep: (ms) => timers.sleep(ms), stepMs: 50, maxMs });
  }

  /** This host's open connections now, added to the shares of a draining backend (none without a local balancer). */
  private liveConnections(): (() => Promise<ReadonlyMap<string, number>>) | undefined {
    const connections = this.connections;
    return connections ? () => connections.current() : undefined;
  }

  async stop(keepNginx = false): Promise<void> {
    this.reporting?.cancel();
    this.connections?.stop();
    await this.sampler?.stop();
    await this.balancer?.stop(keepNginx);
    this.sampler = undefined;
    this.balancer = undefined;
    this.started = false;
  }
}
