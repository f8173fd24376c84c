// What the controller asks of one endpoint's instances in one round (the EndpointPlan), made from the scaling engine's actions.
import type { EndpointConfig } from '../config/model.js';
import type { RoundDecision, RoundMode, RoundStart, PlannedAction } from '../model/decision.js';
import type { EndpointState } from '../model/states.js';
import type { InstanceView } from '../scaling/plan.js';
import type { InstanceRecord } from '../store/types.js';

/** What the controller knows when it asks for a plan (a snapshot of the desired and observed state). */
export interface RoundInput {
  endpoint: string;
  /** null = the endpoint is not managed (any more). */
  state: EndpointState | null;
  /** null = not managed (a stored config that does not parse never gets this far). */
  config: EndpointConfig | null;
  instances: readonly InstanceRecord[];
  mode: RoundMode;
  /** What started the round; default `interval` for evaluations and `change` for triggers. */
  startedBy?: RoundStart;
  /** For burst and held rounds: the host's short-window reading, decided with instead of the interval's sample. */
  surge?: { instances: number; metrics: Readonly<Record<string, unknown>> };
  /** Why a trigger round runs (e.g. `STATE_CHANGED`, `container exit`); empty for evaluations. */
  cause: string;
  now: Date;
}

/**
 * What to do with one endpoint's instances in one round; the controller
 * writes exactly this as desired state, in the order remove → decommission
 * → recommission → launch.
 */
export interface EndpointPlan {
  /** New instances to place. */
  launch: number;
  /** Instance ids to take away: drained or failed ones, cancelled launches, everything when STOPPED and idle. */
  remove: string[];
  /** RUNNING instance ids to take out of the balancer (status DECOMMISSIONED): they drain, then a later round removes them. */
  decommission: string[];
  /** DECOMMISSIONED instance ids to put back into the balancer (status RUNNING). */
  recommission: string[];
  /** One human line: why this plan. */
  why: string;
  /** Why each instance in remove/decommission/recommission is there (instance id → reason); `why` otherwise. */
  reasons?: Record<string, string>;
  /** Decommissions of instances with nothing to drain, turned into removals (instance ids). */
  removedAtOnce?: string[];
  /** The decision behind the plan (stored and streamed by the controller). */
  decision?: RoundDecision;
}

/** Decides each round's plan. */
export interface InstancePolicy {
  plan(input: RoundInput): EndpointPlan | Promise<EndpointPlan>;
}

/** True when the plan changes anything. */
export function planActs(plan: EndpointPlan): boolean {
  return plan.launch > 0 || plan.remove.length > 0 || plan.decommission.length > 0 || plan.recommission.length > 0;
}

/** Address → when it was decommissioned (ms; now when not recorded) of each DECOMMISSIONED instance with an address: what `connectionsNow` needs to judge a drain. */
export function drainingSince(instances: readonly Pick<InstanceRecord, 'status' | 'address' | 'decommissionedAt'>[], nowMs: number): Map<string, number> {
  const draining = new Map<string, number>();
  for (const instance of instances) {
    if (instance.status === 'DECOMMISSIONED' && instance.address) draining.set(instance.address, instance.decommissionedAt?.getTime() ?? nowMs);
  }
  return draining;
}

/** The planner's view of instance records: `active` from the connection counts by address. */
export function instanceViews(instances: readonly InstanceRecord[], active: ReadonlyMap<string, number>): InstanceView[] {
  return instances.map((instance) => ({
    id: instance.id,
    status: instance.status,
    active: instance.address ? (active.get(instance.address) ?? 0) : 0,
    createdAt: instance.createdAt,
    decommissionedAt: instance.decommissionedAt,
  }));
}

/**
 * The engine's actions as the controller's plan. `cancel` (a launch never
 * placed) and `delete` remove. `decommission` of a RUNNING instance takes it
 * out of the balancer to drain; of one that never joined the balancer
 * (STARTING) it removes at once, there being nothing to drain. When the
 * endpoint is STOPPED the balancer already dropped all of it, so an instance
 * with no open connection is removed in the same round instead of waiting
 * for the next one; a busy one still drains.
 */
export function toEndpointPlan(
  actions: readonly PlannedAction[],
  views: readonly InstanceView[],
  options: { stopped: boolean; why: string },
): EndpointPlan {
  // Indexed only when an action names an instance: most rounds hold.
  let byId: Map<string, InstanceView> | undefined;
  const plan: EndpointPlan = { launch: 0, remove: [], decommission: [], recommission: [], why: options.why, reasons: {} };
  for (const action of actions) {
    const instance = action.instanceId === null ? undefined : (byId ??= new Map(views.map((v) => [v.id, v]))).get(action.instanceId);
    if (instance) plan.reasons![instance.id] = action.reason;
    switch (action.kind) {
      case 'launch':
        plan.launch += action.count;
        break;
      case 'recommission':
        if (instance) plan.recommission.push(instance.id);
        break;
      case 'decommission':
        if (!instance) break;
        if (instance.status === 'RUNNING' && !(options.stopped && !(instance.active > 0))) plan.decommission.push(instance.id);
        else {
          plan.remove.push(instance.id);
          (plan.removedAtOnce ??= []).push(instance.id);
        }
        break;
      case 'cancel':
      case 'delete':
        if (instance) plan.remove.push(instance.id);
        break;
    }
  }
  return plan;
}
