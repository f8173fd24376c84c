// Query resolvers: read the services, shape nothing beyond what the schema asks.
import type { QueryResolvers } from '../generated/graphql.js';
import { evaluateScaling } from '../src/scaling/index.js';
import { pageLimit } from '../src/server/limits.js';

export const Query: QueryResolvers = {
  version: (_root, _args, { services }) => services.version,
  managers: (_root, _args, { services }) => services.managers.list(),
  manager: (_root, { id }, { services }) => services.managers.get(id),
  controller: (_root, _args, { services }) => services.managers.controller(),
  endpoints: (_root, _args, { services }) => services.endpoints.list(),
  endpoint: (_root, { name }, { services }) => services.endpoints.get(name),
  instances: async (_root, { endpoint, status }, { services }) =>
    (await services.instances.list(endpoint ? { endpoint } : undefined)).filter((i) => !status || i.status === status),
  evaluateScaling: (_root, { input }) => evaluateScaling(input as Parameters<typeof evaluateScaling>[0]),
  replayScaling: (_root, args, { services }) => services.replay.replay(args),
  events: (_root, { endpoint, afterId, limit }, { services, limits }) =>
    services.store.events.list(endpoint ?? undefined, { afterId: afterId ?? undefined, limit: pageLimit(limit, limits) }),
};
