// Writes one round's plan as desired state: instance records taken out, drained, put back, and placed on managers by slots; says what became of every action.
import type { EndpointConfig } from '../config/model.js';
import type { InstanceService } from '../instances/service.js';
import type { AppliedAction, PlannedAction } from '../model/decision.js';
import { InstanceEventKinds } from '../model/events.js';
import { planPlacements, type ManagerView, type PlacementRequest } from '../scheduler/placement.js';
import { newId } from '../store/ids.js';
import type { InstanceRecord, Store } from '../store/types.js';
import type { LaunchBackoff } from './backoff.js';
import type { ManagerWatch } from './managers.js';
import type { EndpointPlan } from './plan.js';

/** The cloud a problem line is about (`docker: engine not reachable…` → docker); placement only cares about its own. */
const DOCKER_PROBLEM = /^docker:/;

export interface DesiredStateOptions {
  store: Store;
  instances: InstanceService;
  backoff: LaunchBackoff;
  now: () => Date;
  /** Which managers' hosts are alive: a LOST one gets no new instances. */
  managers: ManagerWatch;
}

/** The store refused a write because a newer controller term wrote the record: this controller is stale. */
export class FencedOut extends Error {
  constructor(readonly instanceId: string, readonly term: number, readonly newer: number) {
    super(`instance ${instanceId} was written by term ${newer}; this controller's term ${term} is over`);
    this.name = 'FencedOut';
  }
}

/** What applying a plan did. */
export interface Applied {
  /** Every action, one per instance, with its outcome. */
  actions: AppliedAction[];
  /** Anything was written. */
  changed: boolean;
  /** Launches held back by the back-off until this epoch ms; null when none were. */
  deferredUntil: number | null;
  /** What was wanted but not done, in words (goes into the decision's notes). */
  notes: string[];
}

/**
 * The controller's only writer of instance records. It never touches a
 * container: the host of each instance's manager makes its engine match
 * these records (launches STARTING ones, removes REMOVING ones).
 *
 * - remove: an instance with no manager (never placed) is deleted at once;
 *   any other becomes REMOVING, and its host removes the container, then the
 *   record.
 * - decommission: RUNNING → DECOMMISSIONED (out of the balancer, draining).
 * - recommission: DECOMMISSIONED → RUNNING.
 * - launch: new and waiting (PENDING) instances are placed by slots across
 *   the live managers and written STARTING on their manager — unless the
 *   launch back-off runs, which defers them.
 */
export class DesiredStateWriter {
  private placementLock: Promise<void> = Promise.resolve();

  constructor(private readonly options: DesiredStateOptions) {}

  async apply(endpoint: string, config: EndpointConfig | null, instances: readonly InstanceRecord[], plan: EndpointPlan, term: number): Promise<Applied> {
    const applied: Applied = { actions: [], changed: false, deferredUntil: null, notes: [] };
    let index: Map<string, InstanceRecord> | undefined;
    const byId = (id: string) => (index ??= new Map(instances.map((i) => [i.id, i]))).get(id);
    const planned = new Map<string, PlannedAction>();
    for (const action of plan.decision?.actions ?? []) if (action.instanceId) planned.set(action.instanceId, action);
    const reasonOf = (id: string) => plan.reasons?.[id] ?? plan.why;
    const removedAtOnce = new Set(plan.removedAtOnce ?? []);

    const act = (id: string, record: InstanceRecord | undefined, done: boolean, fallback: PlannedAction['kind']) => {
      const action = planned.get(id);
      const outcome = !done ? 'skipped' : removedAtOnce.has(id) ? 'removed' : 'done';
      applied.actions.push({
        kind: action?.kind ?? fallback,
        direction: action?.direction ?? 'cleanup',
        instanceId: id,
        managerId: record?.managerId ?? null,
        outcome,
        reason:
          outcome === 'removed'
            ? `${reasonOf(id)}; removed at once: ${record?.status === 'RUNNING' ? 'no open connection to drain (endpoint STOPPED)' : 'it never joined the balancer, nothing to drain'}`
            : outcome === 'skipped'
              ? `${reasonOf(id)}; skipped: the instance changed meanwhile (${record ? record.status : 'gone'})`
              : reasonOf(id),
        until: null,
      });
      if (outcome === 'removed') applied.notes.push(`decommission of ${id} became an immediate removal (nothing to drain)`);
    };

    if (plan.remove.length > 0) {
      const done = await Promise.all(plan.remove.map((id) => this.remove(byId(id), reasonOf(id), term)));
      plan.remove.forEach((id, n) => act(id, byId(id), done[n], 'delete'));
      applied.changed ||= done.some(Boolean);
    }
    if (plan.decommission.length > 0 || plan.recommission.length > 0) {
      const timeout = config?.endpoint.decommissionedTimeout ?? 0;
      const done = await Promise.all([
        ...plan.decommission.map((id) => this.decommission(byId(id), timeout, reasonOf(id), term)),
        ...plan.recommission.map((id) => this.recommission(byId(id), reasonOf(id), term)),
      ]);
      [...plan.decommission, ...plan.recommission].forEach((id, n) => act(id, byId(id), done[n], n < plan.decommission.length ? 'decommission' : 'recommission'));
      applied.changed ||= done.some(Boolean);
    }
    const pending = instances.filter((i) => i.status === 'PENDING' && !plan.remove.includes(i.id));
    if (config && (plan.launch > 0 || pending.length > 0)) {
      const launch = plan.decision?.actions.find((a) => a.kind === 'launch');
      await this.place(endpoint, config, plan.launch, pending, launch?.reason ?? plan.why, applied, term);
    }
    return applied;
  }

