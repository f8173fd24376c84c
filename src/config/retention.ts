// How long the store keeps each history (metric samples, scaling decisions, endpoint events): defaults, duration parsing and the settings type.
import { badInput } from '../errors/codes.js';

/**
 * Seconds each history is kept; older items are pruned about once a minute.
 * The growth these bound is measured by bench/store-growth.bench.ts: with
 * 1,000 endpoints at `--interval 1`, samples alone are about 1,000 rows a
 * second, so a day of them is the largest part of the store.
 */
export interface RetentionSettings {
  /** Metric samples (`--retain-samples`). */
  samples: number;
  /** Scaling decisions (`--retain-decisions`). */
  decisions: number;
  /** Endpoint events, the operators' log (`--retain-events`). */
  events: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionSettings> = Object.freeze({
  samples: 24 * 60 * 60,
  decisions: 24 * 60 * 60,
  events: 7 * 24 * 60 * 60,
});

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `15m`, `24h` or `7d` → seconds; at least 60, at most 10 years. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d+)\s*([smhd])?$/i.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNITS[(match[2] ?? 's').toLowerCase()] : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 60 || seconds > 10 * 365 * 86400) {
    throw badInput(`${what} "${text}" is not a duration from 60s to 3650d; write seconds or a number with s, m, h or d (e.g. 24h, 7d)`, { field: what });
  }
  return seconds;
}

/** The defaults with the given overrides (seconds, at least 60 each). */
export function retentionSettings(overrides: Partial<RetentionSettings> = {}): RetentionSettings {
  const settings = { ...DEFAULT_RETENTION };
  for (const key of Object.keys(DEFAULT_RETENTION) as (keyof RetentionSettings)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 60) throw badInput(`retention of ${key} must be at least 60 seconds, got ${value}`, { field: key });
    settings[key] = value;
  }
  return settings;
}
