// Keeps a store that cannot answer from stalling the process: a locked SQLite file is retried on timers, then STORE_UNAVAILABLE; an unreachable MongoDB is STORE_UNAVAILABLE at once.
import { ErrorCodes, ReactorError } from '../errors/codes.js';
import { mongoUnreachable } from './mongodb-errors.js';
import type { Store } from './types.js';

/**
 * better-sqlite3 runs every statement synchronously on the event loop, and
 * SQLite's busy handler sleeps inside the statement until the lock is free
 * or `busy_timeout` passes. With the 5 s busy timeout the store had, one
 * write against a file another process held locked (a backup, the sqlite3
 * CLI) froze the API, the subscriptions and the control loop for the whole
 * time: measured, a 3 s external `BEGIN EXCLUSIVE` gave a 3,021 ms write and
 * a 3,024 ms event-loop gap.
 *
 * So the connection's busy timeout is 0 (a locked statement fails in
 * microseconds), and this wrapper retries the failed repository call on
 * timers, 5 ms doubling to 100 ms apart, until `deadlineMs` (600 ms) have
 * passed; then it fails with STORE_UNAVAILABLE, naming the lock. The event
 * loop is never held, the API answers within a second either way, and the
 * control loop's next round tries again. Each call is retried whole: every
 * repository call is one statement, or several that are idempotent
 * (pruning) or run in one transaction (batch appends), so a retry never
 * applies a change twice.
 *
 * A MongoDB store is wrapped by the same function: the driver's calls are
 * asynchronous, so nothing is held, but a store that cannot be reached made
 * each call wait for the driver's server selection and then fail with a
 * driver error the API showed as INTERNAL_SERVER_ERROR. The client's
 * timeouts are now short (open.ts), and its errors for a store that cannot
 * be reached become STORE_UNAVAILABLE here, without a retry: the driver
 * already waited for a server, and the caller (the API client, the control
 * loop's next round) retries.
 *
 * Why not a worker thread for SQLite: it would also stop any slow query from
 * holding the loop, but it puts a message round trip and a copy of every
 * record on each of the thousands of small reads a round makes, and a
 * locked write would still queue every read behind it in the worker; in WAL
 * mode reads are not blocked by another process's write lock at all, so
 * only writes needed help. Slow queries are kept short instead (pruning in
 * chunks, page size limits).
 */
export interface BusyRetryOptions {
  /** How long one call may keep retrying before it fails with STORE_UNAVAILABLE. */
  deadlineMs: number;
  /** First wait between attempts; doubles up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** The store as named in errors (`sqlite:/path/reactor.db`). */
  name: string;
}

export const DEFAULT_BUSY_RETRY: Omit<BusyRetryOptions, 'name'> = { deadlineMs: 600, firstDelayMs: 5, maxDelayMs: 100 };

/** True for SQLite's "database is locked" family (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED…). */
export function isSqliteBusy(error: unknown): boolean {
  const code = String(
    (error as { driverError?: { code?: unknown }; code?: unknown })?.driverError?.code ?? (error as { code?: unknown })?.code ?? '',
  );
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || /database (table )?is locked/.test(String((error as Error)?.message));
}

/**
 * What the file or disk refused (full, read-only, I/O error, not a database),
 * as a line for STORE_UNAVAILABLE; null for anything else. Such failures were
 * answered as INTERNAL_SERVER_ERROR, which told the operator nothing.
 */
export function storeFailure(error: unknown): string | null {
  const code = String((error as { driverError?: { code?: unknown }; code?: unknown })?.driverError?.code ?? (error as { code?: unknown })?.code ?? '');
  const known: Record<string, string> = {
    SQLITE_FULL: 'the disk is full',
    SQLITE_READONLY: 'the database file is read-only',
    SQLITE_IOERR: 'an I/O error',
    SQLITE_CANTOPEN: 'the database file cannot be opened',
    SQLITE_CORRUPT: 'the database file is corrupt',
    SQLITE_NOTADB: 'the file is not a database',
  };
  const match = Object.keys(known).find((prefix) => code.startsWith(prefix));
  return match ? `${known[match]} (${code})` : null;
}

