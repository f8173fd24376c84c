// What asks the controller for a round of one endpoint, and how requests that arrive while one is queued fold into it.
import type { RoundMode, RoundStart } from '../model/decision.js';
import type { InstanceRecord } from '../store/types.js';
import type { SampleView } from './policy.js';

export interface RoundRequest {
  mode: RoundMode;
  /** What asked for the round; merged requests keep the strongest (interval > burst > held > change). */
  startedBy: RoundStart;
  /** The host's short-window reading, for burst and held rounds. */
  surge?: SampleView;
  causes: Set<string>;
  /** The instance records a sweep listed, when this round may use them. */
  snapshot: { instances: Map<string, InstanceRecord[]>; generations: Map<string, number> } | undefined;
}

/** Which of two merged requests names the round: the interval's full evaluation beats a burst's, which beats a held request's and a change. */
const START_RANK: Record<RoundStart, number> = { change: 0, held: 1, burst: 2, interval: 3 };

/** Folds `next` into the request already queued: an evaluation upgrades a trigger, the newest surge reading wins. */
export function mergeRequests(queued: RoundRequest, next: RoundRequest): void {
  if (next.mode === 'evaluate') queued.mode = 'evaluate';
  if (START_RANK[next.startedBy] > START_RANK[queued.startedBy]) queued.startedBy = next.startedBy;
  if (next.surge) queued.surge = next.surge;
  for (const cause of next.causes) queued.causes.add(cause);
  queued.snapshot ??= next.snapshot;
}

/**
 * The round a host's SURGE event (src/host/surge.ts) asks for: its traffic
 * over the last second, or a held request, wants more instances than the
 * endpoint has. The round runs now, evaluates the rules with the host's
 * reading, and may only add instances; the interval keeps scale-down (so the
 * count does not flap). null when the event carries no usable sample.
 */
export function surgeRequest(data: Readonly<Record<string, unknown>>): RoundRequest | null {
  const sample = data.sample as SampleView | undefined;
  if (!sample || typeof sample.instances !== 'number' || typeof sample.metrics !== 'object') return null;
  const startedBy: RoundStart = data.startedBy === 'held' ? 'held' : 'burst';
  return { mode: 'evaluate', startedBy, surge: sample, causes: new Set([startedBy]), snapshot: undefined };
}
