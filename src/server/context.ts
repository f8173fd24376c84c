// What every resolver receives: the services of this Reactor process.
import type { RetentionSettings } from '../config/retention.js';
import type { Controller } from '../control/controller.js';
import type { StoreFeed } from '../events/feed.js';
import type { EndpointService } from '../endpoints/service.js';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { LocalHost } from '../host/local.js';
import type { InstanceService } from '../instances/service.js';
import type { InstanceTokens } from '../instances/tokens.js';
import type { ManagerService } from '../managers/service.js';
import type { CustomMetricsService } from '../metrics/custom.js';
import type { HostTraffic } from '../host/traffic.js';
import type { ReplayService } from './replay-service.js';
import type { ReadCache } from '../store/read-cache.js';
import type { Store } from '../store/types.js';
import type { Principal } from './auth.js';
import type { ApiLimits } from './limits.js';
import type { Telemetry } from '../telemetry/prometheus.js';

export interface Services {
  version: string;
  store: Store;
  bus: EventBus;
  /** The API's reads of endpoints and instance lists, from memory until something changes. */
  reads: ReadCache;
  events: EventRecorder;
  endpoints: EndpointService;
  managers: ManagerService;
  instances: InstanceService;
  /** The host role: this machine's engine made to match its instances (absent with --no-agent); started once the API listens, since its URL goes into containers. */
  host?: LocalHost;
  /** The controller role (sample → decide → plan → place → record every interval), acting while this server holds the lease. */
  controller?: Controller;
  /** With a shared (MongoDB) store: what feeds the bus from the store's logs. */
  feed?: StoreFeed;
  /** Custom metrics (setCustomMetrics, setInstanceMetrics). */
  metrics: CustomMetricsService;
  /** What /metrics exposes (counters the API feeds: request durations, open subscriptions). */
  telemetry: Telemetry;
  /** The local nginx, the log totals and the sampler (the host's when there is one); started once the API listens. */
  traffic: HostTraffic;
  clock: () => Date;
  /** replayScaling: a candidate policy over the recorded samples, within what is retained. */
  replay: ReplayService;
  /** How long each history is kept (seconds): samples, decisions, events. */
  retention: RetentionSettings;
  /** Mints and checks the tokens instances report their own metrics with. */
  tokens: InstanceTokens;
  /** Stops background work (agents, loops) before the store closes; with `keepNginx`, nginx goes on serving. */
  stop(keepNginx?: boolean): Promise<void>;
}

export interface RequestContext {
  services: Services;
  /** Who is calling (the API key or no key: an operator; a token: one instance). */
  principal: Principal;
  /** The server's bounds on work per request (page size among them). */
  limits: ApiLimits;
}