/** Every repository of a Store: a repository added to the contract and not listed here fails to compile. */
const EVERY_REPOSITORY: Record<Exclude<keyof Store, 'kind' | 'close'>, true> = {
  endpoints: true,
  managers: true,
  instances: true,
  events: true,
  samples: true,
  decisions: true,
  customMetrics: true,
  secrets: true,
  leases: true,
  traffic: true,
};
const REPOSITORIES = Object.keys(EVERY_REPOSITORY) as (keyof typeof EVERY_REPOSITORY)[];

/**
 * `store` with every repository call retried while the SQLite file is locked,
 * and every failure of a store that cannot answer (a lock past the deadline,
 * a full or read-only disk, a MongoDB server that cannot be reached) turned
 * into STORE_UNAVAILABLE, as described above.
 */
export function guardStore(store: Store, options: BusyRetryOptions): Store {
  const wrapped: Record<string, unknown> = { kind: store.kind, close: () => store.close() };
  for (const name of REPOSITORIES) {
    const repository = store[name] as unknown as Record<string, unknown>;
    const proxy: Record<string, unknown> = {};
    let target: object | null = repository;
    const methods = new Set<string>();
    while (target && target !== Object.prototype) {
      for (const key of Object.getOwnPropertyNames(target)) if (key !== 'constructor' && typeof repository[key] === 'function') methods.add(key);
      target = Object.getPrototypeOf(target);
    }
    for (const method of methods) {
      const call = (repository[method] as (...args: unknown[]) => Promise<unknown>).bind(repository);
      proxy[method] = (...args: unknown[]) => attempt(() => call(...args), options, `${name}.${method}`);
    }
    wrapped[name] = proxy;
  }
  return wrapped as unknown as Store;
}

async function attempt<T>(call: () => Promise<T>, options: BusyRetryOptions, what: string): Promise<T> {
  const deadline = Date.now() + options.deadlineMs;
  let delay = options.firstDelayMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const failure = storeFailure(error);
      if (failure) {
        throw new ReactorError(ErrorCodes.STORE_UNAVAILABLE, `the store ${options.name} could not ${isRead(what) ? 'read' : 'write'}: ${failure}`, {
          store: options.name,
          operation: what,
        });
      }
      const unreachable = mongoUnreachable(error);
      if (unreachable) throw mongoUnavailable(options.name, what, unreachable);
      if (!isSqliteBusy(error)) throw error;
      if (Date.now() + delay > deadline) {
        throw new ReactorError(
          ErrorCodes.STORE_UNAVAILABLE,
          `the store ${options.name} is locked by another process (a backup or the sqlite3 shell?) and could not be written for ${options.deadlineMs} ms; ` +
            'nothing was changed, try again shortly',
          { store: options.name, operation: what },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(options.maxDelayMs, delay * 2);
    }
  }
}

/** Repository calls that only read (the rest write). */
function isRead(what: string): boolean {
  return /\.(list|get|latest)$/.test(what);
}

function mongoUnavailable(name: string, what: string, { maybeSent, cause }: { maybeSent: boolean; cause: string }): ReactorError {
  const read = isRead(what);
  const message = !maybeSent
    ? `the store ${name} cannot be reached (${cause}), so it could not ${read ? 'read' : 'write'}; ${read ? '' : 'nothing was changed, '}try again shortly`
    : `the connection to the store ${name} broke while it was ${read ? 'reading' : 'writing'} (${cause}); ` +
      (read ? 'try again shortly' : 'the change may or may not have been made: read it again before retrying');
  return new ReactorError(ErrorCodes.STORE_UNAVAILABLE, message, { store: name, operation: what });
}
