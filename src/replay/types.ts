// The replay's vocabulary: a candidate policy, the recording it runs over, and the report that sets it beside what happened.
import type { EndpointState } from '../model/states.js';
import type { RoundMode } from '../model/decision.js';

/** What a replay may change: the rules, the bounds and the ramp limit (the `[scaling]` section). */
export interface CandidatePolicy {
  /** The rules as one comma-separated text, as `[scaling] rules` holds them ('' = no rules). */
  rules: string;
  minInstances: number;
  maxInstances: number;
  rampLimit: number;
}

/** One stored metric sample: N instances reported these per-instance averages (the sampler's `MetricSampleRecord`). */
export interface RecordedSample {
  at: Date;
  /** N: the instances that reported (the balancer's backends, static ones included). */
  instances: number;
  metrics: Readonly<Record<string, number>>;
}

/** One stored decision, reduced to what a replay compares with. */
export interface RecordedRound {
  at: Date;
  round: RoundMode;
  state: EndpointState | null;
  /** Instances serving or about to (RUNNING, STARTING, PENDING) before the round. */
  current: number;
  target: number;
  /** The count the round left. */
  after: number;
  /** Instances the round launched (launch actions done). */
  launches: number;
  /** The policy in force when it was decided (null on a record that does not say). */
  policy: CandidatePolicy | null;
}

/** How long a launch takes to serve, in the replay. */
export interface LaunchModel {
  /** Seconds from a launch to its instance serving (in the balancer). */
  seconds: number;
  /** `given`: the caller's value; `recorded`: the median of the endpoint's recorded launch-to-ready times; `none`: nothing recorded, taken as 0. */
  source: 'given' | 'recorded' | 'none';
  /** How many recorded launches the median is taken over (0 unless `recorded`). */
  launches: number;
}

/** Time one rule's metric spent outside its band. */
export interface BandTime {
  rule: string;
  metric: string;
  /** Seconds the per-instance value was under the rule's lower bound (capacity idle). */
  secondsBelow: number;
  /** Seconds it was over the upper bound (instances overloaded). */
  secondsAbove: number;
  secondsOutside: number;
}

/** The figures an operator compares two policies by; the same definitions for the replay and for the recording. */
export interface ReplayFigures {
  /** Σ over rounds of the instances serving or starting × the seconds until the round (draining ones not counted). */
  instanceSeconds: number;
  /** Rounds that changed the count (launched, recommissioned, decommissioned or cancelled any). */
  scaleEvents: number;
  scaleUps: number;
  scaleDowns: number;
  /** Instances launched (recommissions not counted). */
  launches: number;
  /** Seconds in which at least one band rule was outside its band, or traffic found no instance at all. */
  secondsOutsideBands: number;
  /** Seconds in which requests came and no instance served (a per-instance value does not exist then). */
  secondsUnserved: number;
  /** instanceSeconds / seconds. */
  meanInstances: number;
  peakInstances: number;
  /** Per band rule, in the order given. */
  bands: BandTime[];
}

/** One round of the timeline: what the replay decided, beside what was recorded. */
export interface ReplayPoint {
  at: Date;
  /** The count the candidate policy asked for. */
  target: number;
  /** Instances serving or starting before the round (what ran in the interval that ends here). */
  instances: number;
  /** The count the round left (the ramp limit may hold it short of target). */
  after: number;
  /** Instances in the balancer (N, static ones included): what the traffic was re-divided over. */
  serving: number;
  /** The recorded evaluation's target; null when none was recorded for this round. */
  recordedTarget: number | null;
  /** The recorded count before the round; null when not known. */
  recordedInstances: number | null;
  /**
   * No evaluation was stored for this round because it repeated the last one
   * kept (a holding decision, thinned): `recordedTarget` and
   * `recordedInstances` are that decision's.
   */
  recordedHeld: boolean;
  /** The replayed decision in one line, in the words of `ScalingDecision.summary`. */
  summary: string;
}

/** A policy in force over part of the recording (from the recorded decisions). */
export interface PolicyPeriod extends CandidatePolicy {
  from: Date;
}

export interface ReplayReport {
  endpoint: string;
  /** The first and last round replayed; null when there were no samples. */
  from: Date | null;
  to: Date | null;
  rounds: number;
  /** The seconds the figures cover. */
  seconds: number;
  /** The median time between rounds (the recording's cadence); null with fewer than two rounds. */
  intervalSeconds: number | null;
  /** The candidate policy as replayed (the ramp limit filled in). */
  policy: CandidatePolicy;
  /** What was in force during the recording, each change with its time. */
  inForce: PolicyPeriod[];
  launch: LaunchModel;
  replayed: ReplayFigures;
  recorded: ReplayFigures;
  /** Rounds with a recorded evaluation, stored or held (see `held`), and of those, how many the replay targeted differently. */
  compared: number;
  /** Of the compared rounds, those whose evaluation was thinned: held as the last one kept. */
  held: number;
  differences: number;
  timeline: ReplayPoint[];
  /** What the reader should know about the data: gaps, missing decisions, how the launch time was found. */
  notes: string[];
}
