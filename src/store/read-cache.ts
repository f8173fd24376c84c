// The API's hot reads (endpoint records, instance lists) from memory, dropped by every write through this process and by every change another server records.
import type { EndpointRecord, InstanceRecord, Store } from './types.js';

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
 * A read under way is shared by every caller that asks meanwhile, and is
 * forgotten with the rest when something changes, so an answer read before
 * a change is never served after it. Forgetting everything on any change is coarse but cannot miss a
 * dependency, and changes are rare next to reads. Cached records are shared
 * between callers: they must not be modified.
 */
export class ReadCache {
  /** Answers by read: `list`, `endpoint NAME`, `instances NAME`; an answer under way is shared by every caller. */
  private readonly answers = new Map<string, Promise<unknown>>();
  /** Reads served from memory and reads that went to the store (for tests). */
  readonly counts = { hits: 0, misses: 0 };

  constructor(private readonly store: Store) {}

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
    this.answers.clear();
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

  private read<T>(key: string, fromStore: () => Promise<T>): Promise<T> {
    const kept = this.answers.get(key) as Promise<T> | undefined;
    if (kept) {
      this.counts.hits += 1;
      return kept;
    }
    this.counts.misses += 1;
    const answer = fromStore();
    this.answers.set(key, answer);
    // A failed read is not an answer: the next caller tries the store again.
    answer.catch(() => {
      if (this.answers.get(key) === answer) this.answers.delete(key);
    });
    return answer;
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
