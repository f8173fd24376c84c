// The contract between the reconciler and whoever decides instance counts (the control loop's scaling policy), and launch backoff.
import type { EndpointConfig } from '../config/model.js';
import type { RoundDecision, RoundMode } from '../model/decision.js';
import type { EndpointState } from '../model/states.js';
import type { InstanceRecord } from '../store/types.js';

export type { RoundDecision, RoundMode };

/** What the reconciler knows when it asks for a plan (after observing the containers). */
export interface RoundInput {
  endpoint: string;
  /** null = the endpoint is not managed (any more). */
  state: EndpointState | null;
  /** null = not managed (a stored config that does not parse never gets this far). */
  config: EndpointConfig | null;
  instances: readonly InstanceRecord[];
  mode: RoundMode;
  /** Why a trigger round runs (e.g. `STATE_CHANGED`, `container exit`); empty for evaluations. */
  cause: string;
  now: Date;
}

/**
 * What to do with one endpoint's instances in one round; the reconciler
 * applies exactly this, in the order remove → decommission → recommission →
 * launch.
 */
export interface EndpointPlan {
  /** New instances to place and start. */
  launch: number;
  /** Instance ids to delete (container first, then the record): drained or failed ones, cancelled launches, everything when STOPPED and idle. */
  remove: string[];
  /** RUNNING instance ids to take out of the balancer (status DECOMMISSIONED): they drain, then a later round deletes them. */
  decommission: string[];
  /** DECOMMISSIONED instance ids to put back into the balancer (status RUNNING). */
  recommission: string[];
  /** One human line: why this plan. */
  why: string;
  /** Why each instance in remove/decommission/recommission is there (instance id → reason); `why` otherwise. */
  reasons?: Record<string, string>;
  /** The decision behind the plan, when the scaling engine made one (stored and streamed by the control loop). */
  decision?: RoundDecision;
}

/** Decides each round's plan; `applied` hears what was done (the control loop stores and publishes decisions there). */
export interface InstancePolicy {
  plan(input: RoundInput): EndpointPlan | Promise<EndpointPlan>;
  /** Called once the plan was applied (also when it was empty). Failures are logged, never retried. */
  applied?(input: RoundInput, plan: EndpointPlan): Promise<void>;
}

/** True when the plan changes anything. */
export function planActs(plan: EndpointPlan): boolean {
  return plan.launch > 0 || plan.remove.length > 0 || plan.decommission.length > 0 || plan.recommission.length > 0;
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
