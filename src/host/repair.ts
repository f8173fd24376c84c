// The host's repair as a pure diff: an endpoint's instance records against the containers this host's engine has, and what to do to make them agree.
import type { AgentContainer } from '../agents/types.js';
import { HAS_CONTAINER } from '../model/states.js';
import type { InstanceRecord } from '../store/types.js';

/** One step that brings this host's engine (and its reports) in line with the desired state. */
export type HostAction =
  /** A STARTING record of ours with no container yet: create and start it. */
  | { kind: 'launch'; record: InstanceRecord }
  /** Our container of a record that does not know it (a crash between "started" and "recorded", or a restarted host): record its id and address. */
  | { kind: 'adopt'; record: InstanceRecord; container: AgentContainer }
  /** A STARTING instance whose container runs: wait until it answers, then it is RUNNING. */
  | { kind: 'watch'; record: InstanceRecord }
  /** The record's container exited or vanished: report it LOST (the controller replaces it). `remove` is a dead container to clear away first. */
  | { kind: 'lost'; record: InstanceRecord; why: string; beforeReady: boolean; remove: AgentContainer | null }
  /** A REMOVING record: stop and remove its container if there is one, then delete the record. */
  | { kind: 'clear'; record: InstanceRecord; container: AgentContainer | null }
  /** A labelled container of this host that no record of ours owns: remove it. */
  | { kind: 'orphan'; container: AgentContainer; why: string };

export interface RepairInput {
  /** This host's manager. */
  managerId: string;
  /** Every instance record of the endpoint, on any manager. */
  records: readonly InstanceRecord[];
  /** This host's containers of the endpoint, running or not. */
  containers: readonly AgentContainer[];
  /**
   * The controller's current term: a record of an older term that asks for
   * a launch or a removal was written by a controller that had already lost
   * its lease, and is not acted on (the current controller deletes it).
   * Default 0: act on every record.
   */
  term?: number;
}

/** Containers lists longer than this are indexed rather than scanned. */
const INDEX_ABOVE = 32;

/**
 * The diff, in record order, then orphans in container order. Worked
 * example: records a (STARTING, no container id), b (RUNNING, c2), c
 * (REMOVING, c3), d (RUNNING on another manager); containers c1 labelled a
 * and running, c2 exited, c3 running, c9 labelled nobody → adopt a←c1, lost
 * b (c2 exited), clear c with c3, orphan c9.
 */
export function diffHost(input: RepairInput): HostAction[] {
  const { managerId, records, containers } = input;
  const term = input.term ?? 0;
  const actions: HostAction[] = [];
  const byInstance = containers.length > INDEX_ABOVE ? new Map(containers.map((c) => [c.instanceId, c])) : undefined;
  const find = (record: InstanceRecord): AgentContainer | undefined =>
    (byInstance ? byInstance.get(record.id) : containers.find((c) => c.instanceId === record.id)) ??
    (record.containerId === null ? undefined : containers.find((c) => c.containerId === record.containerId));
  const owned: string[] = [];
  const others = new Map<string, string>();
  for (const record of records) {
    if (record.managerId !== managerId) {
      if (record.managerId !== null) others.set(record.id, record.managerId);
      continue;
    }
    const container = find(record);
    if (container) owned.push(container.containerId);
    const stale = record.term < term;
    if (record.status === 'REMOVING') {
      if (!stale) actions.push({ kind: 'clear', record, container: container ?? null });
      continue;
    }
    if (!HAS_CONTAINER.has(record.status)) continue;
    const beforeReady = record.status === 'STARTING';
    if (!container) {
      if (record.containerId === null && record.status === 'STARTING') {
        if (!stale) actions.push({ kind: 'launch', record });
      }
      else actions.push({ kind: 'lost', record, why: `container ${short(record.containerId ?? '?')} is gone`, beforeReady, remove: null });
    } else if (!container.running) {
      actions.push({ kind: 'lost', record, why: `container ${short(container.containerId)} ${container.state}`, beforeReady, remove: container });
    } else if (record.containerId !== container.containerId || record.address !== container.address) {
      actions.push({ kind: 'adopt', record, container });
    } else if (beforeReady) {
      actions.push({ kind: 'watch', record });
    }
  }
  const isOwned = owned.length > INDEX_ABOVE ? new Set(owned) : owned;
  for (const container of containers) {
    if (isOwned instanceof Set ? isOwned.has(container.containerId) : isOwned.includes(container.containerId)) continue;
    const elsewhere = others.get(container.instanceId);
    actions.push({
      kind: 'orphan',
      container,
      why: elsewhere ? `its instance ${container.instanceId} is assigned to manager ${elsewhere}` : `no instance of ${container.endpoint} owns it`,
    });
  }
  return actions;
}

export function short(containerId: string): string {
  return containerId.slice(0, 12);
}
