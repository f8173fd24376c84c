// Slot placement as a pure function: a snapshot of managers and instance requests in, a plan of placements and pending requests out.

/**
 * What the scheduler knows about one manager. `usedSlots` already counts
 * every instance placed there, including those still being started.
 */
export interface ManagerView {
  id: string;
  name: string;
  slots: number;
  usedSlots: number;
  /** What keeps this manager from running instances (engine unreachable…); empty = healthy. */
  problems: readonly string[];
  /** Clouds it runs; undefined = any. */
  clouds?: readonly string[];
}

/** One instance that needs a place. */
export interface PlacementRequest {
  instanceId: string;
  endpoint: string;
  slots: number;
  /** Cloud the instance needs (`docker`); undefined = any. */
  cloud?: string;
}

export interface PlacementSnapshot {
  managers: readonly ManagerView[];
  /** Placed in this order (callers pass oldest first, so the queue is first come, first served). */
  requests: readonly PlacementRequest[];
}

/** Why a manager was not chosen for a request. */
export type SkipCode = 'UNHEALTHY' | 'NO_CLOUD' | 'NO_SLOTS' | 'NOT_ENOUGH_SLOTS';

export interface Skip {
  managerId: string;
  code: SkipCode;
  /** One human line, e.g. `host-a: needs 10 slots, 5 of 25 free`. */
  reason: string;
}

export interface Placement {
  instanceId: string;
  managerId: string;
  /** Why this manager: its relative slot use after the placement. */
  reason: string;
}

export interface PendingRequest {
  instanceId: string;
  /** One human line naming why no manager could take it. */
  reason: string;
  /** Every manager and why it was skipped. */
  skipped: Skip[];
}

export interface PlacementPlan {
  placements: Placement[];
  pending: PendingRequest[];
}

interface Candidate {
  view: ManagerView;
  used: number;
}

/**
 * Places each request, in order, on the manager with the least relative slot
 * use after the placement: `(used + needed) / slots`. Example: managers A
 * (25 slots, 10 used) and B (100 slots, 50 used), a request for 10 slots:
 * A would be at 20/25 = 80 %, B at 60/100 = 60 %, so B takes it.
 *
 * Ties go to the manager with more free slots left, then to the smaller name,
 * then to the smaller id, so a plan depends only on its snapshot. A manager is
 * skipped, with a named reason, when it has problems, does not run the cloud,
 * offers no slots, or has fewer free slots than the request needs. A request
 * no manager can take is pending, with the reason of every manager.
 *
 * The fractions are compared by cross-multiplication (a·d vs c·b), which is
 * exact for slot counts far beyond any real host.
 */
export function planPlacements(snapshot: PlacementSnapshot): PlacementPlan {
  const candidates: Candidate[] = snapshot.managers.map((view) => ({ view, used: Math.max(0, view.usedSlots) }));
  const placements: Placement[] = [];
  const pending: PendingRequest[] = [];

  for (const request of snapshot.requests) {
    let best: Candidate | undefined;
    for (const candidate of candidates) {
      if (!fits(candidate, request)) continue;
      if (best === undefined || better(candidate, best, request.slots)) best = candidate;
    }
    if (best) {
      best.used += request.slots;
      placements.push({
        instanceId: request.instanceId,
        managerId: best.view.id,
        reason: `${best.view.name}: least relative slot use after placement, ${best.used}/${best.view.slots} slots`,
      });
    } else {
      const skipped = candidates.map((candidate) => skip(candidate, request)!);
      pending.push({ instanceId: request.instanceId, reason: pendingReason(request, skipped), skipped });
    }
  }
  return { placements, pending };
}

function fits(candidate: Candidate, request: PlacementRequest): boolean {
  const { view } = candidate;
  return (
    view.problems.length === 0 &&
    (request.cloud === undefined || view.clouds === undefined || view.clouds.includes(request.cloud)) &&
    view.slots > 0 &&
    view.slots - candidate.used >= request.slots
  );
}

/** The reason a manager cannot take a request (only called when it cannot). */
function skip(candidate: Candidate, request: PlacementRequest): Skip | undefined {
  const { view } = candidate;
  const managerId = view.id;
  if (view.problems.length > 0) {
    return { managerId, code: 'UNHEALTHY', reason: `${view.name}: ${view.problems.join('; ')}` };
  }
  if (request.cloud !== undefined && view.clouds !== undefined && !view.clouds.includes(request.cloud)) {
    return { managerId, code: 'NO_CLOUD', reason: `${view.name}: does not run ${request.cloud} (runs ${view.clouds.join(', ') || 'nothing'})` };
  }
  if (view.slots <= 0) {
    return { managerId, code: 'NO_SLOTS', reason: `${view.name}: offers no slots` };
  }
  const free = Math.max(0, view.slots - candidate.used);
  if (free < request.slots) {
    return {
      managerId,
      code: 'NOT_ENOUGH_SLOTS',
      reason: `${view.name}: needs ${request.slots} slots, ${free} of ${view.slots} free`,
    };
  }
  return undefined;
}

function pendingReason(request: PlacementRequest, skipped: Skip[]): string {
  if (skipped.length === 0) return `no manager to place ${request.slots} slots on`;
  return `no manager can take ${request.slots} slots: ${skipped.map((s) => s.reason).join('; ')}`;
}

/** True if `a` is a strictly better home than `b` for `needed` slots. */
function better(a: Candidate, b: Candidate, needed: number): boolean {
  // (a.used + needed) / a.slots  vs  (b.used + needed) / b.slots
  const left = (a.used + needed) * b.view.slots;
  const right = (b.used + needed) * a.view.slots;
  if (left !== right) return left < right;
  const freeA = a.view.slots - a.used;
  const freeB = b.view.slots - b.used;
  if (freeA !== freeB) return freeA > freeB;
  if (a.view.name !== b.view.name) return a.view.name < b.view.name;
  return a.view.id < b.view.id;
}
