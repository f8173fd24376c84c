// Adds up parsed balancer log lines per backend address over one sampling interval (hits, bytes, response times, errors, pending).
import type { BalancerLogLine } from './log-line.js';

/** What one backend did during an interval. */
export interface BackendTotals {
  /** Requests it answered (the last attempt of each request). */
  hits: number;
  /** Response body bytes of those requests. */
  bytes: number;
  /** Sum of upstream response times, milliseconds, over `timed` answers. */
  responseMs: number;
  timed: number;
  /** Failed attempts (nginx moved on to another server) plus answers with status >= 500. */
  errors: number;
}

export interface IntervalTotals {
  /** Keyed by backend address (`host:port`, as nginx logs it). */
  backends: Map<string, BackendTotals>;
  /** Endpoint name → requests that found no instance (answered by the redirect or the 502). */
  pending: Map<string, number>;
  /** Lines seen, ours or not (for diagnostics). */
  lines: number;
}

function empty(): BackendTotals {
  return { hits: 0, bytes: 0, responseMs: 0, timed: 0, errors: 0 };
}

export class LogAccumulator {
  /**
   * @param fallback the activator's `host:port`: a request nginx sent there
   *   found no instance, so it counts as pending, not as a backend's hit.
   */
  constructor(private readonly fallback?: string) {}

  private backends = new Map<string, BackendTotals>();
  private pending = new Map<string, number>();
  private lines = 0;

  private totals(address: string): BackendTotals {
    let totals = this.backends.get(address);
    if (!totals) this.backends.set(address, (totals = empty()));
    return totals;
  }

  /**
   * Worked example: `127.0.0.1:1, 127.0.0.1:2` with statuses `502, 200`
   * and times `0.000, 0.004` → backend :1 gets an error, backend :2 a hit of
   * 4 ms with the request's body bytes.
   */
  add(line: BalancerLogLine): void {
    this.lines += 1;
    if (line.attempts.length === 0 || (this.fallback !== undefined && line.attempts[line.attempts.length - 1].address === this.fallback)) {
      for (const endpoint of line.endpoints) this.pending.set(endpoint, (this.pending.get(endpoint) ?? 0) + 1);
      return;
    }
    const last = line.attempts.length - 1;
    line.attempts.forEach((attempt, i) => {
      const totals = this.totals(attempt.address);
      if (i < last) {
        totals.errors += 1;
        return;
      }
      totals.hits += 1;
      totals.bytes += line.bytes;
      if (attempt.responseTime !== null) {
        totals.responseMs += attempt.responseTime * 1000;
        totals.timed += 1;
      }
      if ((attempt.status ?? line.status) >= 500) totals.errors += 1;
    });
  }

  /** Returns the interval's totals and starts a new interval. */
  take(): IntervalTotals {
    const taken = { backends: this.backends, pending: this.pending, lines: this.lines };
    this.backends = new Map();
    this.pending = new Map();
    this.lines = 0;
    return taken;
  }
}
