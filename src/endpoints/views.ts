// The host's one reading of every endpoint with its backends, shared by the balancer sync, the activator and the surge detector, and read again from the store only when something changed.
import type { EventBus } from '../events/bus.js';
import { ReadCache } from '../store/read-cache.js';
import type { Store } from '../store/types.js';
import { readEndpointViews } from './backends.js';

/** What `readEndpointViews` answers. Shared between callers: it must not be modified. */
export type EndpointViewsAnswer = Awaited<ReturnType<typeof readEndpointViews>>;

/**
 * How long an answer is served, in ms, on any store. With a shared store an
 * invalidation can be lost (see ReadCache): a change then shows within this.
 * On a single server the bus sees every change made through the process, but
 * the balancer sync's safety poll (every 2 s) is there for the change whose
 * event never came (a writer that failed between its write and its event);
 * answers older than this are read again, so that poll still reads the store.
 */
export const ENDPOINT_VIEWS_MAX_AGE_MS = 1_000;

export interface EndpointViewsOptions {
  store: Store;
  bus: EventBus;
  /** The clock, in ms (default Date.now). */
  now?: () => number;
}

/**
 * `readEndpointViews(store)` for the host's hot paths: the surge detector
 * asks four times a second under traffic, the activator every 100 ms while
 * it holds requests, the balancer sync on every change and every 2 s. They
 * share one answer, kept in a ReadCache under one key, so:
 *
 * - callers that ask while a read is under way share it;
 * - the answer is forgotten on every item on 'endpointEvents' or
 *   'instanceChanges' (of any endpoint), on `invalidate()` (the store feed
 *   calls it when it fails or skips a gap), on every write through
 *   `track(store)`, and after ENDPOINT_VIEWS_MAX_AGE_MS;
 * - a read under way when it is forgotten is not served to anyone who asks
 *   after that, and a failed read is not kept.
 *
 * The watchers are registered here, at construction, and the bus calls its
 * watchers in the order they came, before it wakes any subscriber (those
 * wake on a later turn). Built before the activator starts (it watches
 * 'instanceChanges' and reads at once) and before the balancer sync
 * subscribes, the answer is forgotten before either reacts to the same
 * item, so what they read then began after the change.
 */
export class EndpointViews {
  private readonly cache: ReadCache;
  private readonly unwatch: (() => void)[];

  constructor(private readonly options: EndpointViewsOptions) {
    this.cache = new ReadCache(options.store, { maxAgeMs: ENDPOINT_VIEWS_MAX_AGE_MS, now: options.now });
    this.unwatch = [options.bus.watch('endpointEvents', () => this.invalidate()), options.bus.watch('instanceChanges', () => this.invalidate())];
  }

  /** Every endpoint whose configuration parses, with its backends, as `readEndpointViews` gives them. */
  read(): Promise<EndpointViewsAnswer> {
    return this.cache.read('views', () => readEndpointViews(this.options.store));
  }

  /** Forgets the answer, and any read under way: something may have changed. */
  invalidate(): void {
    this.cache.invalidate();
  }

  /** The same store, whose endpoint and instance writes forget the answer (see ReadCache.track). */
  track(store: Store): Store {
    return this.cache.track(store);
  }

  /** Stops watching the bus. */
  close(): void {
    for (const stop of this.unwatch) stop();
  }
}
