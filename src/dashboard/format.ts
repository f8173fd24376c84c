// Numbers, ages and instance tallies as the dashboard shows them.
import type { InstanceRow } from './queries.js';

export function formatNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en', { maximumFractionDigits: digits });
}

/** How long ago (or, for a future time, in how long): `42 s`, `3 min`, `2 h`. */
export function age(at: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(at)) / 1000));
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** A rule's or the ideal's range of instance counts: `2..5`, `2..∞` when unbounded. */
export function range(min: number, max: number | null): string {
  return `${min}..${max === null ? '∞' : max}`;
}

export function clock(at: string): string {
  return new Date(at).toLocaleTimeString('en-GB', { hour12: false });
}

/** Instances by what they are doing: serving, on their way, draining, waiting. */
export interface Tally {
  running: number;
  starting: number;
  draining: number;
  pending: number;
  failed: number;
}

export function tally(instances: readonly Pick<InstanceRow, 'status'>[]): Tally {
  const t: Tally = { running: 0, starting: 0, draining: 0, pending: 0, failed: 0 };
  for (const instance of instances) {
    if (instance.status === 'RUNNING') t.running++;
    else if (instance.status === 'STARTING') t.starting++;
    else if (instance.status === 'DECOMMISSIONED' || instance.status === 'REMOVING') t.draining++;
    else if (instance.status === 'PENDING') t.pending++;
    else t.failed++;
  }
  return t;
}

/** Upserts or removes one instance after an instanceChanges item. */
export function applyInstanceChange<I extends Pick<InstanceRow, 'id' | 'createdAt'>>(instances: readonly I[], change: 'CREATED' | 'STATUS_CHANGED' | 'REMOVED', instance: I): I[] {
  const others = instances.filter((i) => i.id !== instance.id);
  return change === 'REMOVED' ? others : [...others, instance].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

/** Appends a sample to a history unless it is there already, keeping the newest `keep`. */
export function appendSample<S extends { id: string; at: string }>(history: readonly S[], sample: S, keep: number): S[] {
  if (history.some((s) => s.id === sample.id)) return history as S[];
  const next = [...history, sample].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return next.length > keep ? next.slice(next.length - keep) : next;
}

export function seconds(at: string): number {
  return Date.parse(at) / 1000;
}

/** The dashboard's address of one endpoint's page. */
export function endpointPath(name: string): string {
  return `/endpoints/${encodeURIComponent(name)}`;
}
