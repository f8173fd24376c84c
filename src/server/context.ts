// What every resolver receives: the services of this Reactor process.
import type { ControlLoop } from '../control/loop.js';
import type { EndpointService } from '../endpoints/service.js';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { Reconciler } from '../instances/reconciler.js';
import type { InstanceService } from '../instances/service.js';
import type { ManagerService } from '../managers/service.js';
import type { CustomMetricsService } from '../metrics/custom.js';
import type { HostTraffic } from '../host/traffic.js';
import type { Store } from '../store/types.js';

export interface Services {
  version: string;
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  endpoints: EndpointService;
  managers: ManagerService;
  instances: InstanceService;
  /** The local agent's loop (absent with --no-agent); started once the API listens, since its URL goes into containers. */
  reconciler?: Reconciler;
  /** The control loop (sample → decide → apply every interval); present with the local agent. */
  loop?: ControlLoop;
  /** Custom metrics (setCustomMetrics, setInstanceMetrics). */
  metrics: CustomMetricsService;
  /** The local nginx, the log totals and the sampler; started once the API listens. */
  pipeline: HostTraffic;
  clock: () => Date;
  /** Stops background work (agents, loops) before the store closes. */
  stop(): Promise<void>;
}

export interface RequestContext {
  services: Services;
}
