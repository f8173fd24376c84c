// Metric aggregation: per-instance reports → per-instance averages and N, skipping malformed values with a note.

/** Metrics every load balancer driver reports per instance (plain non-negative numbers). */
export const BUILTIN_METRICS = ['active', 'rate', 'bytes', 'response', 'pending', 'held'] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

const BUILTIN = new Set<string>(BUILTIN_METRICS);

/**
 * Largest magnitude of a metric value or weight that is taken. With at most
 * this much per value, Σ wᵢ·vᵢ over any number of instances Reactor runs
 * stays far below the largest double, so a weighted average never overflows
 * to Infinity (which JSON would store as null, and rules read as 0).
 */
export const MAX_METRIC_MAGNITUDE = 1e15;

/**
 * One instance's report for one sampling period. Built-in metrics are numbers
 * (`{active: 3, rate: 12.5}`); custom metrics are `[weight, value]` pairs
 * (`{queue: [2, 40]}`) — a bare number counts as weight 1. Values arrive
 * from containers and log parsing, so they are typed `unknown` and checked.
 */
export interface InstanceReport {
  /** Instance id, quoted in notes. */
  instance: string;
  metrics: Readonly<Record<string, unknown>> | null | undefined;
}

/** Why a value was left out; the caller turns these into endpoint events. */
export interface MetricNote {
  /** Instance id, or `endpoint` for endpoint-wide custom metrics. */
  source: string;
  metric: string;
  message: string;
}

export interface AggregatedMetrics {
  /** N: instances that reported (a report with no usable value still counts: the instance is there). */
  instances: number;
  /** Metric name → per-instance average; metrics nobody reported are absent (rules on them have no data and are left out). */
  metrics: Record<string, number>;
  notes: MetricNote[];
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Aggregates one round of reports.
 *
 * Built-in metrics: the plain mean over the reports that carry the metric.
 * Example: rate 30 and 36.02 from two instances → rate 33.01; with N = 2 the
 * rules see T = 66.02. A report that lacks a metric is not a zero reading, so
 * it is left out of that mean rather than dragging it down (then T = avg × N
 * extrapolates to the instance that did not say).
 *
 * Custom metrics: the weighted mean Σ wᵢ·vᵢ / Σ wᵢ of every `[weight, value]`
 * pair, from instances and from `endpointCustom` (the endpoint-wide values set
 * through `setCustomMetrics`, which do not count towards N). Example:
 * queue [1, 10] and [3, 50] → (10 + 150) / 4 = 40. If all weights are 0 the
 * metric has no average and is left out with a note.
 *
 * Malformed values (NaN, Infinity, strings, negative built-ins, negative
 * weights, pairs that are not pairs) are skipped with a note, never thrown.
 * `instances` is reserved (it is the count itself) and is skipped with a note.
 */
export function aggregateMetrics(
  reports: readonly InstanceReport[],
  endpointCustom?: Readonly<Record<string, unknown>> | null,
): AggregatedMetrics {
  const sums = new Map<string, { weighted: number; weight: number }>();
  const notes: MetricNote[] = [];
  const add = (metric: string, weight: number, value: number) => {
    const acc = sums.get(metric);
    if (acc) {
      acc.weighted += weight * value;
      acc.weight += weight;
    } else {
      sums.set(metric, { weighted: weight * value, weight });
    }
  };
  // (skip is a plain function of its arguments, not a closure made per value: this runs for every metric of every instance each round.)
  const skip = (source: string, metric: string, raw: unknown, why: string) =>
    notes.push({ source, metric, message: `${source}: metric "${metric}" value ${describe(raw)} ${why}; ignored` });
  const take = (source: string, metric: string, raw: unknown) => {
    if (metric === 'instances') return skip(source, metric, raw, 'uses the reserved name "instances"');
    if (BUILTIN.has(metric)) {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) return skip(source, metric, raw, 'is not a finite number');
      if (raw < 0) return skip(source, metric, raw, 'is negative');
      if (raw > MAX_METRIC_MAGNITUDE) return skip(source, metric, raw, `is beyond ${MAX_METRIC_MAGNITUDE}`);
      return add(metric, 1, raw);
    }
    if (typeof raw === 'number') {
      if (!Number.isFinite(raw)) return skip(source, metric, raw, 'is not a finite number');
      if (Math.abs(raw) > MAX_METRIC_MAGNITUDE) return skip(source, metric, raw, `is beyond ±${MAX_METRIC_MAGNITUDE}`);
      return add(metric, 1, raw);
    }
    if (!Array.isArray(raw) || raw.length !== 2) return skip(source, metric, raw, 'is not a number or a [weight, value] pair');
    const [weight, value] = raw as unknown[];
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      return skip(source, metric, raw, 'has a weight that is not a finite non-negative number');
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) return skip(source, metric, raw, 'has a value that is not a finite number');
    if (weight > MAX_METRIC_MAGNITUDE || Math.abs(value) > MAX_METRIC_MAGNITUDE) {
      return skip(source, metric, raw, `has a weight or value beyond ±${MAX_METRIC_MAGNITUDE}, whose weighted average could not be represented`);
    }
    return add(metric, weight, value);
  };

  let instances = 0;
  for (const report of reports) {
    const source = report?.instance ?? 'unknown instance';
    const metrics = report?.metrics;
    if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
      notes.push({ source, metric: '*', message: `${source}: report ${describe(metrics)} is not an object of metrics; ignored` });
      continue;
    }
    instances += 1;
    for (const metric of Object.keys(metrics)) take(source, metric, metrics[metric]);
  }
  if (endpointCustom !== null && endpointCustom !== undefined) {
    for (const metric of Object.keys(endpointCustom)) {
      if (BUILTIN.has(metric)) {
        notes.push({ source: 'endpoint', metric, message: `endpoint: "${metric}" is a built-in metric and cannot be set as a custom metric; ignored` });
        continue;
      }
      take('endpoint', metric, endpointCustom[metric]);
    }
  }

  // Built as entries: a plain `out[metric] = …` would drop a metric named __proto__.
  const out: [string, number][] = [];
  for (const [metric, { weighted, weight }] of sums) {
    if (weight > 0) out.push([metric, weighted / weight]);
    else notes.push({ source: 'endpoint', metric, message: `metric "${metric}" has total weight 0, so no average; ignored` });
  }
  return { instances, metrics: Object.fromEntries(out), notes };
}
