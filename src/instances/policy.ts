// The interim instance policy (min_instances while RUNNING, none when STOPPED, no change when PAUSED) and launch backoff, as pure functions.
import type { EndpointState, InstanceRecord, InstanceStatus } from '../store/types.js';

/**
 * What to do with one endpoint's instances in one round. The control loop will
 * add decommission/recommission lists; the reconciler applies whatever is here.
 */
export interface EndpointPlan {
  /** New instances to place and start. */
  launch: number;
  /** Instance ids to remove (container first, then the record). */
  remove: string[];
  /** One human line: why this plan. */
  why: string;
}

/** Statuses that count towards the wanted number of instances. */
export const LIVE_STATUSES: readonly InstanceStatus[] = ['PENDING', 'STARTING', 'RUNNING'];
/** Statuses whose records only wait to be cleaned up. */
const DEAD_STATUSES: readonly InstanceStatus[] = ['ERROR', 'LOST'];
/** When there are too many, the least useful go first: not placed, then not ready, then serving. */
const REMOVAL_ORDER: readonly InstanceStatus[] = ['PENDING', 'STARTING', 'RUNNING'];

export interface PolicyInput {
  /** null = the endpoint is not managed (any more). */
  state: EndpointState | null;
  minInstances: number;
  instances: readonly Pick<InstanceRecord, 'id' | 'status' | 'createdAt'>[];
}

/**
 * The interim policy, until the autoscaler decides counts: keep min_instances
 * while RUNNING; remove everything when STOPPED or unmanaged; change nothing
 * when PAUSED. Dead (ERROR, LOST) records are cleaned up except when PAUSED,
 * so a replacement takes their place.
 */
export function interimPlan(input: PolicyInput): EndpointPlan {
  const { state, instances } = input;
  if (state === 'PAUSED') return { launch: 0, remove: [], why: 'PAUSED: no changes' };
  if (state === null || state === 'STOPPED') {
    return {
      launch: 0,
      remove: instances.map((i) => i.id),
      why: state === null ? 'not managed: remove every instance' : 'STOPPED: remove every instance',
    };
  }
  const dead = instances.filter((i) => DEAD_STATUSES.includes(i.status)).map((i) => i.id);
  const live = instances.filter((i) => LIVE_STATUSES.includes(i.status));
  const wanted = input.minInstances;
  if (live.length < wanted) {
    return { launch: wanted - live.length, remove: dead, why: `RUNNING: ${live.length} of min_instances ${wanted}` };
  }
  const surplus = [...live]
    .sort(
      (a, b) =>
        REMOVAL_ORDER.indexOf(a.status) - REMOVAL_ORDER.indexOf(b.status) ||
        b.createdAt.getTime() - a.createdAt.getTime() ||
        (a.id < b.id ? 1 : -1),
    )
    .slice(0, live.length - wanted)
    .map((i) => i.id);
  return {
    launch: 0,
    remove: [...dead, ...surplus],
    why: `RUNNING: ${live.length} live, min_instances ${wanted}`,
  };
}

export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Longest delay. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };

/** Delay before the next launch after `failures` failures in a row: base, 2·base, 4·base… capped at max; 0 without failures. */
export function backoffDelay(failures: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0;
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.min(failures - 1, 30));
}
