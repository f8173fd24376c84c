// Slows down clients that keep failing to authenticate: a few free tries, then a doubling wait during which every attempt is refused.
/**
 * Without it, about 5,500 wrong keys a second were answered. Per client
 * address: the first `freeFailures` failures cost nothing (typos); each one
 * after that blocks the client for `baseDelayMs` × 2^(n − free), up to
 * `maxDelayMs`. While blocked, every attempt from that address is refused
 * with TOO_MANY_REQUESTS and Retry-After, right or wrong key, so guessing
 * speed is bounded by the delays, not by the server's speed. A success clears
 * the count; counts are forgotten after `forgetAfterMs` of quiet. At most
 * `maxClients` addresses are tracked (oldest dropped first), so a flood of
 * addresses cannot grow memory.
 */
export interface ThrottleOptions {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetAfterMs: number;
  maxClients: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  forgetAfterMs: 15 * 60_000,
  maxClients: 10_000,
};

interface ClientRecord {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

export class AuthThrottle {
  private readonly clients = new Map<string, ClientRecord>();

  constructor(
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds this client must still wait before it may try again; 0 when it may try now. */
  blockedFor(client: string): number {
    const record = this.clients.get(client);
    if (!record) return 0;
    const now = this.now();
    if (now - record.lastFailure > this.options.forgetAfterMs) {
      this.clients.delete(client);
      return 0;
    }
    return Math.max(0, record.blockedUntil - now);
  }

  /** Counts a failure; returns how many failures the client has and how long it is now blocked (ms). */
  fail(client: string): { failures: number; blockedMs: number } {
    const now = this.now();
    let record = this.clients.get(client);
    if (!record || now - record.lastFailure > this.options.forgetAfterMs) record = { failures: 0, blockedUntil: 0, lastFailure: now };
    this.clients.delete(client); // re-inserted last: the map's order is least recently failed first
    record.failures += 1;
    record.lastFailure = now;
    const over = record.failures - this.options.freeFailures;
    const blockedMs = over > 0 ? Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30)) : 0;
    record.blockedUntil = now + blockedMs;
    this.clients.set(client, record);
    while (this.clients.size > this.options.maxClients) this.clients.delete(this.clients.keys().next().value!);
    return { failures: record.failures, blockedMs };
  }

  succeed(client: string): void {
    this.clients.delete(client);
  }
}
