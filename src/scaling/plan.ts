// The round plan: which instances to launch, recommission, decommission and delete to move towards a target, within the ramp limit.
import type { ActionDirection, ActionKind, PlannedAction } from '../model/decision.js';
import type { InstanceStatus } from '../model/states.js';

/** What the planner needs to know about one instance of the endpoint. */
export interface InstanceView {
  id: string;
  status: InstanceStatus;
  /** Open connections on this instance (latest reading); anything but a number ≤ 0 counts as busy. */
  active: number;
  createdAt: Date;
  /** When it left the balancer; null unless DECOMMISSIONED (null there = just now). */
  decommissionedAt: Date | null;
}

export type { ActionKind, ActionDirection, PlannedAction };

export interface PlanInput {
  /** The serving count to head for (from the calculator, or 0 when STOPPED). */
  target: number;
  instances: readonly InstanceView[];
  /** Most launches + recommissions + decommissions this round; null = no limit (STOPPED). */
  rampLimit: number | null;
  /** Seconds a decommissioned instance may drain before it is deleted anyway. */
  decommissionedTimeout: number;
  now: Date;
}

export interface RoundPlan {
  /** Instances serving or about to: RUNNING, STARTING and PENDING (see `countsAsCurrent`). */
  current: number;
  target: number;
  /** The count after this round's actions (target unless the ramp limit cut it). */
  after: number;
  rampLimit: number | null;
  /** Scaling actions the ramp limit held back for later rounds (0 = not cut). */
  rampCut: number;
  launches: number;
  recommissions: number;
  /** Decommissions plus cancelled pending launches. */
  decommissions: number;
  /** Cleanup deletions (drained or timed-out DECOMMISSIONED, ERROR, LOST). */
  deletions: number;
  actions: PlannedAction[];
}

/**
 * Whether an instance counts towards the current count. RUNNING serves,
 * STARTING is about to; PENDING is a launch already asked for that waits for
 * a place or a dependency (no Docker, no free slots). Counting PENDING too
 * keeps a cluster that cannot place instances from asking for `ramp_limit`
 * more every round. DECOMMISSIONED are out of rotation; ERROR and LOST are
 * gone and get replaced.
 */
export function countsAsCurrent(status: InstanceStatus): boolean {
  return status === 'RUNNING' || status === 'STARTING' || status === 'PENDING';
}

// Removal order when scaling down: cancel launches that have not started,
// then instances not yet in the balancer, then serving ones.
function downRank(status: InstanceStatus): number {
  return status === 'PENDING' ? 0 : status === 'STARTING' ? 1 : 2;
}

function busy(active: number): boolean {
  return !(active <= 0);
}

