// Mutation resolvers: each one call into a service, which validates and records the change.
import type { MutationResolvers } from '../generated/graphql.js';
import { requireInstance } from '../src/server/auth.js';

export const Mutation: MutationResolvers = {
  manageEndpoint: (_root, { name, config }, { services }) => services.endpoints.manage(name, config),
  unmanageEndpoint: (_root, { name }, { services }) => services.endpoints.unmanage(name),
  setEndpointState: (_root, { name, state }, { services }) => services.endpoints.setState(name, state),
  setEndpointOption: (_root, { name, section, key, value }, { services }) =>
    services.endpoints.setOption(name, section, key, value),
  setManagerOption: (_root, { id, key, value }, { services }) => services.managers.setOption(id, key, value),
  forgetManager: (_root, { id }, { services }) => services.managers.forget(id),
  setCustomMetrics: async (_root, { endpoint, metrics }, { services }) => {
    await services.metrics.setForEndpoint(endpoint, metrics);
    return true;
  },
  setInstanceMetrics: async (_root, { instance, metrics }, { services, principal }) => {
    requireInstance(principal, instance);
    await services.metrics.setForInstance(instance, metrics);
    return true;
  },
};
