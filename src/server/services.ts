// Wires the roles of one Reactor process together: the api's services, the controller, and with the local agent the host.
import { hostname } from 'node:os';
import { retentionSettings } from '../config/retention.js';
import { Controller } from '../control/controller.js';
import { EndpointService } from '../endpoints/service.js';
import { EndpointViews } from '../endpoints/views.js';
import { EventBus } from '../events/bus.js';
import { StoreFeed } from '../events/feed.js';
import { EventRecorder } from '../events/recorder.js';
import { EventPruner } from '../events/retention.js';
import { LocalHost } from '../host/local.js';
import { HostTraffic } from '../host/traffic.js';
import { InstanceService } from '../instances/service.js';
import { InstanceTokens } from '../instances/tokens.js';
import type { Logger } from '../log/logger.js';
import { ManagerService } from '../managers/service.js';
import { CustomMetricsService } from '../metrics/custom.js';
import { ReadCache, SHARED_STORE_MAX_AGE_MS } from '../store/read-cache.js';
import type { Store } from '../store/types.js';
import { realTimers, wallClock } from '../time/timers.js';
import { Telemetry } from '../telemetry/prometheus.js';
import type { Services } from './context.js';
import type { ServerOptions } from './options.js';
import { packageVersion } from './paths.js';
import { ReplayService } from './replay-service.js';

export interface ServiceInputs {
  store: Store;
  dataDir: string;
  options: ServerOptions;
  log: Logger;
  clock?: () => Date;
  /** What /metrics counts; default a fresh one. */
  telemetry?: Telemetry;
}

export { localManagerId } from '../host/local.js';

export async function createServices(given: ServiceInputs): Promise<Services> {
  // With MongoDB several servers may share the store: each bus is fed from the store's logs, in their order.
  const cluster = given.store.kind === 'mongodb';
  // Every writer of this process writes through `store`, so the API's cached reads are forgotten at once on each change;
  // other servers' changes arrive as events, and with a shared store an answer also expires, in case one never does.
  const reads = new ReadCache(given.store, cluster ? { maxAgeMs: SHARED_STORE_MAX_AGE_MS } : {});
  const bus = new EventBus({ fedByStore: cluster });
  // The host's shared reading of every endpoint's backends, forgotten the same way; built first, so its bus watchers
  // run before those of the parts that read it (see EndpointViews).
  const views = new EndpointViews({ store: given.store, bus });
  const inputs = { ...given, store: views.track(reads.track(given.store)) };
  const clock = inputs.clock ?? wallClock;
  // Every server with a host takes part in the controller election, and so does a --no-agent server on a shared store
  // (api and controller only); on SQLite, with no host, there is nothing a controller could place anything on.
  const controls = inputs.options.agent !== false || cluster;
  const forget = () => {
    reads.invalidate();
    views.invalidate();
  };
  const feed = cluster ? new StoreFeed({ store: inputs.store, bus, time: { now: clock, timers: realTimers }, log: inputs.log, onMissed: forget }) : undefined;
  const events = new EventRecorder(inputs.store, bus, clock);
  // Every change to an endpoint or an instance is an endpoint event; on a shared store they come from the feed, other servers' too.
  bus.watch('endpointEvents', () => reads.invalidate());
  const managers = new ManagerService(inputs.store, clock);
  const retention = retentionSettings({
    samples: inputs.options.retention?.samples ?? inputs.options.metricsRetention,
    decisions: inputs.options.retention?.decisions,
    events: inputs.options.retention?.events,
  });
  const tokens = await InstanceTokens.open(inputs.store);
  const pruner = new EventPruner(inputs.store, retention.events, inputs.log, clock);
  const services: Services = {
    version: packageVersion,
    store: inputs.store,
    bus,
    events,
    reads,
    endpoints: new EndpointService(inputs.store, events, reads),
    managers,
    instances: new InstanceService(inputs.store, bus, events, clock),
    clock,
    retention,
    tokens,
    metrics: new CustomMetricsService(inputs.store, events, clock),
    telemetry: inputs.telemetry ?? new Telemetry(),
    traffic: new HostTraffic({
      store: inputs.store,
      bus,
      events,
      dataDir: inputs.dataDir,
      balancer: inputs.options.agent !== false,
      balancerAddress: inputs.options.balancerAddress,
      intervalSeconds: inputs.options.interval,
      retentionSeconds: retention.samples,
      clock,
      log: inputs.log,
      // The controller takes each sample right before it decides; without one, the sampler keeps its own timer.
      sampleTimer: !controls,
      views,
    }),
    feed,
    // A replay reaches no further back than the samples and decisions are kept.
    replay: new ReplayService({
      store: inputs.store,
      clock,
      retention: { samplesSeconds: retention.samples, decisionsSeconds: retention.decisions },
    }),
    stop: async () => {},
  };
  const name = inputs.options.name ?? hostname();
  const intervalSeconds = inputs.options.interval ?? 10;
  // The controller role (sample → decide → plan → place → record) acts while this server holds the lease; it starts
  // once the API listens.
  if (controls) {
    services.controller = new Controller({
      store: inputs.store,
      bus,
      events,
      instances: services.instances,
      intervalSeconds,
      traffic: () => services.traffic.sampler,
      retentionSeconds: retention.decisions,
      decisionKeepEvery: inputs.options.decisionKeepEvery,
      name,
      log: inputs.log,
    });
  }
  const controller = services.controller;
  if (inputs.options.agent !== false) {
    // The host role: this machine's engine, readiness, health, heartbeat, balancer and traffic.
    const host = await LocalHost.create({
      store: inputs.store,
      bus,
      events,
      instances: services.instances,
      managers,
      dataDir: inputs.dataDir,
      name,
      address: inputs.options.address,
      docker: inputs.options.docker,
      dockerCertPath: inputs.options.dockerCertPath,
      slots: inputs.options.slots,
      intervalSeconds,
      traffic: services.traffic,
      instanceToken: (id) => tokens.mint(id),
      log: inputs.log,
    });
    services.host = host;
    services.stop = async (keepNginx = false) => {
      await pruner.stop();
      await controller?.stop();
      await host.stop(keepNginx);
      await feed?.stop();
    };
  } else {
    // No host: samples of instance counts and custom metrics only.
    services.stop = async (keepNginx = false) => {
      await pruner.stop();
      await controller?.stop();
      await services.traffic.stop(keepNginx);
      await feed?.stop();
    };
  }
  pruner.start();
  return services;
}
