// The heartbeat of this host's manager record: used slots recounted from its labelled containers, what it lacks, and when it was last seen.
import type { Agent, AgentContainer } from '../agents/types.js';
import type { Store } from '../store/types.js';

/** The cloud a problem line is about (`docker: engine not reachable…` → docker): the heartbeat owns only its own lines. */
const DOCKER_PROBLEM = /^docker:/;

/**
 * Updates the manager record of `agent`: used slots from its labelled
 * containers plus launches in flight (STARTING records without a container
 * yet), its docker problems, lastSeen. `listed` stands in for a new listing
 * when the caller has a current one. Only the fields the heartbeat owns are
 * written, so an operator's slots set meanwhile stay.
 */
export async function heartbeat(store: Store, agent: Agent, now: Date, listed?: readonly AgentContainer[]): Promise<void> {
  const problems = await agent.problems();
  let containers: readonly AgentContainer[] = [];
  if (problems.length === 0) containers = listed ?? (await agent.list().catch(() => []));
  const records = await store.instances.list({ managerId: agent.managerId });
  let inFlight = 0;
  let withContainer: Set<string> | undefined;
  for (const r of records) {
    if (r.status !== 'STARTING' || r.containerId !== null) continue;
    withContainer ??= new Set(containers.map((c) => c.instanceId));
    if (!withContainer.has(r.id)) inFlight += r.slots;
  }
  let used = inFlight;
  for (const c of containers) used += c.slots;
  const existing = await store.managers.get(agent.managerId);
  if (!existing) return;
  await store.managers.update(agent.managerId, {
    usedSlots: used,
    lastSeen: now,
    problems: [...existing.problems.filter((p) => !DOCKER_PROBLEM.test(p)), ...problems],
  });
}
