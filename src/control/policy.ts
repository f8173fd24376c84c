// The controller's scaling policy: evaluation rounds ask the scaling engine (decide), trigger rounds hold the last decided count; both become an EndpointPlan.
import type { RoundDecision, RoundMode, RoundStart } from '../model/decision.js';
import { actionsText, decide } from '../scaling/decision.js';
import { countsAsCurrent, planRound, type InstanceView, type RoundPlan } from '../scaling/plan.js';
import { drainingSince, instanceViews, toEndpointPlan, type EndpointPlan, type InstancePolicy, type RoundInput } from './plan.js';

/** A metric sample as the engine reads it: N instances reported these per-instance averages. */
export interface SampleView {
  instances: number;
  metrics: Readonly<Record<string, unknown>>;
}

export type { RoundDecision };
export { instanceViews, toEndpointPlan };

export interface ScalingPolicyOptions {
  /** The sample an evaluation decides with; null = none this round (the engine then holds the current count within min/max). */
  sample?: (endpoint: string) => SampleView | null;
  /**
   * Open connections per backend address (`host:port`) for this round; default none (every instance idle).
   * `draining`: address → decommissioned at (ms) of the DECOMMISSIONED instances; their counts must be ≤ 0
   * only once they are drained (see `TrafficReadings.connectionsNow`), since the planner deletes them then.
   */
  active?: (mode: RoundMode, draining: ReadonlyMap<string, number>) => ReadonlyMap<string, number> | Promise<ReadonlyMap<string, number>>;
}

function fitted(count: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, count));
}

/**
 * The policy of the control loop. Both kinds of round go through the same
 * planner (`planRound`), so cleanup, recommission-before-launch and
 * least-active-first removal are one code path:
 *
 * - `evaluate`: `decide()` with the latest sample — the rules, the clamp,
 *   ramp_limit — exactly once per interval. The count it leaves (`after`) is
 *   remembered as the endpoint's held count.
 * - `trigger`: no rules, no ramp limit: head for the held count fitted into
 *   the current [min, max] (a start launches min_instances at once, a raised
 *   minimum too, a lost container is replaced at once), or 0 when STOPPED.
 *   Since it never goes beyond what an evaluation or the bounds asked for,
 *   triggers do not spend the ramp limit a second time. Without a held count
 *   (a fresh process) it holds the current count.
 * - PAUSED: nothing, ever. Not managed: every instance goes.
 */
export class ScalingPolicy implements InstancePolicy {
  private readonly held = new Map<string, number>();

  constructor(private readonly options: ScalingPolicyOptions = {}) {}

  /** The count trigger rounds restore for an endpoint (for tests and `reactor watch`). */
  heldCount(endpoint: string): number | undefined {
    return this.held.get(endpoint);
  }

  async plan(input: RoundInput): Promise<EndpointPlan> {
    const { endpoint, state, config, instances, now } = input;
    if (state === null || config === null) {
      this.held.delete(endpoint);
      return { launch: 0, remove: instances.map((i) => i.id), decommission: [], recommission: [], why: 'not managed: remove every instance' };
    }
    const active = (await this.options.active?.(input.mode, drainingSince(instances, now.getTime()))) ?? new Map<string, number>();
    const views = instanceViews(instances, active);
    const stopped = state === 'STOPPED';
    let decision: RoundDecision;
    if (input.mode === 'evaluate' && input.surge) {
      decision = surgeDecision(input, views);
    } else if (input.mode === 'evaluate') {
      // Object.assign, not a spread: the record is fresh, and copying it a thousand times a round shows.
      decision = Object.assign(
        decide(
          {
            endpoint,
            state,
            scaling: config.scaling,
            decommissionedTimeout: config.endpoint.decommissionedTimeout,
            sample: this.options.sample?.(endpoint) ?? null,
            instances: views,
          },
          now,
        ),
        { round: 'evaluate' as const, cause: '', startedBy: input.startedBy ?? ('interval' as const) },
      );
    } else {
      decision = this.hold(input, views);
    }
    if (stopped) this.held.set(endpoint, 0);
    else if (state === 'RUNNING' && decision.held === null) this.held.set(endpoint, decision.after);
    const plan = toEndpointPlan(decision.actions, views, { stopped, why: decision.summary });
    plan.decision = decision;
    return plan;
  }

