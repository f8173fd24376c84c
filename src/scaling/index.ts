// The scaling engine's public API: rules, calculator, aggregation, round plan and decisions (all pure).
export {
  type Rule,
  RULE_GRAMMAR,
  parseRule,
  parseRules,
  parseRulesCached,
  formatRule,
} from './rules.js';
export {
  type CountRange,
  type RuleEvaluation,
  type ScalingInputs,
  type ScalingCalculation,
  type ScalingEvaluationInput,
  type ScalingEvaluation,
  MAX_COUNT,
  INTEGER_TOLERANCE,
  ruleRange,
  combine,
  clamp,
  target,
  holdWithin,
  isEmpty,
  toJsonMax,
  calculateScaling,
  parseRuleList,
  evaluateScaling,
} from './calculator.js';
export {
  type BuiltinMetric,
  type InstanceReport,
  type MetricNote,
  type AggregatedMetrics,
  BUILTIN_METRICS,
  aggregateMetrics,
} from './aggregate.js';
export {
  type InstanceView,
  type ActionKind,
  type ActionDirection,
  type PlannedAction,
  type PlanInput,
  type RoundPlan,
  countsAsCurrent,
  planRound,
} from './plan.js';
export { type DecisionInput, type ScalingDecisionRecord, decide } from './decision.js';
