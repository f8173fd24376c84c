// Re-division: a recorded sample's per-instance metrics as they would have read over another instance count, the endpoint's total traffic unchanged.

/**
 * Metrics a replay takes as recorded instead of re-dividing. A response time
 * is what one request took, not a share of a total: more instances do not
 * make it shorter in proportion, and this replay has no queueing model to
 * say by how much they would. Kept as recorded, it errs on the side of the
 * recording: a policy that runs fewer instances is not shown to get slower.
 */
export const UNDIVIDED_METRICS: ReadonlySet<string> = new Set(['response']);

/**
 * One sample's per-instance averages over `replayed` instances instead of the
 * `recorded` N that reported them. Total traffic is what was recorded; the
 * calculator's own model (T = average × N) decides what a metric's total is.
 *
 * | metric                                | recorded over N | replayed over N'                    |
 * |---------------------------------------|-----------------|-------------------------------------|
 * | rate, bytes, errors, active, custom    | average a       | a × N / N' (0 when N' = 0)          |
 * | response, and any in `undivided`       | average a       | a, as recorded                      |
 * | pending (requests/s finding no one)    | p (not per N)   | p while N and N' are both > 0 or 0  |
 * | pending, N > 0 and N' = 0              | p               | p + rate × N: all of it finds no one |
 * | rate, N = 0 and N' > 0                 | 0 (and p)       | p / N': what found no one is served  |
 *
 * `active` (open connections) re-divides by Little's law: connections =
 * arrival rate × time in the system; with the rate and the response time
 * unchanged, the endpoint's total connections are unchanged too.
 *
 * Worked example: rate 30/instance and active 4 over N = 2, response 12 ms →
 * over N' = 3: rate 20, active 2.67, response 12. Over N' = 0 with p = 0:
 * rate 0, pending 60.
 *
 * Returns `metrics` itself when nothing changes (N' = N): the replay calls
 * this every round, and most rounds keep the recorded count.
 */
export function redivide(
  metrics: Readonly<Record<string, number>>,
  recorded: number,
  replayed: number,
  undivided: ReadonlySet<string> = UNDIVIDED_METRICS,
): Readonly<Record<string, number>> {
  if (recorded === replayed) return metrics;
  const out: Record<string, number> = {};
  const factor = replayed > 0 ? recorded / replayed : 0;
  for (const name in metrics) {
    if (name === 'pending') continue;
    const value = metrics[name];
    out[name] = undivided.has(name) ? value : value * factor;
  }
  const pending = metrics.pending;
  const rateDivides = !undivided.has('rate');
  if (rateDivides && recorded > 0 && replayed === 0) {
    out.pending = (pending ?? 0) + (metrics.rate ?? 0) * recorded;
    if ('rate' in out) out.rate = 0;
  } else if (rateDivides && recorded === 0 && replayed > 0 && pending !== undefined && pending > 0) {
    out.rate = (out.rate ?? 0) + pending / replayed;
    out.pending = 0;
  } else if (pending !== undefined) {
    out.pending = pending;
  }
  return out;
}

/**
 * Requests per second that came to the endpoint in a sample: served
 * (rate × N) plus those that found no instance (pending). Zero means the
 * endpoint was idle, whatever its instance count.
 */
export function offeredRate(metrics: Readonly<Record<string, number>>, instances: number): number {
  return (metrics.rate ?? 0) * instances + (metrics.pending ?? 0);
}
