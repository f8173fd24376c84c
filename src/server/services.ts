// Wires the roles of one Reactor process together: the api's services, and with the local agent the host and the controller.
import { hostname } from 'node:os';
import { retentionSettings } from '../config/retention.js';
import { Controller } from '../control/controller.js';
import { EndpointService } from '../endpoints/service.js';
import { EventBus } from '../events/bus.js';
import { EventRecorder } from '../events/recorder.js';
import { EventPruner } from '../events/retention.js';
import { LocalHost } from '../host/local.js';
import { InstanceService } from '../instances/service.js';
import { InstanceTokens } from '../instances/tokens.js';
import { ManagerService } from '../managers/service.js';
import { CustomMetricsService } from '../metrics/custom.js';
import { HostTraffic } from '../host/traffic.js';
import type { Store } from '../store/types.js';
import type { Services } from './context.js';
import { packageVersion } from './paths.js';
import type { ServerOptions } from './server.js';

export interface ServiceInputs {
  store: Store;
  dataDir: string;
  options: ServerOptions;
  log: (line: string) => void;
  clock?: () => Date;
}

export { localManagerId } from '../host/local.js';

export async function createServices(inputs: ServiceInputs): Promise<Services> {
  const clock = inputs.clock ?? (() => new Date());
  const bus = new EventBus();
  const events = new EventRecorder(inputs.store, bus, clock);
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
    endpoints: new EndpointService(inputs.store, events),
    managers,
    instances: new InstanceService(inputs.store, bus, events, clock),
    clock,
    retention,
    tokens,
    metrics: new CustomMetricsService(inputs.store, events, clock),
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
      // With a local agent the controller takes each sample right before it decides.
      sampleTimer: inputs.options.agent === false,
    }),
    stop: async () => {},
  };
  if (inputs.options.agent !== false) {
    // The host role (this machine's engine, readiness, health, heartbeat) and the controller role
    // (sample → decide → plan → place → record); both start once the API listens.
    const intervalSeconds = inputs.options.interval ?? 10;
    const host = await LocalHost.create({
      store: inputs.store,
      bus,
      events,
      instances: services.instances,
      managers,
      dataDir: inputs.dataDir,
      name: inputs.options.name ?? hostname(),
      slots: inputs.options.slots,
      intervalSeconds,
      traffic: services.traffic,
      instanceToken: (id) => tokens.mint(id),
      log: inputs.log,
    });
    const controller = new Controller({
      store: inputs.store,
      bus,
      events,
      instances: services.instances,
      intervalSeconds,
      traffic: () => services.traffic.sampler,
      retentionSeconds: retention.decisions,
      decisionKeepEvery: inputs.options.decisionKeepEvery,
      log: inputs.log,
    });
    services.host = host;
    services.controller = controller;
    services.stop = async () => {
      await pruner.stop();
      await controller.stop();
      await host.stop();
    };
  } else {
    // api (and no host): samples of instance counts and custom metrics, on the sampler's own timer.
    services.stop = async () => {
      await pruner.stop();
      await services.traffic.stop();
    };
  }
  pruner.start();
  return services;
}