/** Most recently decommissioned first (null = just now), then by id. */
function recommissionOrder(a: InstanceView, b: InstanceView): number {
  const ta = a.decommissionedAt === null ? Infinity : a.decommissionedAt.getTime();
  const tb = b.decommissionedAt === null ? Infinity : b.decommissionedAt.getTime();
  if (ta !== tb) return ta > tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Negative when `a` should be removed before `b` (see `pickForRemoval`). Unknown (NaN) activity counts as busiest. */
function removalOrder(a: InstanceView, b: InstanceView): number {
  const ra = downRank(a.status);
  const rb = downRank(b.status);
  if (ra !== rb) return ra - rb;
  const aa = a.active <= 0 ? 0 : a.active > 0 ? a.active : Infinity;
  const ab = b.active <= 0 ? 0 : b.active > 0 ? b.active : Infinity;
  if (aa !== ab) return aa < ab ? -1 : 1;
  const ca = a.createdAt.getTime();
  const cb = b.createdAt.getTime();
  if (ca !== cb) return cb - ca;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The first `count` of `list` in `order`: which instances to remove first,
 * which decommissioned ones to recommission first. This runs every round for
 * every endpoint, and `count` is at most ramp_limit (a handful) while an
 * endpoint may have hundreds of instances, so it keeps the best `count` in
 * one pass (insertion into a short sorted list) instead of sorting
 * everything; with no ramp limit (STOPPED, `count` large) it sorts.
 */
function pickFirst(list: readonly InstanceView[], count: number, order: (a: InstanceView, b: InstanceView) => number): InstanceView[] {
  if (count <= 0) return [];
  if (count >= list.length || count > 32) return list.slice().sort(order).slice(0, count);
  const best: InstanceView[] = [];
  for (const candidate of list) {
    if (best.length === count && order(candidate, best[count - 1]) >= 0) continue;
    let at = best.length === count ? count - 1 : best.length;
    while (at > 0 && order(candidate, best[at - 1]) < 0) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = candidate;
    if (best.length > count) best.length = count;
  }
  return best;
}

/**
 * Plans one round.
 *
 * Scaling up by k: recommission DECOMMISSIONED instances first (they exist and
 * are warm; most recently decommissioned first, being the least drained), then
 * launch the rest. Scaling down by k: remove the cheapest first — PENDING
 * (cancel), STARTING, then RUNNING with the fewest active connections (ties:
 * the newest, then by id, so plans are deterministic).
 *
 * ramp_limit caps launches + recommissions + decommissions (+ cancels) per
 * round. Example: current 1, target 12, ramp_limit 5, 2 decommissioned →
 * recommission 2, launch 3, cut 6: next round continues from 6.
 *
 * Cleanup, not counted against ramp_limit because it does not change the
 * serving count: delete ERROR and LOST instances (their replacements come from
 * the target, since they are not current), and delete DECOMMISSIONED ones not
 * recommissioned this round once drained (0 active connections) or once
 * `decommissionedTimeout` seconds have passed since `decommissionedAt`.
 * An instance decommissioned in this round is never deleted in the same round.
 */
export function planRound(input: PlanInput): RoundPlan {
  const { instances, now } = input;
  const rampLimit = input.rampLimit;
  const budget = rampLimit === null ? Infinity : Math.max(0, rampLimit);
  const targetCount = Math.max(0, input.target);

  const serving: InstanceView[] = [];
  const decommissioned: InstanceView[] = [];
  const cleanup: PlannedAction[] = [];
  for (const instance of instances) {
    const status = instance.status;
    if (countsAsCurrent(status)) serving.push(instance);
    else if (status === 'DECOMMISSIONED') decommissioned.push(instance);
    else if (status === 'ERROR' || status === 'LOST') {
      cleanup.push({
        kind: 'delete',
        direction: 'cleanup',
        instanceId: instance.id,
        count: 1,
        reason: status === 'ERROR' ? 'instance failed (ERROR); not counted, replaced through the target' : 'container vanished (LOST); not counted, replaced through the target',
      });
    }
  }

  const current = serving.length;
  const actions: PlannedAction[] = [];
  let launches = 0;
  let recommissions = 0;
  let decommissions = 0;
  let rampCut = 0;
  const recommissioned = new Set<string>();

  if (targetCount > current) {
    const need = targetCount - current;
    const allowed = Math.min(need, budget);
    rampCut = need - allowed;
    if (decommissioned.length > 0 && allowed > 0) {
      const candidates = pickFirst(decommissioned, allowed, recommissionOrder);
      for (let i = 0; i < candidates.length && recommissions < allowed; i++) {
        const instance = candidates[i];
        recommissioned.add(instance.id);
        recommissions++;
        actions.push({
          kind: 'recommission',
          direction: 'up',
          instanceId: instance.id,
          count: 1,
          reason: `target ${targetCount} > current ${current}: back into the balancer before launching new instances`,
        });
      }
    }
    launches = allowed - recommissions;
    if (launches > 0) {
      actions.push({
        kind: 'launch',
        direction: 'up',
        instanceId: null,
        count: launches,
        reason:
          `target ${targetCount} > current ${current}` +
          (recommissions > 0 ? `, ${recommissions} recommissioned` : '') +
          (rampCut > 0 ? `; ramp limit ${rampLimit} holds back ${rampCut}` : ''),
      });
    }
  } else if (targetCount < current) {
    const excess = current - targetCount;
    const allowed = Math.min(excess, budget);
    rampCut = excess - allowed;
    const victims = pickFirst(serving, allowed, removalOrder);
    for (let i = 0; i < allowed; i++) {
      const instance = victims[i];
      decommissions++;
      const pending = instance.status === 'PENDING';
      actions.push({
        kind: pending ? 'cancel' : 'decommission',
        direction: 'down',
        instanceId: instance.id,
        count: 1,
        reason:
          `target ${targetCount} < current ${current}: ` +
          (pending
            ? 'cancel a launch that has not been placed'
            : instance.status === 'STARTING'
              ? 'not yet in the balancer'
              : `least active (${Number.isFinite(instance.active) ? instance.active : '?'} connections)`) +
          (rampCut > 0 ? `; ramp limit ${rampLimit} holds back ${rampCut}` : ''),
      });
    }
  }

  const timeoutMs = input.decommissionedTimeout * 1000;
  const nowMs = now.getTime();
  for (const instance of decommissioned) {
    if (recommissioned.has(instance.id)) continue;
    const since = instance.decommissionedAt === null ? nowMs : instance.decommissionedAt.getTime();
    const drained = !busy(instance.active);
    const expired = nowMs - since >= timeoutMs;
    if (!drained && !expired) continue;
    cleanup.push({
      kind: 'delete',
      direction: 'cleanup',
      instanceId: instance.id,
      count: 1,
      reason: drained
        ? 'decommissioned and drained (0 active connections)'
        : `decommissioned_timeout ${input.decommissionedTimeout} s passed with ${instance.active} connections still open`,
    });
  }

  for (const action of cleanup) actions.push(action);
  const after = current + launches + recommissions - decommissions;
  return {
    current,
    target: targetCount,
    after,
    rampLimit,
    rampCut,
    launches,
    recommissions,
    decommissions,
    deletions: cleanup.length,
    actions,
  };
}
