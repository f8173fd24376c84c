// In-process publish/subscribe behind the GraphQL subscriptions, with a bounded buffer per subscriber.
import { ReactorError, ErrorCodes } from '../errors/codes.js';
import type { DecisionRecord, EventRecord, MetricSampleRecord } from '../store/types.js';
import { PUSH, type Pushable, type Sink } from './push.js';
import type { InstanceChangeRecord } from './types.js';

/**
 * Slow-consumer policy: every subscriber has a bounded queue (default 1,000
 * items). Publishing never waits for a subscriber. When a subscriber's queue
 * is full, that subscriber is ended with a SLOW_CONSUMER error that names the
 * id of the last item it was given; everything published is also in the
 * store, so the client reconnects with `afterId` and misses nothing. Dropping
 * items silently would make a live view lie; blocking the publisher would
 * let one stuck dashboard stall the control loop.
 */
export const DEFAULT_SUBSCRIBER_BUFFER = 1000;

export interface Topics {
  endpointEvents: EventRecord;
  metricSamples: MetricSampleRecord;
  scalingDecisions: DecisionRecord;
  instanceChanges: InstanceChangeRecord;
}

type Item = { id: string; endpoint: string };

/** Readers woken per turn of the event loop. */
const WAKE_BATCH = 256;

/**
 * The key of the subscribers of every endpoint: not a string, since every
 * string is some endpoint's key ('' is the cluster's, model/events.ts CLUSTER).
 */
const ALL: unique symbol = Symbol('all endpoints');

interface Subscriber {
  /** Only items of this endpoint; undefined = all. */
  endpoint: string | undefined;
  queue: Item[];
  capacity: number;
  /** The last item `next()` gave, named by the slow-consumer error; a pushed subscriber's sink keeps its own. */
  lastDeliveredId: string | undefined;
  wake: (() => void) | undefined;
  /** Already in the queue of readers to wake. */
  waking: boolean;
  failure: Error | undefined;
  closed: boolean;
  /** Set once the reader asked to be pushed (src/events/push.ts): items go to it, not to the queue. */
  sink: Sink<Item> | undefined;
}

export interface SubscribeOptions {
  /** Only items of this endpoint; undefined = all. */
  endpoint?: string;
  /** Queue length before the subscriber is ended as too slow. */
  capacity?: number;
}

export interface EventBusOptions {
  /**
   * True with several servers on one store: items reach the bus only through
   * `deliver`, from the store feed (events/feed.ts), in the store's order;
   * `publish` by the server's own writers is then ignored, since their items
   * come back through the feed like everyone else's.
   */
  fedByStore?: boolean;
}

export class EventBus<T extends { [K in keyof T]: Item } = Topics> {
  /**
   * Subscribers by topic, then by the endpoint they follow (ALL for all): an
   * item visits only its endpoint's subscribers and those of all, so 10,000
   * subscribers spread over 100 endpoints cost 100 per item, not 10,000.
   */
  private readonly subscribers = new Map<keyof T, Map<string | typeof ALL, Set<Subscriber>>>();
  private readonly watchers = new Map<keyof T, Set<(item: never) => void>>();
  /** Readers with an item waiting, to be woken in batches (see `wakeSoon`). */
  private readonly wakes: Subscriber[] = [];

  constructor(private readonly options: EventBusOptions = {}) {}

  /** Whether items come from the store feed rather than from `publish`. */
  get fedByStore(): boolean {
    return this.options.fedByStore === true;
  }

  /**
   * Calls `handler` synchronously with every item published on `topic`, for
   * the server's own parts (the controller and the host react to changes).
   * A handler must only take note and schedule work: it runs inside
   * `publish`. It has no queue, so it is never cut off as a slow consumer.
   * Returns the function that stops it.
   */
  watch<K extends keyof T>(topic: K, handler: (item: T[K]) => void): () => void {
    let set = this.watchers.get(topic);
    if (!set) this.watchers.set(topic, (set = new Set()));
    const entry = handler as (item: never) => void;
    set.add(entry);
    return () => set.delete(entry);
  }

  /** What a writer calls once its item is stored (ignored when the bus is fed by the store). */
  publish<K extends keyof T>(topic: K, item: T[K]): void {
    if (this.options.fedByStore) return;
    this.deliver(topic, item);
  }

  /** Hands an item to every watcher and subscriber of its topic. */
  deliver<K extends keyof T>(topic: K, item: T[K]): void {
    for (const handler of this.watchers.get(topic) ?? []) (handler as (item: T[K]) => void)(item);
    const byEndpoint = this.subscribers.get(topic);
    if (!byEndpoint) return;
    this.offer(byEndpoint.get(item.endpoint), item);
    this.offer(byEndpoint.get(ALL), item);
  }

