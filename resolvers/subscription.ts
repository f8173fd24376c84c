// Subscription resolvers: live items from the event bus, after any stored history the client asks to replay, read a page at a time.
import type { SubscriptionResolvers } from '../generated/graphql.js';
import type { Topics } from '../src/events/bus.js';
import { latestThenLive, SharedLatest } from '../src/events/latest.js';
import { PUSH, pushTo, type Pushable, type Sink } from '../src/events/push.js';
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
function counted<T>(source: AsyncIterator<T> & AsyncIterable<T>, count: (delta: 1 | -1) => void): AsyncIterableIterator<T> & Pushable<T> {
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
    [PUSH]: (sink: Sink<T>) =>
      pushTo<T>(source, {
        item: (value) => sink.item(value),
        end: (error) => {
          close();
          sink.end(error);
        },
      }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** The most recent stored item of one endpoint, or of each endpoint when none is named (`latest: true`). */
type Latest<K extends keyof Topics> = (services: Services, endpoint: string) => Promise<Topics[K] | null>;

/** Each server's shared latest reads, by topic (see SharedLatest): kept fresh by the bus's items. */
const sharedReads = new WeakMap<Services, Map<keyof Topics, SharedLatest<unknown>>>();

function sharedLatest<K extends keyof Topics>(services: Services, topic: K): SharedLatest<Topics[K]> {
  let byTopic = sharedReads.get(services);
  if (!byTopic) sharedReads.set(services, (byTopic = new Map()));
  let shared = byTopic.get(topic) as SharedLatest<Topics[K]> | undefined;
  if (!shared) {
    const created = new SharedLatest<Topics[K]>();
    services.bus.watch(topic, (item) => created.published(item));
    byTopic.set(topic, created as SharedLatest<unknown>);
    shared = created;
  }
  return shared;
}

async function latestOf<K extends keyof Topics>(services: Services, topic: K, endpoint: string | undefined, latest: Latest<K>): Promise<Topics[K][]> {
  const names = endpoint !== undefined ? [endpoint] : (await services.reads.endpoints()).map((e) => e.name);
  const shared = sharedLatest(services, topic);
  const items = await Promise.all(names.map((name) => shared.read(name, () => latest(services, name))));
  return items.filter((item) => item !== null).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Subscribes at once (so nothing published from now on is missed), then replays after `afterId` as the client reads;
 * with `latest` (and no afterId), starts with the most recent stored item instead.
 */
function stream<K extends keyof Topics>(
  topic: K,
  history: History<K>,
  seqOf: (services: Services, id: string) => Promise<number | undefined>,
  latest?: Latest<K>,
) {
  return {
    subscribe: (
      _root: unknown,
      args: { endpoint?: string | null; afterId?: string | null; latest?: boolean | null },
      { services }: { services: Services },
    ) => {
      const endpoint = args.endpoint ?? undefined;
      const live = () => services.bus.subscribe(topic, { endpoint });
      const afterId = args.afterId ?? undefined;
      // Without afterId there is no history to join: the bus's stream as it is (after the latest stored item when
      // asked for), one layer of promises less per item for every subscriber.
      const source =
        afterId !== undefined
          ? replayThenLive(
              { live, page: (after, limit) => history(services, endpoint, after, limit), seqOf: (id) => seqOf(services, id) },
              afterId,
              live(),
            )
          : latest && args.latest
            ? latestThenLive(() => latestOf(services, topic, endpoint, latest), live())
            : live();
      return counted(source, (delta) => services.telemetry.subscription(topic, delta));
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
    (s, endpoint) => s.store.samples.latest(endpoint),
  ),
  scalingDecisions: stream(
    'scalingDecisions',
    async (s, endpoint, afterId, limit) => logPage(await s.store.decisions.list(endpoint, { afterId, limit }), limit),
    (s, id) => s.store.decisions.seqOf(id),
    async (s, endpoint) => (await s.store.decisions.list(endpoint, { limit: 1 }))[0] ?? null,
  ),
  // Instance changes are recorded as endpoint events; the history rebuilds them from there, a page of events at a time.
  instanceChanges: stream('instanceChanges', async (s, endpoint, afterId, limit) => {
    const events = await s.store.events.list(endpoint, { afterId, limit });
    const page = logPage(events, limit);
    return { items: events.map(instanceChangeFromEvent).filter((c) => c !== null), next: page.next };
  }, eventSeq),
} as SubscriptionResolvers;
