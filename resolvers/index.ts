// All resolvers, typed against the schema by the generated Resolvers type.
import type { Resolvers } from '../generated/graphql.js';
import { Mutation } from './mutation.js';
import { ScalingReplay } from './replay.js';
import { Query } from './query.js';
import { scalarResolvers } from './scalars.js';
import { Subscription } from './subscription.js';
import { Endpoint, Instance, Manager, ScalingDecision } from './types.js';

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query,
  Mutation,
  Subscription,
  Endpoint,
  Manager,
  Instance,
  ScalingDecision,
  ScalingReplay,
};