  /** Takes an instance away; false when it was already gone or going. */
  private async remove(record: InstanceRecord | undefined, why: string, term: number): Promise<boolean> {
    if (!record || record.status === 'REMOVING') return false;
    if (record.managerId === null) {
      return this.fenced(record.id, await this.options.instances.remove(record, `instance ${record.id} removed (${why})`, { why }, { term }), term);
    }
    const changed = await this.options.instances.change(
      record.id,
      { status: 'REMOVING', reason: why, term },
      InstanceEventKinds.INSTANCE_REMOVING,
      `instance ${record.id} removing (${why})`,
      { why },
      { status: ['PENDING', 'STARTING', 'RUNNING', 'DECOMMISSIONED', 'ERROR', 'LOST'], term },
    );
    return this.fenced(record.id, changed !== null, term);
  }

  /** Out of the balancer (the balancer serves RUNNING instances only); it drains until a later round removes it. */
  private async decommission(record: InstanceRecord | undefined, timeoutSeconds: number, why: string, term: number): Promise<boolean> {
    if (!record || record.status !== 'RUNNING') return false;
    const changed = await this.options.instances.change(
      record.id,
      { status: 'DECOMMISSIONED', decommissionedAt: this.options.now(), reason: why, term },
      InstanceEventKinds.INSTANCE_DECOMMISSIONED,
      `instance ${record.id} decommissioned: out of the balancer, draining until its connections close or ${timeoutSeconds} s pass`,
      { why },
      { status: ['RUNNING'], term },
    );
    return this.fenced(record.id, changed !== null, term);
  }

  /** Back into the balancer: it is still running and warm, cheaper than a launch. */
  private async recommission(record: InstanceRecord | undefined, why: string, term: number): Promise<boolean> {
    if (!record || record.status !== 'DECOMMISSIONED') return false;
    const changed = await this.options.instances.change(
      record.id,
      { status: 'RUNNING', decommissionedAt: null, reason: null, term },
      InstanceEventKinds.INSTANCE_RECOMMISSIONED,
      `instance ${record.id} recommissioned: back in the balancer at ${record.address}`,
      { why },
      { status: ['DECOMMISSIONED'], term },
    );
    return this.fenced(record.id, changed !== null, term);
  }

