// The launch delay a replay models: launch-to-ready times read from an endpoint's recorded instance events, and their median.
import { InstanceEventKinds } from '../model/events.js';
import type { LaunchModel } from './types.js';

/** An endpoint event as the launch model reads it (a stored `EventRecord` fits). */
export interface LaunchEvent {
  kind: string;
  at: Date;
  data: Readonly<Record<string, unknown>>;
}

/** The status the event's instance record had after the change, if it says. */
function statusOf(data: Readonly<Record<string, unknown>>): unknown {
  const instance = data.instance;
  return typeof instance === 'object' && instance !== null ? (instance as Record<string, unknown>).status : undefined;
}

/**
 * Seconds from each launch to its instance being ready, oldest first. A
 * launch starts when the instance is given a manager: created STARTING
 * (INSTANCE_CREATED), or placed after waiting for room (INSTANCE_PLACED), so
 * the time spent waiting for room is not counted (a replay assumes there is
 * room). It ends when its host finds it answering (INSTANCE_RUNNING with
 * `ready`). Launches whose start is before `events` begin are left out, and
 * so are instances that failed before they were ready.
 *
 * Example: created STARTING at 12:00:00.000, running at 12:00:00.740 → 0.74.
 */
export function launchToReadyTimes(events: readonly LaunchEvent[]): number[] {
  const started = new Map<string, number>();
  const times: number[] = [];
  for (const event of events) {
    const id = event.data.instanceId;
    if (typeof id !== 'string') continue;
    if (
      (event.kind === InstanceEventKinds.INSTANCE_CREATED && statusOf(event.data) === 'STARTING') ||
      event.kind === InstanceEventKinds.INSTANCE_PLACED
    ) {
      started.set(id, event.at.getTime());
    } else if (event.kind === InstanceEventKinds.INSTANCE_RUNNING && event.data.ready === true) {
      const at = started.get(id);
      if (at !== undefined) times.push(Math.max(0, event.at.getTime() - at) / 1000);
      started.delete(id);
    } else if (event.kind === InstanceEventKinds.INSTANCE_ERROR || event.kind === InstanceEventKinds.INSTANCE_REMOVED) {
      started.delete(id);
    }
  }
  return times;
}

/** The median of `values` (the mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The launch model: the caller's value when given, else the median of the recorded times, else 0 with nothing recorded. */
export function launchModel(given: number | null | undefined, recorded: readonly number[]): LaunchModel {
  if (given !== null && given !== undefined) return { seconds: given, source: 'given', launches: 0 };
  const middle = median(recorded);
  return middle === null ? { seconds: 0, source: 'none', launches: 0 } : { seconds: middle, source: 'recorded', launches: recorded.length };
}
