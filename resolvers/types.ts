// Field resolvers of the object types: derived fields and links between records.
import type {
  EndpointResolvers,
  InstanceResolvers,
  ManagerResolvers,
  ScalingDecisionResolvers,
} from '../generated/graphql.js';

export const Endpoint: EndpointResolvers = {
  config: (endpoint, _args, { services }) => services.endpoints.config(endpoint),
  instances: (endpoint, _args, { services }) => services.store.instances.list({ endpoint: endpoint.name }),
  metrics: (endpoint, _args, { services }) => services.store.samples.latest(endpoint.name),
  metricHistory: (endpoint, { since, limit }, { services }) =>
    services.store.samples.list(endpoint.name, { since: since ?? undefined, limit: limit ?? undefined }),
  decisions: (endpoint, { afterId, limit }, { services }) =>
    services.store.decisions.list(endpoint.name, { afterId: afterId ?? undefined, limit: limit ?? undefined }),
  events: (endpoint, { afterId, limit }, { services }) =>
    services.store.events.list(endpoint.name, { afterId: afterId ?? undefined, limit: limit ?? undefined }),
};

export const Manager: ManagerResolvers = {
  instances: (manager, _args, { services }) => services.store.instances.list({ managerId: manager.id }),
};

export const Instance: InstanceResolvers = {
  manager: async (instance, _args, { services }) => {
    if (!instance.managerId) return null;
    const manager = await services.managers.get(instance.managerId);
    return { id: instance.managerId, name: manager?.name ?? instance.managerId };
  },
};

/** Decision records are values of src/scaling; these fields lift their headline numbers. */
export const ScalingDecision: ScalingDecisionResolvers = {
  current: (decision) => Number(decision.record.current ?? 0),
  target: (decision) => Number(decision.record.target ?? 0),
  summary: (decision) => String(decision.record.summary ?? ''),
  record: (decision) => decision.record,
};
