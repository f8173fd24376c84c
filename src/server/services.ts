// Wires the roles of one Reactor process together: the api's services, and with the local agent the host and the controller.
import { hostname } from 'node:os';
import { Controller } from '../control/controller.js';
import { EndpointService } from '../endpoints/service.js';
import { EventBus } from '../events/bus.js';
import { EventRecorder } from '../events/recorder.js';
import { LocalHost } from '../host/local.js';
import { InstanceService } from '../instances/service.js';
import type { Logger } from '../log/logger.js';
import { ManagerService } from '../managers/service.js';
import { CustomMetricsService } from '../metrics/custom.js';
import { HostTraffic } from '../host/traffic.js';
import type { Store } from '../store/types.js';
import { Telemetry } from '../telemetry/prometheus.js';
import type { Services } from './context.js';
import { packageVersion } from './paths.js';
import type { ServerOptions } from './server.js';

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

export async function createServices(inputs: ServiceInputs): Promise<Services> {
  const clock = inputs.clock ?? (() => new Date());
  const bus = new EventBus();
  const events = new EventRecorder(inputs.store, bus, clock);
  const managers = new ManagerService(inputs.store, clock);
  const services: Services = {
    version: packageVersion,
    store: inputs.store,
    bus,
    events,
    endpoints: new EndpointService(inputs.store, events),
    managers,
    instances: new InstanceService(inputs.store, bus, events, clock),
    clock,
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
      retentionSeconds: inputs.options.metricsRetention,
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
      log: inputs.log,
    });
    const controller = new Controller({
      store: inputs.store,
      bus,
      events,
      instances: services.instances,
      intervalSeconds,
      traffic: () => services.traffic.sampler,
      retentionSeconds: inputs.options.metricsRetention,
      log: inputs.log,
    });
    services.host = host;
    services.controller = controller;
    services.stop = async (keepNginx = false) => {
      await controller.stop();
      await host.stop(keepNginx);
    };
  } else {
    // api (and no host): samples of instance counts and custom metrics, on the sampler's own timer.
    services.stop = (keepNginx = false) => services.traffic.stop(keepNginx);
  }
  return services;
}
