// The replay's instances: what a round plan does to them (launch, recommission, decommission, delete) and when a launch starts serving.
import type { PlannedAction } from '../model/decision.js';
import type { InstanceView } from '../scaling/plan.js';

/**
 * The modelled instances of one endpoint, as the planner sees them
 * (`InstanceView`), plus when each launch is ready.
 *
 * It mirrors what the controller and the hosts do with a plan:
 * - launch: a new instance, STARTING, that joins the balancer (RUNNING)
 *   `launchMs` later — the recorded launch-to-ready time;
 * - recommission: DECOMMISSIONED → RUNNING at once;
 * - decommission: RUNNING → DECOMMISSIONED (draining; a later round deletes
 *   it); one that never served (STARTING) goes at once, and so does an idle
 *   RUNNING one when the endpoint is STOPPED (as `toEndpointPlan` does);
 * - cancel / delete: gone.
 *
 * Draining instances take no new requests, and a replay has no per-request
 * durations, so they count as drained (0 connections): the next round
 * deletes them unless it recommissions them first. Every launch is assumed
 * to find room (no slots, no launch back-off): the replay asks what the
 * policy would have done, not whether the cluster could have.
 */
export class ReplayInstances {
  /** Views handed to `decide()`; objects are kept and changed in place. */
  readonly views: InstanceView[] = [];
  private readonly readyAt = new Map<InstanceView, number>();
  private nextId = 1;
  /** Instances in the balancer. */
  running = 0;

  constructor(private readonly launchMs: number) {}

  /** Instances already there when the replay starts: `running` serving, `starting` still launching (ready `launchMs` after `atMs`). */
  seed(running: number, starting: number, atMs: number): void {
    for (let i = 0; i < running; i++) this.add('RUNNING', atMs - this.launchMs, atMs);
    for (let i = 0; i < starting; i++) this.add('STARTING', atMs, atMs + this.launchMs);
  }

  /** Launches whose ready time has come join the balancer. */
  advance(atMs: number): void {
    if (this.readyAt.size === 0) return;
    for (const [view, ready] of this.readyAt) {
      if (ready > atMs) continue;
      view.status = 'RUNNING';
      this.readyAt.delete(view);
      this.running++;
    }
  }

  /** Every serving instance holds an equal share of the endpoint's open connections (what least-active removal reads). */
  spread(activePerInstance: number): void {
    for (const view of this.views) view.active = view.status === 'RUNNING' ? activePerInstance : 0;
  }

  /** Applies one round's actions at `atMs`; returns how many instances it launched. */
  apply(actions: readonly PlannedAction[], atMs: number, stopped: boolean): number {
    let launched = 0;
    let gone: Set<string> | undefined;
    for (const action of actions) {
      if (action.kind === 'launch') {
        for (let i = 0; i < action.count; i++) this.add('STARTING', atMs, atMs + this.launchMs);
        launched += action.count;
        continue;
      }
      const view = action.instanceId === null ? undefined : this.find(action.instanceId);
      if (!view) continue;
      switch (action.kind) {
        case 'recommission':
          if (view.status === 'DECOMMISSIONED') {
            view.status = 'RUNNING';
            view.decommissionedAt = null;
            this.running++;
          }
          break;
        case 'decommission':
          if (view.status === 'RUNNING' && !(stopped && !(view.active > 0))) {
            view.status = 'DECOMMISSIONED';
            view.decommissionedAt = new Date(atMs);
            view.active = 0;
            this.running--;
          } else (gone ??= new Set()).add(view.id);
          break;
        case 'cancel':
        case 'delete':
          (gone ??= new Set()).add(view.id);
          break;
      }
    }
    if (gone) this.remove(gone);
    return launched;
  }

  private add(status: 'RUNNING' | 'STARTING', createdMs: number, readyMs: number): void {
    const view: InstanceView = { id: `replay-${this.nextId++}`, status, active: 0, createdAt: new Date(createdMs), decommissionedAt: null };
    this.views.push(view);
    if (status === 'RUNNING') this.running++;
    else this.readyAt.set(view, readyMs);
  }

  private find(id: string): InstanceView | undefined {
    for (const view of this.views) if (view.id === id) return view;
    return undefined;
  }

  private remove(ids: ReadonlySet<string>): void {
    let kept = 0;
    for (const view of this.views) {
      if (!ids.has(view.id)) {
        this.views[kept++] = view;
        continue;
      }
      if (view.status === 'RUNNING') this.running--;
      this.readyAt.delete(view);
    }
    this.views.length = kept;
  }
}
