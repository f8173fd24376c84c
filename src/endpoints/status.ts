// What an endpoint's instances and rules look like at a glance: running/wanted with the first pending reason, and warnings about rules on metrics nobody reports.
import { parseEndpointConfigCached } from '../config/index.js';
import { BUILTIN_METRICS } from '../scaling/aggregate.js';
import { countsAsCurrent } from '../scaling/plan.js';
import { parseRulesCached, type Rule } from '../scaling/rules.js';
import type { EndpointRecord, InstanceRecord, Store } from '../store/types.js';

/** Metrics every balanced endpoint's samples carry (besides BUILTIN_METRICS), and the count itself. */
const ALSO_KNOWN = ['errors', 'instances'];

export interface InstanceCounts {
  running: number;
  wanted: number;
  pendingReason: string | null;
}

/** RUNNING of RUNNING + STARTING + PENDING, and the reason of the first of the wanted that does not run yet (oldest first). */
export function instanceCounts(instances: readonly InstanceRecord[]): InstanceCounts {
  let running = 0;
  let wanted = 0;
  let pendingReason: string | null = null;
  const oldestFirst = [...instances].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
  for (const instance of oldestFirst) {
    if (instance.status === 'RUNNING') running++;
    if (!countsAsCurrent(instance.status)) continue;
    wanted++;
    if (instance.status !== 'RUNNING' && pendingReason === null && instance.reason) pendingReason = instance.reason;
  }
  return { running, wanted, pendingReason };
}

/**
 * One warning per rule whose metric is neither built in nor in `reported`
 * (the custom metrics some instance or endpoint-wide set reports). Custom
 * metrics are legitimate, so such a rule is accepted; but until something
 * reports its metric it has no data and is left out of every decision, and
 * a typo (`rat` for `rate`) would otherwise go unnoticed.
 */
export function ruleWarnings(rules: readonly Rule[], reported: Iterable<string>): string[] {
  const known = new Set<string>([...BUILTIN_METRICS, ...ALSO_KNOWN, ...reported]);
  const builtIn = [...BUILTIN_METRICS, ...ALSO_KNOWN].join(', ');
  return rules
    .filter((rule) => !known.has(rule.metric))
    .map(
      (rule) =>
        `rule "${rule.text}" reads metric "${rule.metric}", which is not built in (${builtIn}) and which no instance or ` +
        `endpoint-wide set reports: it has no data, so the rule is left out of every decision until something reports it (a typo?)`,
    );
}

/** The warnings of a stored endpoint: its rules against the custom metrics reported for it and the metrics of its latest sample. */
export async function endpointWarnings(store: Store, record: EndpointRecord): Promise<string[]> {
  let rules: readonly Rule[];
  try {
    rules = parseRulesCached(parseEndpointConfigCached(record.configText).scaling.rules);
  } catch {
    return []; // a stored configuration that does not parse has bigger problems, told elsewhere
  }
  if (rules.every((rule) => BUILTIN_METRICS.includes(rule.metric as never) || ALSO_KNOWN.includes(rule.metric))) return [];
  const [custom, sample] = await Promise.all([store.customMetrics.list(record.name), store.samples.latest(record.name)]);
  const reported = new Set<string>(Object.keys(sample?.metrics ?? {}));
  for (const scope of custom) for (const name of Object.keys(scope.metrics)) reported.add(name);
  return ruleWarnings(rules, reported);
}
