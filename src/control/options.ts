// The controller's options: what it reads, how often, and who it is in the election.
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { InstanceService } from '../instances/service.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/types.js';
import type { Time } from '../time/timers.js';
import type { BackoffOptions } from './backoff.js';
import type { SampleView } from './policy.js';

/**
 * Where the controller reads traffic: the metric sample of every endpoint
 * (taken just before an evaluation) and open connections per backend
 * address. The local host's sampler is one; in a cluster it is the store.
 */
export interface TrafficReadings {
  tick(): Promise<readonly ({ endpoint: string } & SampleView)[]>;
  /** Open connections per backend address at the last `tick`. */
  readonly latestConnections: ReadonlyMap<string, number>;
  /**
   * Open connections per backend address now. `draining` maps the address of
   * each DECOMMISSIONED instance to when it was decommissioned (ms): such an
   * address counts as drained (≤ 0) only once every balancer that could
   * send to it says it has no connection; until that is known it is NaN
   * (busy). With several hosts that takes their reports of an interval that
   * began after the instance left their balancers (src/metrics/draining.ts).
   */
  connectionsNow(draining?: ReadonlyMap<string, number>): Promise<ReadonlyMap<string, number>>;
  /** Backend addresses the local balancer sends requests to now; absent or null when unknown (no local balancer). */
  routed?(): ReadonlySet<string> | null;
}

export interface ControllerOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  instances: InstanceService;
  /** Seconds between evaluation rounds (`--interval`); 0 = no timer (tests and simulations call `tick`). */
  intervalSeconds: number;
  /** The traffic readings, once there are any. */
  traffic?: () => TrafficReadings | undefined;
  /** Decisions older than this are deleted; default 24 h. */
  retentionSeconds?: number;
  /** A holding decision identical to the last one kept is stored once every this many rounds (see DecisionKeeper). */
  decisionKeepEvery?: number;
  time?: Time;
  backoff?: BackoffOptions;
  /**
   * Rounds of different endpoints that may run at once (default 32): it
   * bounds what a sweep of many endpoints holds open together.
   */
  roundConcurrency?: number;
  /** A manager whose heartbeat has not changed for this long is LOST; default 3 intervals, at least 15 s. */
  managerTimeoutSeconds?: number;
  /** This server's name: the controller lease's holder while it leads. */
  name?: string;
  /** The lease's length and renewal period; default from the interval (`leaseTiming`). */
  lease?: { leaseMs: number; renewMs: number };
  log?: Logger;
}
