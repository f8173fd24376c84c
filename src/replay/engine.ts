// Replays a candidate scaling policy over an endpoint's recorded samples, round by round through decide(), and sets the outcome beside what was recorded.
import type { EndpointState } from '../model/states.js';
import { decide } from '../scaling/decision.js';
import { parseRulesCached, type Rule } from '../scaling/rules.js';
import { FigureSheet } from './figures.js';
import { ReplayInstances } from './instances.js';
import { offeredRate, redivide, UNDIVIDED_METRICS } from './redivide.js';
import type { CandidatePolicy, LaunchModel, PolicyPeriod, RecordedRound, RecordedSample, ReplayPoint, ReplayReport } from './types.js';

export interface ReplayInput {
  endpoint: string;
  policy: CandidatePolicy;
  /** `policy.rules` parsed, when the caller has them (`checkPolicy` does). */
  rules?: readonly Rule[];
  /** The recorded samples, oldest first: one round each, at the recording's own cadence. */
  samples: readonly RecordedSample[];
  /** The recorded decisions (evaluations and trigger rounds), oldest first, from a little before the first sample on. */
  decisions: readonly RecordedRound[];
  launch: LaunchModel;
  /** The endpoint's `decommissioned_timeout` (seconds). */
  decommissionedTimeout: number;
  /** Static instances of the endpoint: they take traffic, so they are in N, but they are never scaled. */
  staticInstances?: number;
  /** The rules whose bands are timed; default the policy's own. */
  bands?: readonly Rule[];
  /** Metrics taken as recorded instead of re-divided (default: response). */
  undivided?: ReadonlySet<string>;
  /** The endpoint's state where no recorded decision says (default RUNNING). */
  state?: EndpointState;
}

/** Gaps between samples longer than this many median intervals are named in the notes. */
const GAP_FACTOR = 3;
const MAX_GAP_NOTES = 5;

function medianGap(times: Float64Array): number | null {
  if (times.length < 2) return null;
  const gaps = new Float64Array(times.length - 1);
  for (let i = 1; i < times.length; i++) gaps[i - 1] = times[i] - times[i - 1];
  gaps.sort();
  const middle = gaps.length >> 1;
  return gaps.length % 2 === 1 ? gaps[middle] : (gaps[middle - 1] + gaps[middle]) / 2;
}

