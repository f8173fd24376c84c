// The GraphQL documents the dashboard sends (all public API) and the shapes of their answers.

export type EndpointState = 'RUNNING' | 'PAUSED' | 'STOPPED';

export interface Sample {
  id: string;
  endpoint: string;
  at: string;
  instances: number;
  metrics: Record<string, number>;
}

export interface InstanceRow {
  id: string;
  endpoint: string;
  status: string;
  address: string | null;
  reason: string | null;
  createdAt: string;
  manager: { id: string; name: string } | null;
}

export interface RuleRange {
  rule: string;
  metric: string;
  value: number | null;
  min: number;
  max: number | null;
  noData: boolean;
}

export interface Action {
  kind: string;
  direction: string;
  count: number;
  instance: string | null;
  manager: string | null;
  outcome: string;
  reason: string;
}

export interface Decision {
  id: string;
  endpoint: string;
  at: string;
  round: 'EVALUATE' | 'TRIGGER';
  cause: string;
  state: EndpointState | null;
  current: number;
  target: number;
  after: number;
  conflict: boolean;
  held: string | null;
  rampLimit: number | null;
  rampCut: number;
  summary: string;
  notes: string[];
  rules: RuleRange[];
  ideal: { min: number; max: number | null };
  clamped: { min: number; max: number };
  actions: Action[];
}

export interface EventRow {
  id: string;
  endpoint: string;
  kind: string;
  message: string;
  at: string;
}

export interface ScalingConfig {
  minInstances: number;
  maxInstances: number;
  rules: string;
  rampLimit: number;
}

/** What the overview reads of an instance: enough to count it by status. */
export type InstanceBrief = Pick<InstanceRow, 'id' | 'endpoint' | 'status' | 'createdAt'>;
/** What the overview reads of a decision: its words and target. */
export type DecisionBrief = Pick<Decision, 'id' | 'endpoint' | 'at' | 'target' | 'summary'>;
/** What the overview reads of a sample's history: the sparkline's points. */
export type SamplePoint = Pick<Sample, 'id' | 'at' | 'metrics'>;

/**
 * One endpoint as the overview reads it. The overview asks only for what it
 * shows: with 50 endpoints, 500 instances and 60 samples each, every field
 * more is read 500 or 3,000 times (each instance's manager, for one, is a
 * lookup the overview does not need).
 */
export interface EndpointSummary {
  name: string;
  state: EndpointState;
  config: { endpoint: { url: string }; scaling: ScalingConfig };
  instances: InstanceBrief[];
  metrics: Sample | null;
  metricHistory: SamplePoint[];
  decisions: DecisionBrief[];
}

export interface ManagerRow {
  id: string;
  name: string;
  address: string;
  slots: number;
  usedSlots: number;
  status: 'READY' | 'LOST';
  problems: string[];
  lastSeen: string;
}

export interface Controller {
  holder: string;
  term: number;
  expiresAt: string;
}

const SAMPLE = 'id endpoint at instances metrics';
const INSTANCE = 'id endpoint status address reason createdAt manager { id name }';
export const DECISION = `id endpoint at round cause state current target after conflict held rampLimit rampCut summary notes
  rules { rule metric value min max noData } ideal { min max } clamped { min max }
  actions { kind direction count instance manager outcome reason }`;
const EVENT = 'id endpoint kind message at';
const INSTANCE_BRIEF = 'id endpoint status createdAt';
const DECISION_BRIEF = 'id endpoint at target summary';
const SCALING = 'scaling { minInstances maxInstances rules rampLimit }';

/** Samples kept per endpoint for the overview's sparklines. */
export const SPARK_SAMPLES = 60;

export const OVERVIEW = `query DashboardOverview {
  controller { holder term expiresAt }
  managers { id name address slots usedSlots status problems lastSeen }
  endpoints {
    name state
    config { endpoint { url } ${SCALING} }
    instances { ${INSTANCE_BRIEF} }
    metrics { ${SAMPLE} }
    metricHistory(limit: ${SPARK_SAMPLES}) { id at metrics }
    decisions(limit: 1) { ${DECISION_BRIEF} }
  }
}`;

