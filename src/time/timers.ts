// Time as a dependency: the clock and the timers that loops, retries and back-offs use, injected together so tests move time instead of sleeping.

/** A scheduled callback; `cancel` is idempotent. */
export interface Timer {
  cancel(): void;
}

/** Timers that never keep the process alive on their own (like an unref'd setTimeout). */
export interface Timers {
  /** Calls `callback` once, `ms` from now. */
  setTimeout(callback: () => void, ms: number): Timer;
  /** Calls `callback` every `ms` until cancelled. */
  setInterval(callback: () => void, ms: number): Timer;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The clock and the timers of one component: read `now()`, schedule with `timers`. */
export interface Time {
  now: () => Date;
  timers: Timers;
}

/** The process's own timers, unref'd. */
export const realTimers: Timers = {
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(callback, ms) {
    const handle = setInterval(callback, ms);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
  sleep(ms, signal) {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const handle = setTimeout(done, ms);
      function done() {
        clearTimeout(handle);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

/** See `setClockOffset`. */
let clockOffsetMs = 0;

/**
 * Test only (`reactor server --test-clock-offset MS`): moves this process's
 * clock by `ms`, as if the machine's clock were that far ahead (negative:
 * behind). Everything that stamps a time or makes an id reads the clock
 * through `nowMs` / `systemTime`, so a test can run servers whose clocks
 * differ on one machine. Timers (durations) are not affected.
 */
export function setClockOffset(ms: number): void {
  clockOffsetMs = ms;
}

/** This process's clock in Unix milliseconds: `Date.now()` unless a test moved it (`setClockOffset`). */
export function nowMs(): number {
  return Date.now() + clockOffsetMs;
}

/** This process's clock (see `nowMs`). */
export function wallClock(): Date {
  return new Date(nowMs());
}

export const systemTime: Time = { now: wallClock, timers: realTimers };

interface Scheduled {
  at: number;
  seq: number;
  every: number | null;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told (`advance`), with timers that fire as it
 * passes their time, in order. For tests and simulations: a back-off of a
 * minute is a call to `advance(60_000)`, not a minute.
 */
export class ManualTime implements Time {
  private ms: number;
  private seq = 0;
  private queue: Scheduled[] = [];
  readonly timers: Timers;

  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.ms = typeof start === 'number' ? start : start.getTime();
    const schedule = (callback: () => void, ms: number, every: number | null): Timer => {
      const item: Scheduled = { at: this.ms + Math.max(0, ms), seq: this.seq++, every, callback, cancelled: false };
      this.queue.push(item);
      return { cancel: () => (item.cancelled = true) };
    };
    this.timers = {
      setTimeout: (callback, ms) => schedule(callback, ms, null),
      setInterval: (callback, ms) => schedule(callback, ms, Math.max(1, ms)),
      sleep: (ms, signal) =>
        new Promise<void>((resolve) => {
          if (signal?.aborted) return resolve();
          const timer = schedule(resolve, ms, null);
          signal?.addEventListener('abort', () => (timer.cancel(), resolve()), { once: true });
        }),
    };
  }

  readonly now = (): Date => new Date(this.ms);

  /** Timers still waiting to fire. */
  get pending(): number {
    return this.queue.filter((item) => !item.cancelled).length;
  }

  /**
   * Moves the clock forward by `ms`, firing every timer that falls due on the
   * way (in time order) and letting promise callbacks run after each one.
   */
  async advance(ms: number): Promise<void> {
    const end = this.ms + ms;
    for (;;) {
      this.queue = this.queue.filter((item) => !item.cancelled);
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.ms = Math.max(this.ms, next.at);
      if (next.every === null) next.cancelled = true;
      else next.at += next.every;
      next.callback();
      await settle();
    }
    this.ms = end;
    await settle();
  }
}

/** Lets pending promise callbacks (and I/O callbacks already queued) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
