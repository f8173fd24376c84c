// What every resolver receives: the services of this Reactor process.
import type { Controller } from '../control/controller.js';
import type { EndpointService } from '../endpoints/service.js';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { LocalHost } from '../host/local.js';
import type { InstanceService } from '../instances/service.js';
import type { ManagerService } from '../managers/service.js';
import type { CustomMetricsService } from '../metrics/custom.js';
import type { HostTraffic } from '../host/traffic.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/prometheus.js';

export interface Services {
  version: string;
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  endpoints: EndpointService;
  managers: ManagerService;
  instances: InstanceService;
  /** The host role: this machine's engine made to match its instances (absent with --no-agent); started once the API listens, since its URL goes into containers. */
  host?: LocalHost;
  /** The controller role (sample → decide → plan → place → record every interval); present with the local agent. */
  controller?: Controller;
  /** Custom metrics (setCustomMetrics, setInstanceMetrics). */
  metrics: CustomMetricsService;
  /** What /metrics exposes (counters the API feeds: request durations, open subscriptions). */
  telemetry: Telemetry;
  /** The local nginx, the log totals and the sampler (the host's when there is one); started once the API listens. */
  traffic: HostTraffic;
  clock: () => Date;
  /** Stops background work (agents, loops) before the store closes; with `keepNginx`, nginx goes on serving. */
  stop(keepNginx?: boolean): Promise<void>;
}

export interface RequestContext {
  services: Services;
}
