// Custom metrics: checks `{"name": [weight, value]}` maps at the API boundary and stores them per endpoint or per instance.
import { badInput, notFound } from '../errors/codes.js';
import type { EventRecorder } from '../events/recorder.js';
import { EventKinds } from '../model/events.js';
import { BUILTIN_METRICS, MAX_METRIC_MAGNITUDE } from '../scaling/aggregate.js';
import type { CustomMetricsRecord, Store } from '../store/types.js';
import { wallClock } from '../time/timers.js';

/** Names the balancer itself reports (plus `instances`, the count): a custom metric may not shadow them. */
export const RESERVED_METRICS: readonly string[] = [...BUILTIN_METRICS, 'errors', 'instances'];
export const MAX_CUSTOM_METRICS = 100;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/**
 * Identifiers that name parts of every JavaScript object: `{"__proto__": …}`
 * would replace the map's prototype instead of adding a metric (and so wipe
 * the scope), and the others shadow what code reading the map relies on.
 */
export const FORBIDDEN_METRIC_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Checks a custom metrics map, all or nothing: an object whose keys are
 * identifiers (letter or _, then letters, digits, _; at most 64) that are not
 * built-in metric names nor names every object has (`__proto__`,
 * `constructor`, …), and whose values are `[weight, value]` with a weight
 * from 0 to 1e15 and a value from -1e15 to 1e15. The bound keeps every
 * weighted average representable: Σ wᵢ·vᵢ of 1e308-sized numbers overflows
 * to Infinity, which JSON stores as null and rules would read as 0.
 * `{}` is valid (it clears the scope).
 */
export function parseCustomMetrics(input: unknown): Record<string, [number, number]> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw badInput(`custom metrics must be a JSON object like {"queue": [1, 40]}, got ${show(input)}`, { field: 'metrics' });
  }
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length > MAX_CUSTOM_METRICS) {
    throw badInput(`at most ${MAX_CUSTOM_METRICS} custom metrics may be set at once, got ${entries.length}`, { field: 'metrics' });
  }
  const out = new Map<string, [number, number]>();
  for (const [name, pair] of entries) {
    if (!NAME.test(name)) {
      throw badInput(
        `custom metric name ${JSON.stringify(name)} is not an identifier (a letter or _, then letters, digits or _; at most 64)`,
        { field: 'metrics', metric: name },
      );
    }
    if (FORBIDDEN_METRIC_NAMES.includes(name)) {
      throw badInput(`custom metric name "${name}" is not allowed: it names a part of every object (${FORBIDDEN_METRIC_NAMES.join(', ')})`, {
        field: 'metrics',
        metric: name,
      });
    }
    if (RESERVED_METRICS.includes(name)) {
      throw badInput(`custom metric name "${name}" is reserved for a built-in metric (${RESERVED_METRICS.join(', ')})`, {
        field: 'metrics',
        metric: name,
      });
    }
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw badInput(`custom metric "${name}" must be a [weight, value] pair, got ${show(pair)}`, { field: 'metrics', metric: name });
    }
    const [weight, value] = pair as unknown[];
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > MAX_METRIC_MAGNITUDE) {
      throw badInput(`custom metric "${name}" has weight ${show(weight)}; expected a finite number from 0 to ${MAX_METRIC_MAGNITUDE}`, {
        field: 'metrics',
        metric: name,
        limit: MAX_METRIC_MAGNITUDE,
      });
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_METRIC_MAGNITUDE) {
      throw badInput(`custom metric "${name}" has value ${show(value)}; expected a finite number from -${MAX_METRIC_MAGNITUDE} to ${MAX_METRIC_MAGNITUDE}`, {
        field: 'metrics',
        metric: name,
        limit: MAX_METRIC_MAGNITUDE,
      });
    }
    out.set(name, [weight, value]);
  }
  return Object.fromEntries(out);
}

export class CustomMetricsService {
  constructor(
    private readonly store: Store,
    private readonly events: EventRecorder,
    private readonly clock: () => Date = wallClock,
  ) {}

  /**
   * Endpoint-wide values (`reactor set-metrics NAME < json`): they join the
   * weighted averages of the instances' own values without counting as an
   * instance. Replaces the previous endpoint-wide map; recorded as an event.
   */
  async setForEndpoint(endpoint: string, input: unknown): Promise<CustomMetricsRecord> {
    const metrics = parseCustomMetrics(input);
    if (!(await this.store.endpoints.get(endpoint))) throw notFound('endpoint', endpoint);
    const record = await this.store.customMetrics.set({ endpoint, instance: '', metrics, updatedAt: this.clock() });
    const names = Object.keys(metrics);
    await this.events.record(
      endpoint,
      EventKinds.CUSTOM_METRICS_SET,
      names.length > 0 ? `${endpoint}: custom metrics set: ${names.join(', ')}` : `${endpoint}: custom metrics cleared`,
      { metrics },
    );
    return record;
  }

  /**
   * One instance's own values (from inside the container, through
   * REACTOR_API). Readings arrive often, so they are stored but not logged as
   * events; they count while the instance is in rotation.
   */
  async setForInstance(instanceId: string, input: unknown): Promise<CustomMetricsRecord> {
    const metrics = parseCustomMetrics(input);
    const instance = await this.store.instances.get(instanceId);
    if (!instance) throw notFound('instance', instanceId);
    return this.store.customMetrics.set({ endpoint: instance.endpoint, instance: instance.id, metrics, updatedAt: this.clock() });
  }
}