  /**
   * Places the endpoint's waiting instances plus `count` new ones (unless the
   * launch back-off runs) and writes placed ones STARTING on their manager;
   * the rest wait as PENDING with the reason from every manager.
   */
  private async place(endpoint: string, config: EndpointConfig, count: number, pending: InstanceRecord[], why: string, applied: Applied, term: number): Promise<void> {
    const { instances } = this.options;
    const nowMs = this.options.now().getTime();
    const until = this.options.backoff.deferredUntil(endpoint, nowMs);
    if (until !== null) {
      applied.deferredUntil = until;
      const at = new Date(until).toISOString();
      const reason = `${why}; deferred by the launch back-off until ${at}`;
      for (const waiting of pending) applied.actions.push({ kind: 'launch', direction: 'up', instanceId: waiting.id, managerId: null, outcome: 'deferred', reason, until: at });
      for (let n = 0; n < count; n++) applied.actions.push({ kind: 'launch', direction: 'up', instanceId: null, managerId: null, outcome: 'deferred', reason, until: at });
      applied.notes.push(`${count + pending.length} launch${count + pending.length === 1 ? '' : 'es'} deferred by the launch back-off until ${at}`);
      return;
    }
    const slots = config.docker.slots;
    const requests: PlacementRequest[] = [
      ...pending.map((p) => ({ instanceId: p.id, endpoint, slots, cloud: config.endpoint.cloud })),
      ...Array.from({ length: count }, () => ({ instanceId: newId(), endpoint, slots, cloud: config.endpoint.cloud })),
    ];
    const pendingById = new Map(pending.map((p) => [p.id, p]));
    await this.withPlacementLock(async () => {
      const plan = planPlacements({ managers: await this.managerViews(), requests });
      // Written all at once, not one after another: a host then finds the records of a round together and launches them
      // side by side, instead of one sync per record each waiting for the launch before it.
      await Promise.all(
        plan.placements.map(async (placement) => {
          const message = `instance ${placement.instanceId} placed on ${placement.reason}`;
          const waiting = pendingById.get(placement.instanceId);
          if (waiting) {
            const placed = await instances.change(
              waiting.id,
              { status: 'STARTING', managerId: placement.managerId, reason: null, term },
              InstanceEventKinds.INSTANCE_PLACED,
              message,
              {},
              { status: ['PENDING'], term },
            );
            await this.fenced(waiting.id, placed !== null, term);
          } else {
            await instances.create(
              { id: placement.instanceId, endpoint, slots, status: 'STARTING', managerId: placement.managerId, reason: null, term },
              InstanceEventKinds.INSTANCE_CREATED,
              message,
            );
          }
        }),
      );
      for (const placement of plan.placements) {
        applied.changed = true;
        applied.actions.push({ kind: 'launch', direction: 'up', instanceId: placement.instanceId, managerId: placement.managerId, outcome: 'done', reason: `${why}; placed on ${placement.reason}`, until: null });
      }
      for (const wait of plan.pending) {
        const waiting = pendingById.get(wait.instanceId);
        const data = { skipped: wait.skipped };
        if (!waiting) {
          applied.changed = true;
          await instances.create(
            { id: wait.instanceId, endpoint, slots, status: 'PENDING', managerId: null, reason: wait.reason, term },
            InstanceEventKinds.INSTANCE_PENDING,
            `instance ${wait.instanceId} pending: ${wait.reason}`,
            data,
          );
        } else if (waiting.reason !== wait.reason) {
          applied.changed = true;
          await instances.change(waiting.id, { reason: wait.reason, term }, InstanceEventKinds.INSTANCE_PENDING, `instance ${wait.instanceId} pending: ${wait.reason}`, data, { term });
        }
        applied.actions.push({ kind: 'launch', direction: 'up', instanceId: wait.instanceId, managerId: null, outcome: 'no-room', reason: `${why}; ${wait.reason}`, until: null });
      }
      if (plan.pending.length > 0) applied.notes.push(`${plan.pending.length} launch${plan.pending.length === 1 ? '' : 'es'} found no room: ${plan.pending[0]!.reason}`);
    });
  }

  /**
   * After a write the store refused: if a newer term wrote the record, this
   * controller is stale (FencedOut); otherwise the record had just changed
   * (a host reported it, or it is gone) and `done` stays false.
   */
  private async fenced(id: string, done: boolean, term: number): Promise<boolean> {
    if (done) return true;
    const current = await this.options.store.instances.get(id);
    if (current && current.term > term) throw new FencedOut(id, term, current.term);
    return false;
  }

  /** The scheduler's view of the managers: used slots from their hosts' reports or our records, whichever is more. */
  private async managerViews(): Promise<ManagerView[]> {
    const [managers, instances] = await Promise.all([this.options.store.managers.list(), this.options.store.instances.list()]);
    this.options.managers.observe(managers);
    const placed = new Map<string, number>();
    for (const instance of instances) {
      if (instance.status === 'PENDING' || !instance.managerId) continue;
      placed.set(instance.managerId, (placed.get(instance.managerId) ?? 0) + instance.slots);
    }
    return managers.map((manager) => ({
      id: manager.id,
      name: manager.name,
      slots: manager.slots,
      usedSlots: Math.max(manager.usedSlots, placed.get(manager.id) ?? 0),
      problems: [...this.options.managers.problems(manager), ...manager.problems.filter((p) => DOCKER_PROBLEM.test(p))],
      clouds: manager.clouds,
    }));
  }

  private async withPlacementLock<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.placementLock;
    let release!: () => void;
    this.placementLock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}
