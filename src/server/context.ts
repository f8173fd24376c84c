// What every resolver receives: the services of this Reactor process.
import type { EndpointService } from '../endpoints/service.js';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { ManagerService } from '../managers/service.js';
import type { Store } from '../store/types.js';

export interface Services {
  version: string;
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  endpoints: EndpointService;
  managers: ManagerService;
  clock: () => Date;
  /** Stops background work (agents, loops) before the store closes. */
  stop(): Promise<void>;
}

export interface RequestContext {
  services: Services;
}