  /** A trigger round's decision: the held count within [min, max] (0 when STOPPED), no rules, no ramp limit. */
  private hold(input: RoundInput, views: InstanceView[]): RoundDecision {
    const { endpoint, state, config, now, cause } = input;
    const { minInstances, maxInstances, rampLimit, rules } = config!.scaling;
    const decommissionedTimeout = config!.endpoint.decommissionedTimeout;
    let current = 0;
    for (const view of views) if (countsAsCurrent(view.status)) current++;
    const paused = state === 'PAUSED';
    const stopped = state === 'STOPPED';
    const remembered = this.held.get(endpoint);
    const base = remembered ?? current;
    const target = stopped ? 0 : paused ? current : fitted(base, minInstances, maxInstances);
    const plan: RoundPlan = paused
      ? { current, target, after: current, rampLimit: null, rampCut: 0, launches: 0, recommissions: 0, decommissions: 0, deletions: 0, actions: [] }
      : planRound({ target, instances: views, rampLimit: null, decommissionedTimeout, now });
    const why = paused
      ? 'paused, no changes'
      : stopped
        ? 'stopped → target 0'
        : `${remembered === undefined ? `no evaluation yet, holding ${current}` : `holding ${remembered} from the last evaluation`}` +
          (target !== base ? ` → fitted into ${minInstances}..${maxInstances} → target ${target}` : '');
    return {
      endpoint,
      at: now.toISOString(),
      state: state!,
      inputs: {
        metrics: {},
        reported: null,
        current,
        minInstances,
        maxInstances,
        rampLimit,
        decommissionedTimeout,
        rules,
      },
      current,
      rules: [],
      ideal: { min: target, max: target },
      clamped: { min: target, max: target },
      conflict: false,
      target,
      after: plan.after,
      rampLimit: null,
      rampCut: 0,
      rampLimited: false,
      actions: plan.actions,
      held: paused ? 'endpoint is PAUSED: no changes' : null,
      notes: [`round triggered by ${cause || 'a change'}: rules not evaluated until the next interval`],
      summary: `${cause ? `${cause}: ` : ''}${why}; ${actionsText(plan)}`,
      round: 'trigger',
      cause,
      startedBy: input.startedBy ?? 'change',
    };
  }
}

/**
 * A burst or held round: the rules, with the host's short-window reading,
 * but scale-up only: min_instances is raised to the current count for this
 * round, so a quiet second never takes instances away (the interval does
 * that, over a whole interval's sample). Example: rule `0 < rate < 5`, one
 * instance, a host saw 40 requests in the last second → target 9 (within
 * max_instances and ramp_limit); had it seen 1, the count stays.
 */
function surgeDecision(input: RoundInput, views: InstanceView[]): RoundDecision {
  const { endpoint, state, config, now } = input;
  const scaling = config!.scaling;
  let current = 0;
  for (const view of views) if (countsAsCurrent(view.status)) current++;
  const floor = Math.min(scaling.maxInstances, Math.max(scaling.minInstances, current));
  const decision = decide(
    {
      endpoint,
      state: state!,
      scaling: { ...scaling, minInstances: floor },
      decommissionedTimeout: config!.endpoint.decommissionedTimeout,
      sample: input.surge!,
      instances: views,
    },
    now,
  );
  decision.inputs.minInstances = scaling.minInstances;
  const startedBy: RoundStart = input.startedBy === 'held' ? 'held' : 'burst';
  decision.notes.push(`${startedBy} round: the rules read the host's last-second traffic and held requests; it only adds instances (scale-down waits for the interval)`);
  decision.summary = `${startedBy}: ${decision.summary}`;
  return Object.assign(decision, { round: 'evaluate' as const, cause: input.cause, startedBy });
}
