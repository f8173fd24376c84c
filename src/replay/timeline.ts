// Thins a replay's timeline to the rounds where something changed, for charts and tables that do not need every second.
import type { ReplayPoint } from './types.js';

/**
 * The first and last points, and every point where either side's target or
 * count differs from the point before: a chart drawn as steps through these
 * is the chart of the whole timeline.
 */
export function changedPoints(timeline: readonly ReplayPoint[]): ReplayPoint[] {
  const out: ReplayPoint[] = [];
  for (let k = 0; k < timeline.length; k++) {
    const point = timeline[k];
    const before = timeline[k - 1];
    if (
      !before ||
      k === timeline.length - 1 ||
      point.target !== before.target ||
      point.instances !== before.instances ||
      point.after !== before.after ||
      point.serving !== before.serving ||
      point.recordedTarget !== before.recordedTarget ||
      point.recordedInstances !== before.recordedInstances
    ) {
      out.push(point);
    }
  }
  return out;
}
