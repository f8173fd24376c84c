// Field resolvers of the object types: derived fields and links between records.
import type {
  EndpointResolvers,
  InstanceResolvers,
  ManagerResolvers,
  ScalingDecisionResolvers,
} from '../generated/graphql.js';
import { findDecision } from '../src/server/decision-lookup.js';
import { endpointWarnings, instanceCounts } from '../src/endpoints/status.js';
import { decisionView, type DecisionView } from '../src/server/decision-view.js';
import { explainDecision } from '../src/server/explain.js';
import { pageLimit } from '../src/server/limits.js';
import type { DecisionRecord } from '../src/store/types.js';

export const Endpoint: EndpointResolvers = {
  config: (endpoint, _args, { services }) => services.endpoints.config(endpoint),
  instances: (endpoint, _args, { services }) => services.reads.instances(endpoint.name),
  counts: async (endpoint, _args, { services }) => instanceCounts(await services.reads.instances(endpoint.name)),
  warnings: (endpoint, _args, { services }) => endpointWarnings(services.store, endpoint),
  metrics: (endpoint, _args, { services }) => services.store.samples.latest(endpoint.name),
  metricHistory: (endpoint, { since, limit }, { services, limits }) =>
    services.store.samples.list(endpoint.name, { since: since ?? undefined, limit: pageLimit(limit, limits) }),
  decisions: (endpoint, { afterId, limit }, { services, limits }) =>
    services.store.decisions.list(endpoint.name, { afterId: afterId ?? undefined, limit: pageLimit(limit, limits) }),
  events: (endpoint, { afterId, limit }, { services, limits }) =>
    services.store.events.list(endpoint.name, { afterId: afterId ?? undefined, limit: pageLimit(limit, limits) }),
  decision: (endpoint, { id }, { services }) => findDecision(services.store, endpoint.name, id),
};

export const Manager: ManagerResolvers = {
  status: (manager) => manager.status ?? 'READY',
  instances: (manager, _args, { services }) => services.store.instances.list({ managerId: manager.id }),
};

export const Instance: InstanceResolvers = {
  manager: async (instance, _args, { services }) => {
    if (!instance.managerId) return null;
    const manager = await services.managers.get(instance.managerId);
    return { id: instance.managerId, name: manager?.name ?? instance.managerId };
  },
};

/** One view per stored decision and execution: every typed field reads the record once. */
const views = new WeakMap<DecisionRecord, DecisionView>();
function view(decision: DecisionRecord): DecisionView {
  let found = views.get(decision);
  if (!found) views.set(decision, (found = decisionView(decision.record)));
  return found;
}

/** Decision records are values of src/model/decision.ts; src/server/decision-view.ts reads them into typed fields. */
export const ScalingDecision: ScalingDecisionResolvers = {
  round: (decision) => view(decision).round,
  cause: (decision) => view(decision).cause,
  startedBy: (decision) => view(decision).startedBy,
  state: (decision) => view(decision).state,
  inputs: (decision) => view(decision).inputs,
  current: (decision) => view(decision).current,
  rules: (decision) => view(decision).rules,
  ideal: (decision) => view(decision).ideal,
  clamped: (decision) => view(decision).clamped,
  conflict: (decision) => view(decision).conflict,
  target: (decision) => view(decision).target,
  after: (decision) => view(decision).after,
  rampLimit: (decision) => view(decision).rampLimit,
  rampCut: (decision) => view(decision).rampCut,
  held: (decision) => view(decision).held,
  notes: (decision) => view(decision).notes,
  actions: (decision) => view(decision).actions,
  summary: (decision) => view(decision).summary,
  record: (decision) => decision.record,
  explanation: (decision) => explainDecision(view(decision), decision),
};
