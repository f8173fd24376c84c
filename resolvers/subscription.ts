// Subscription resolvers: live items from the event bus, after any stored history the client asks to replay, read a page at a time.
import type { SubscriptionResolvers } from '../generated/graphql.js';
import type { Topics } from '../src/events/bus.js';
import { replayThenLive, type HistoryPage } from '../src/events/replay.js';
import { instanceChangeFromEvent } from '../src/instances/service.js';
import type { Services } from '../src/server/context.js';

type History<K extends keyof Topics> = (
  services: Services,
  endpoint: string | undefined,
  afterId: string,
  limit: number,
) => Promise<HistoryPage<Topics[K]>>;

/** A page of one log: the items, and where the next page starts (null once a page comes back short). */
function logPage<T extends { id: string }>(items: T[], limit: number): HistoryPage<T> {
  return { items, next: items.length < limit ? null : items[items.length - 1].id };
}

/**
 * The stream, counted as open until it ends (completed, failed or the client
 * gone). Not an async generator: `return()` must reach the source at once,
 * even while a `next()` waits for a live item that may never come.
 */
function counted<T>(source: AsyncIterator<T> & AsyncIterable<T>, count: (delta: 1 | -1) => void): AsyncIterableIterator<T> {
  let open = true;
  count(1);
  const close = () => {
    if (open) count(-1);
    open = false;
  };
  const settle = async (step: Promise<IteratorResult<T>>) => {
    try {
      const result = await step;
      if (result.done) close();
      return result;
    } catch (error) {
      close();
      throw error;
    }
  };
  return {
    next: () => settle(source.next()),
    return: (value?: unknown) => {
      close();
      return source.return ? source.return(value) : Promise.resolve({ done: true as const, value: undefined as T });
    },
    throw: (error?: unknown) => {
      close();
      return source.throw ? source.throw(error) : Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Subscribes at once (so nothing published from now on is missed), then replays after `afterId` as the client reads. */
function stream<K extends keyof Topics>(topic: K, history: History<K>, seqOf: (services: Services, id: string) => Promise<number | undefined>) {
  return {
    subscribe: (
      _root: unknown,
      args: { endpoint?: string | null; afterId?: string | null },
      { services }: { services: Services },
    ) => {
      const endpoint = args.endpoint ?? undefined;
      const live = () => services.bus.subscribe(topic, { endpoint });
      return counted(
        replayThenLive(
          { live, page: (afterId, limit) => history(services, endpoint, afterId, limit), seqOf: (id) => seqOf(services, id) },
          args.afterId ?? undefined,
          live(),
        ),
        (delta) => services.telemetry.subscription(topic, delta),
      );
    },
    resolve: (item: Topics[K]) => item,
  };
}

/** An instance change's id is its event's id: both resume from the events log. */
const eventSeq = (s: Services, id: string) => s.store.events.seqOf(id);

export const Subscription: SubscriptionResolvers = {
  endpointEvents: stream('endpointEvents', async (s, endpoint, afterId, limit) => logPage(await s.store.events.list(endpoint, { afterId, limit }), limit), eventSeq),
  metricSamples: stream(
    'metricSamples',
    async (s, endpoint, afterId, limit) => logPage(await s.store.samples.list(endpoint, { afterId, limit }), limit),
    (s, id) => s.store.samples.seqOf(id),
  ),
  scalingDecisions: stream(
    'scalingDecisions',
    async (s, endpoint, afterId, limit) => logPage(await s.store.decisions.list(endpoint, { afterId, limit }), limit),
    (s, id) => s.store.decisions.seqOf(id),
  ),
  // Instance changes are recorded as endpoint events; the history rebuilds them from there, a page of events at a time.
  instanceChanges: stream('instanceChanges', async (s, endpoint, afterId, limit) => {
    const events = await s.store.events.list(endpoint, { afterId, limit });
    const page = logPage(events, limit);
    return { items: events.map(instanceChangeFromEvent).filter((c) => c !== null), next: page.next };
  }, eventSeq),
} as SubscriptionResolvers;