function samePolicy(a: CandidatePolicy, b: CandidatePolicy): boolean {
  return a.rules === b.rules && a.minInstances === b.minInstances && a.maxInstances === b.maxInstances && a.rampLimit === b.rampLimit;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An evaluation that changed nothing: the kind the controller stores only once in a while while it repeats (src/control/decisions.ts). */
function holds(decision: RecordedRound): boolean {
  return decision.round === 'evaluate' && decision.after === decision.current && decision.launches === 0;
}

/**
 * `decide()` builds its summary by concatenation: in V8 a rope of dozens of
 * small pieces. Kept for every round of a day, those pieces cost the garbage
 * collector more than the replay itself (measured: about twice the CPU time
 * of a day's replay). Using the string as a number makes V8 flatten it into
 * one piece, as the `flatstr` package does; the text is unchanged.
 */
function flat(text: string): string {
  void ((text as unknown as number) | 0);
  return text;
}

/**
 * Replays `policy` over the recording, pure and deterministic.
 *
 * Each recorded sample is one round, at the time it was taken, so the cadence
 * is the recording's. In each round:
 * 1. launches whose launch time (`launch.seconds`) has passed join the
 *    balancer (`ReplayInstances`);
 * 2. the sample is re-divided over the instances the replay has serving
 *    (`redivide`: the endpoint's total traffic is what was recorded);
 * 3. `decide()` — the control loop's own code: rules, clamp, target, ramp
 *    limit, round plan — decides with that sample, in the state the
 *    recording had then (PAUSED holds, STOPPED goes to 0);
 * 4. the plan is applied to the modelled instances.
 *
 * The recording's side comes from the recorded decisions: each round is
 * paired with the evaluation made with its sample (the first one at or after
 * it, before the next sample), whose target it is compared with. A round
 * with none, after a holding evaluation (no gap, no decision since), was
 * thinned: the controller stores a holding decision identical to the last
 * one kept only once every `--decision-every` rounds, so that round held as
 * the last one kept did, and is compared with it (`recordedHeld`).
 *
 * Since the calculator reads each metric's endpoint total (average × N),
 * which re-division keeps, the rules give the recording's ranges whatever
 * the replay's N — except for metrics that do not re-divide (response). So
 * the policy in force, replayed, makes the recorded decisions; what the
 * launch time changes is how loaded each instance was meanwhile, which the
 * band times measure.
 */
export function replayScaling(input: ReplayInput): ReplayReport {
  const { endpoint, policy, samples, decisions, launch } = input;
  const rules = input.rules ?? parseRulesCached(policy.rules);
  const bands = input.bands ?? rules;
  const undivided = input.undivided ?? UNDIVIDED_METRICS;
  const staticCount = input.staticInstances ?? 0;
  const n = samples.length;
  const notes: string[] = [];

  const times = new Float64Array(n);
  for (let k = 0; k < n; k++) times[k] = samples[k].at.getTime();
  const intervalMs = medianGap(times);
  const decisionTimes = decisions.map((d) => d.at.getTime());
  const evaluations = decisions.filter((d) => d.round === 'evaluate');
  const evaluationTimes = evaluations.map((d) => d.at.getTime());

  const replayed = new FigureSheet(bands);
  const recorded = new FigureSheet(bands);
  const timeline: ReplayPoint[] = new Array(n);
  const inForce: PolicyPeriod[] = [];
  const model = new ReplayInstances(launch.seconds * 1000);
  let state: EndpointState = input.state ?? 'RUNNING';
  let recordedCount: number | null = null;
  let compared = 0;
  let held = 0;
  let differences = 0;
  let gaps = 0;
  /** The last recorded decision taken in, and when the recording last broke off (a gap: no controller kept deciding). */
  let lastDecision: RecordedRound | null = null;
  let brokenAt = -Infinity;

  const t0 = n > 0 ? times[0] : 0;
  const windowEnd = n > 0 ? times[n - 1] + (intervalMs ?? 0) : 0;
  let d = 0;
  /** Takes in the recorded decisions made before `untilMs`: the count they left, the state, the policy, and the scale events among them. */
  const catchUp = (untilMs: number) => {
    for (; d < decisions.length && decisionTimes[d] < untilMs; d++) {
      const decision = decisions[d];
      recordedCount = decision.after;
      lastDecision = decision;
      if (decision.state !== null) state = decision.state;
      if (decision.policy !== null) {
        // The policy of the last decision before the replay starts was in force from its start; each later change from its decision.
        const last = inForce[inForce.length - 1];
        if (decisionTimes[d] < t0) inForce[0] = { ...decision.policy, from: new Date(t0) };
        else if (!last || !samePolicy(last, decision.policy)) inForce.push({ ...decision.policy, from: new Date(last ? decisionTimes[d] : t0) });
      }
      if (decisionTimes[d] >= t0) recorded.change(decision.current, decision.after, decision.launches);
    }
  };

  let e = 0;
  for (let k = 0; k < n; k++) {
    const t = times[k];
    const next = k + 1 < n ? times[k + 1] : Infinity;
    catchUp(t);
    while (e < evaluations.length && evaluationTimes[e] < t) e++;
    const ms = k === 0 ? (intervalMs ?? 0) : t - times[k - 1];
    const gap = k > 0 && intervalMs !== null && ms > GAP_FACTOR * intervalMs;
    if (gap) brokenAt = t;
    const stored = e < evaluations.length && evaluationTimes[e] < next ? evaluations[e++] : null;
    const last = lastDecision as RecordedRound | null; // (set inside catchUp, which TypeScript does not follow)
    const thinned = stored === null && last !== null && holds(last) && last.at.getTime() >= brokenAt;
    const paired = stored ?? (thinned ? last : null);
    const sample = samples[k];

    if (k === 0) {
      // The replay starts from what the recording had: the count before the first round, as many serving as reported.
      const current: number = paired?.current ?? recordedCount ?? Math.max(0, sample.instances - staticCount);
      const running = Math.min(current, Math.max(0, sample.instances - staticCount));
      model.seed(running, current - running, t);
      recordedCount ??= current;
    }
    if (gap && ++gaps <= MAX_GAP_NOTES) {
      notes.push(`no samples from ${iso(times[k - 1])} to ${iso(t)} (${Math.round(ms / 1000)} s): both sides are taken to have held their count`);
    }

    model.advance(t);
    const serving = model.running + staticCount;
    const metrics = redivide(sample.metrics, sample.instances, serving, undivided);
    model.spread(metrics.active ?? 0);
    const roundState = paired?.state ?? state;
    const decision = decide(
      {
        endpoint,
        state: roundState,
        scaling: policy,
        decommissionedTimeout: input.decommissionedTimeout,
        sample: { instances: serving, metrics },
        instances: model.views,
        rules,
      },
      sample.at,
    );
    const offered = offeredRate(sample.metrics, sample.instances);
    replayed.interval({ ms, instances: decision.current, serving, metrics, offered });
    const launched = model.apply(decision.actions, t, roundState === 'STOPPED');
    replayed.change(decision.current, decision.after, launched);

    const recordedInstances = paired?.current ?? recordedCount;
    if (recordedInstances !== null) {
      recorded.interval({ ms, instances: recordedInstances, serving: sample.instances, metrics: sample.metrics, offered });
    }
    if (paired) {
      compared++;
      if (thinned) held++;
      if (paired.target !== decision.target) differences++;
    }
    timeline[k] = {
      at: sample.at,
      target: decision.target,
      instances: decision.current,
      after: decision.after,
      serving,
      recordedTarget: paired?.target ?? null,
      recordedInstances,
      recordedHeld: thinned,
      summary: flat(decision.summary),
    };
  }
  catchUp(windowEnd);

  if (gaps > MAX_GAP_NOTES) notes.push(`… and ${gaps - MAX_GAP_NOTES} more gaps of over ${GAP_FACTOR} intervals`);
  if (held > 0) {
    notes.push(
      `${held} of ${n} rounds have no stored evaluation because it repeated the last one kept (an identical holding decision is stored once every --decision-every rounds): they held as that one did`,
    );
  }
  if (n > 0 && compared < n) {
    notes.push(
      `${n - compared} of ${n} rounds have no recorded evaluation to compare with (decisions not kept, or no controller ran then): the recorded side holds the last count it knows`,
    );
  }
  if (launch.source === 'none') notes.push('no launch-to-ready time is recorded for this endpoint: launches are taken to serve at once (give launchSeconds to model one)');
  else if (launch.source === 'recorded') {
    notes.push(`launches serve ${launch.seconds.toFixed(3)} s after they start: the median of ${launch.launches} recorded launch-to-ready time${launch.launches === 1 ? '' : 's'}`);
  }
  if (n === 0) notes.push('no metric samples in this period: nothing to replay');

  return {
    endpoint,
    from: n > 0 ? samples[0].at : null,
    to: n > 0 ? samples[n - 1].at : null,
    rounds: n,
    seconds: n > 0 ? (times[n - 1] - times[0] + (intervalMs ?? 0)) / 1000 : 0,
    intervalSeconds: intervalMs === null ? null : intervalMs / 1000,
    policy,
    inForce,
    launch,
    replayed: replayed.figures(),
    recorded: recorded.figures(),
    compared,
    held,
    differences,
    timeline,
    notes,
  };
}
