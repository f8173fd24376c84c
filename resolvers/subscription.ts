// Subscription resolvers: live items from the event bus, after any stored history the client asks to replay.
import type { SubscriptionResolvers } from '../generated/graphql.js';
import type { Topics } from '../src/events/bus.js';
import { replayThenLive } from '../src/events/replay.js';
import { instanceChangeFromEvent } from '../src/instances/service.js';
import type { Services } from '../src/server/context.js';
import type { ListOptions } from '../src/store/types.js';

/** Resumed streams replay at most this many stored items; older ones are beyond reach. */
const REPLAY_LIMIT = 10_000;

type History<K extends keyof Topics> = (
  services: Services,
  endpoint: string | undefined,
  options: ListOptions,
) => Promise<Topics[K][]>;

/** The stream, counted as open from its first item request until it ends (completed, failed or the client gone). */
async function* counted<T>(source: AsyncGenerator<T>, count: (delta: 1 | -1) => void): AsyncGenerator<T> {
  count(1);
  try {
    yield* source;
  } finally {
    count(-1);
  }
}

/**
 * Subscribes first, then reads history after `afterId`, so nothing published
 * in between is lost (replayThenLive drops the overlap by id).
 */
function stream<K extends keyof Topics>(topic: K, history: History<K>) {
  return {
    subscribe: async (
      _root: unknown,
      args: { endpoint?: string | null; afterId?: string | null },
      { services }: { services: Services },
    ) => {
      const endpoint = args.endpoint ?? undefined;
      const live = services.bus.subscribe(topic, { endpoint });
      const stored = args.afterId
        ? await history(services, endpoint, { afterId: args.afterId, limit: REPLAY_LIMIT })
        : [];
      return counted(replayThenLive(stored, live), (delta) => services.telemetry.subscription(topic, delta));
    },
    resolve: (item: Topics[K]) => item,
  };
}

export const Subscription: SubscriptionResolvers = {
  endpointEvents: stream('endpointEvents', (s, endpoint, options) => s.store.events.list(endpoint, options)),
  metricSamples: stream('metricSamples', (s, endpoint, options) => s.store.samples.list(endpoint, options)),
  scalingDecisions: stream('scalingDecisions', (s, endpoint, options) => s.store.decisions.list(endpoint, options)),
  // Instance changes are recorded as endpoint events; the history rebuilds them from there.
  instanceChanges: stream('instanceChanges', async (s, endpoint, options) =>
    (await s.store.events.list(endpoint, options)).map(instanceChangeFromEvent).filter((c) => c !== null),
  ),
} as SubscriptionResolvers;