export const MANAGERS = `query DashboardManagers {
  controller { holder term expiresAt }
  managers { id name address slots usedSlots status problems lastSeen }
}`;

/** One endpoint as its page reads it: everything. */
export interface EndpointDetail extends Omit<EndpointSummary, 'instances' | 'metricHistory' | 'decisions'> {
  instances: InstanceRow[];
  metricHistory: Sample[];
  decisions: Decision[];
  events: EventRow[];
  warnings: string[];
}

/** Samples and decisions the endpoint page starts its charts and timeline with. */
export const HISTORY_SAMPLES = 300;
export const HISTORY_DECISIONS = 100;

export const ENDPOINT = `query DashboardEndpoint($name: String!) {
  endpoint(name: $name) {
    name state warnings
    config { endpoint { url } ${SCALING} }
    instances { ${INSTANCE} }
    metrics { ${SAMPLE} }
    metricHistory(limit: ${HISTORY_SAMPLES}) { ${SAMPLE} }
    decisions(limit: ${HISTORY_DECISIONS}) { ${DECISION} }
    events(limit: 100) { ${EVENT} }
  }
}`;

export const SAMPLES_LIVE = `subscription DashboardSamples($endpoint: String) { metricSamples(endpoint: $endpoint, latest: true) { ${SAMPLE} } }`;
export const DECISIONS_LIVE = `subscription DashboardDecisions($endpoint: String) { scalingDecisions(endpoint: $endpoint, latest: true) { ${DECISION} } }`;
export const INSTANCES_LIVE = `subscription DashboardInstances($endpoint: String) { instanceChanges(endpoint: $endpoint) { id change instance { ${INSTANCE} } } }`;
/** The overview's lean forms of the same streams. */
export const DECISIONS_LIVE_BRIEF = `subscription DashboardDecisionsBrief { scalingDecisions(latest: true) { ${DECISION_BRIEF} } }`;
export const INSTANCES_LIVE_BRIEF = `subscription DashboardInstancesBrief { instanceChanges { id change instance { ${INSTANCE_BRIEF} } } }`;
export const EVENTS_LIVE = `subscription DashboardEvents($endpoint: String) { endpointEvents(endpoint: $endpoint) { ${EVENT} } }`;

export interface InstanceChangeItem<I = InstanceRow> {
  id: string;
  change: 'CREATED' | 'STATUS_CHANGED' | 'REMOVED';
  instance: I;
}

export const SET_STATE = `mutation DashboardSetState($name: String!, $state: EndpointState!) { setEndpointState(name: $name, state: $state) { name state } }`;
export const SET_OPTION = `mutation DashboardSetOption($name: String!, $section: String!, $key: String!, $value: String!) {
  setEndpointOption(name: $name, section: $section, key: $key, value: $value) { name warnings config { ${SCALING} } }
}`;

/**
 * `ScalingEvaluation` of schema/reactor.graphql, the same shape as
 * src/scaling/calculator.ts's ScalingEvaluation, restated on purpose: the
 * dashboard may import only itself and src/web/ (rule
 * dashboard-uses-only-the-public-api in .dependency-cruiser.cjs), so it reads
 * the API's answer, not the server's types. Change both with the schema.
 */
export interface Evaluation {
  idealMin: number;
  idealMax: number | null;
  targetMin: number;
  targetMax: number;
  target: number;
  conflict: boolean;
  rules: { rule: string; metric: string; min: number; max: number | null; noData: boolean }[];
  noData: string[];
}

export const EVALUATE = `query DashboardEvaluate($input: ScalingEvaluationInput!) {
  evaluateScaling(input: $input) { idealMin idealMax targetMin targetMax target conflict rules { rule metric min max noData } noData }
}`;