  private offer(subscribers: Set<Subscriber> | undefined, item: Item): void {
    for (const subscriber of subscribers ?? []) {
      if (subscriber.closed) continue;
      if (subscriber.sink) {
        // Pushed: the sink bounds what waits for its reader and keeps where it stands (src/server/live-delivery.ts).
        subscriber.sink.item(item);
        continue;
      }
      if (subscriber.queue.length >= subscriber.capacity) {
        subscriber.failure = slowConsumer(`more than ${subscriber.capacity} items queued`, subscriber.lastDeliveredId);
        subscriber.queue.length = 0;
        subscriber.closed = true;
      } else {
        subscriber.queue.push(item);
      }
      if (subscriber.wake && !subscriber.waking) this.wakeSoon(subscriber);
    }
  }

  /**
   * Readers are woken a batch at a time, each batch in a turn of the event
   * loop of its own: what a woken reader does (execute, serialize, write to
   * its socket) runs as microtasks, and 10,000 of them in one go would hold
   * the loop, and every HTTP request waiting on it, for the whole burst.
   */
  private wakeSoon(subscriber: Subscriber): void {
    subscriber.waking = true;
    this.wakes.push(subscriber);
    if (this.wakes.length === 1) setImmediate(this.wakeBatch);
  }

  private readonly wakeBatch = (): void => {
    const batch = this.wakes.splice(0, WAKE_BATCH);
    if (this.wakes.length > 0) setImmediate(this.wakeBatch);
    for (const subscriber of batch) {
      subscriber.waking = false;
      subscriber.wake?.();
    }
  };

  /** Number of live subscribers on a topic (for tests and metrics). */
  subscriberCount(topic: keyof T): number {
    let count = 0;
    for (const set of this.subscribers.get(topic)?.values() ?? []) count += set.size;
    return count;
  }

  /**
   * Starts buffering at once (before the first `next()`), so a caller can
   * subscribe, then read history from the store, then drain the live items
   * without a gap.
   */
  subscribe<K extends keyof T>(topic: K, options: SubscribeOptions = {}): AsyncIterableIterator<T[K]> {
    const subscriber: Subscriber = {
      endpoint: options.endpoint,
      queue: [],
      capacity: options.capacity ?? DEFAULT_SUBSCRIBER_BUFFER,
      lastDeliveredId: undefined,
      wake: undefined,
      waking: false,
      failure: undefined,
      closed: false,
      sink: undefined,
    };
    let byEndpoint = this.subscribers.get(topic);
    if (!byEndpoint) this.subscribers.set(topic, (byEndpoint = new Map()));
    const key = options.endpoint ?? ALL;
    let set = byEndpoint.get(key);
    if (!set) byEndpoint.set(key, (set = new Set()));
    set.add(subscriber);
    const remove = () => {
      const wasOpen = !subscriber.closed;
      subscriber.closed = true;
      set.delete(subscriber);
      if (set.size === 0 && byEndpoint.get(key) === set) byEndpoint.delete(key);
      subscriber.wake?.();
      if (wasOpen) subscriber.sink?.end();
    };

    const iterator: AsyncIterableIterator<T[K]> & Pushable<T[K]> = {
      next: async (): Promise<IteratorResult<T[K]>> => {
        for (;;) {
          const item = subscriber.queue.shift();
          if (item) {
            subscriber.lastDeliveredId = item.id;
            return { value: item as T[K], done: false };
          }
          if (subscriber.failure) {
            const failure = subscriber.failure;
            subscriber.failure = undefined;
            remove();
            throw failure;
          }
          if (subscriber.closed) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (subscriber.wake = resolve));
          subscriber.wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<T[K]>> => {
        remove();
        return { value: undefined, done: true };
      },
      throw: async (error?: unknown): Promise<IteratorResult<T[K]>> => {
        remove();
        throw error;
      },
      [PUSH]: (sink: Sink<T[K]>): boolean => {
        // Ended or cut: the next read says so.
        if (subscriber.closed || subscriber.failure) return false;
        const pushed = sink as Sink<Item>;
        for (const item of subscriber.queue.splice(0)) pushed.item(item);
        subscriber.sink = pushed;
        return true;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}

/**
 * The error that ends a subscriber that does not keep up, naming where to
 * resume: everything published is also in the store.
 */
export function slowConsumer(why: string, lastDeliveredId: string | undefined): ReactorError {
  return new ReactorError(
    ErrorCodes.UNAVAILABLE,
    `subscriber too slow: ${why}; reconnect with afterId ${JSON.stringify(lastDeliveredId ?? null)} to resume`,
    { reason: 'SLOW_CONSUMER', lastDeliveredId: lastDeliveredId ?? null },
  );
}
