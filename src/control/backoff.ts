// Launch back-off per endpoint: after failed launches the controller waits base, 2·base, 4·base… (capped) before placing more.

export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Longest delay. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };

/** Delay before the next launch after `failures` failures in a row: base, 2·base, 4·base… capped at max; 0 without failures. */
export function backoffDelay(failures: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0;
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * Failures in a row per endpoint, and the time before which no launch is
 * tried. A failure reported while a back-off already runs belongs to the
 * batch that started it (two instances of one round failing on a missing
 * image are one failure, not two): it does not double the wait.
 */
export class LaunchBackoff {
  private readonly failures = new Map<string, { count: number; nextAt: number }>();

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Counts a failure at `nowMs`; returns the delay before the next launch, or null when a back-off already ran (same batch). */
  fail(endpoint: string, nowMs: number): number | null {
    const failures = this.failures.get(endpoint) ?? { count: 0, nextAt: 0 };
    if (failures.nextAt > nowMs) return null;
    failures.count += 1;
    const delay = backoffDelay(failures.count, this.options);
    failures.nextAt = nowMs + delay;
    this.failures.set(endpoint, failures);
    return delay;
  }

  /** An instance became ready: the endpoint's launches work again. */
  clear(endpoint: string): void {
    this.failures.delete(endpoint);
  }

  /** Epoch ms before which no launch of `endpoint` is tried, or null when none is held back at `nowMs`. */
  deferredUntil(endpoint: string, nowMs: number): number | null {
    const failures = this.failures.get(endpoint);
    return failures && failures.nextAt > nowMs ? failures.nextAt : null;
  }
}
