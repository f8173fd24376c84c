// The API's hot reads (endpoint records, instance lists) from memory, dropped by every write through this process and by every change another server records.
import type { EndpointRecord, InstanceRecord, Store } from './types.js';

export interface ReadCacheOptions {
  /**
   * How long an answer may be served, in ms; undefined = until something
   * invalidates it. Set with a shared store (see the class comment).
   */
  maxAgeMs?: number;
  /** The clock, in ms (default Date.now). */
  now?: () => number;
}

/** Answers' lifetime with a shared store: like the balancer's safety poll, a missed invalidation shows for at most this long. */
export const SHARED_STORE_MAX_AGE_MS = 1_000;

/**
 * Endpoint configs, states and instance lists change rarely compared with
 * how often clients read them (a dashboard polling `endpoints` at 50
 * connections reads them thousands of times a second; TypeORM builds a
 * query for each). This keeps the last answer of each read and forgets all
 * of them when anything may have changed:
 *
 * - a write through `track(store)` on this server (every writer of this
 *   process gets that store), at once: when the write starts and again when
 *   it ends, so the next read sees it;
 * - `invalidate()`, which the server calls for every endpoint event on its
 *   bus. Every change to an endpoint or an instance records one, and with a
 *   shared store the bus is fed from the store's log, so a change made on
 *   another server reaches here within one poll of the feed.
 *
 * With one process on the store (SQLite) every writer is in this process, so
 * answers need no expiry. With a shared store an invalidation can be lost:
 * a writer updates a record, then dies (or fails to store the event) before
 * recording the event; the feed skips a gap in the numbering after 2 s; or
 * the feed cannot read the store. The server then gives each answer
 * `maxAgeMs` (SHARED_STORE_MAX_AGE_MS), and also invalidates when the feed
 * fails or skips a gap. "Not found" is never kept: it is cheap to ask again,
 * and keeping it for every name a client tries would grow without bound.
 *
 * A read under way is shared by every caller that asks meanwhile, and is
 * forgotten with the rest when something changes, so an answer read before
 * a change is never served after it. Forgetting everything on any change is coarse but cannot miss a
 * dependency, and changes are rare next to reads. Cached records are shared
 * between callers: they must not be modified.
 */
export class ReadCache {
  private readonly answers: KeptReads;

  constructor(
    private readonly store: Store,
    options: ReadCacheOptions = {},
  ) {
    this.answers = new KeptReads(options);
  }

  /** Reads served from memory and reads that went to the store (for tests). */
  get counts(): { readonly hits: number; readonly misses: number } {
    return this.answers.counts;
  }

  /** Answers kept now (for tests). */
  get size(): number {
    return this.answers.size;
  }

  endpoints(): Promise<EndpointRecord[]> {
    return this.read('list', () => this.store.endpoints.list());
  }

  endpoint(name: string): Promise<EndpointRecord | null> {
    return this.read(`endpoint ${name}`, () => this.store.endpoints.get(name));
  }

  /** The instances of one endpoint, in the store's order. */
  instances(endpoint: string): Promise<InstanceRecord[]> {
    return this.read(`instances ${endpoint}`, () => this.store.instances.list({ endpoint }));
  }

  /** Forgets every answer, including those still being read: something may have changed. */
  invalidate(): void {
    this.answers.forgetAll();
  }

  /**
   * The same store, whose endpoint and instance writes forget the cached
   * answers when they start and when they end (failed writes too: part of
   * one may have landed).
   */
  track(store: Store): Store {
    const endpoints = this.writesInvalidate(store.endpoints, ['create', 'update', 'delete']);
    const instances = this.writesInvalidate(store.instances, ['upsert', 'update', 'delete', 'claim', 'deleteByEndpoint']);
    return new Proxy(store, {
      get: (target, property, receiver) => {
        if (property === 'endpoints') return endpoints;
        if (property === 'instances') return instances;
        return Reflect.get(target, property, receiver);
      },
    });
  }

  /**
   * Any other read, kept under `key` by the same rules as the ones above: a
   * read under way is shared, a failure or null is not kept, and everything
   * is forgotten on `invalidate()` (the host's endpoint views use this, in
   * src/endpoints/views.ts).
   */
  read<T>(key: string, fromStore: () => Promise<T>): Promise<T> {
    return this.answers.read(key, fromStore);
  }

  private writesInvalidate<R extends object>(repository: R, methods: readonly (keyof R & string)[]): R {
    const wrapped = new Map<string | symbol, unknown>();
    for (const method of methods) {
      const original = repository[method] as unknown as (...args: unknown[]) => Promise<unknown>;
      wrapped.set(method, async (...args: unknown[]) => {
        this.invalidate();
        try {
          return await original.apply(repository, args);
        } finally {
          this.invalidate();
        }
      });
    }
    return new Proxy(repository, {
      get: (target, property, receiver) => (wrapped.has(property) ? wrapped.get(property) : Reflect.get(target, property, receiver)),
    });
  }
}

/**
 * Answers by key, each shared by every caller until it is `maxAgeMs` old
 * (undefined: until forgotten), a read under way included; a failed read and
 * a null answer are not kept (the next caller asks again). The mechanism of
 * ReadCache and of the subscriptions' SharedLatest (src/events/latest.ts).
 */
export class KeptReads {
  private readonly answers = new Map<string, { answer: Promise<unknown>; at: number }>();
  /** Reads served from memory and reads that went to the store (for tests). */
  readonly counts = { hits: 0, misses: 0 };
  private readonly now: () => number;

  constructor(private readonly options: ReadCacheOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.answers.size;
  }

  read<T>(key: string, fromStore: () => Promise<T>): Promise<T> {
    const now = this.now();
    const kept = this.answers.get(key);
    if (kept && (this.options.maxAgeMs === undefined || now - kept.at < this.options.maxAgeMs)) {
      this.counts.hits += 1;
      return kept.answer as Promise<T>;
    }
    this.counts.misses += 1;
    const answer = fromStore();
    const entry = { answer, at: now };
    this.answers.set(key, entry);
    const forget = () => {
      if (this.answers.get(key) === entry) this.answers.delete(key);
    };
    // A failed read is not an answer, and "not found" is not kept: the next caller asks the store again.
    answer.then((value) => value === null && forget(), forget);
    return answer;
  }

  /** Forgets the answer of `key`, or one still being read. */
  forget(key: string): void {
    this.answers.delete(key);
  }

  /** Forgets every answer, including those still being read. */
  forgetAll(): void {
    this.answers.clear();
  }
}
