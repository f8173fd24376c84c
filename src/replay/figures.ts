// Adds up one side of a replay (the candidate, or the recording) round by round into the figures an operator compares.
import type { Rule } from '../scaling/rules.js';
import { ABOVE, BELOW, bandPosition } from './bands.js';
import type { ReplayFigures } from './types.js';

/**
 * One round as a side of the comparison saw it. The round at time tₖ
 * covers the interval (tₖ₋₁, tₖ]: the instances counted are those that ran in
 * it (serving or starting before the round's actions), and the metrics are
 * the sample taken at its end, per instance over the `serving` that took
 * the traffic.
 */
export interface RoundFacts {
  /** The interval's length in milliseconds (sums of whole milliseconds stay exact over a day of rounds). */
  ms: number;
  /** Instances serving or starting during the interval. */
  instances: number;
  /** Instances that took the traffic (N). */
  serving: number;
  /** Per-instance metrics over `serving`. */
  metrics: Readonly<Record<string, number>>;
  /** Requests per second that came (served or not): with no instance serving, any is unserved. */
  offered: number;
}

export class FigureSheet {
  // All times in whole milliseconds until figures().
  private instanceMs = 0;
  private ms = 0;
  private outside = 0;
  private unserved = 0;
  private peak = 0;
  private scaleUps = 0;
  private scaleDowns = 0;
  private launches = 0;
  private readonly below: Float64Array;
  private readonly above: Float64Array;

  constructor(private readonly bands: readonly Rule[]) {
    this.below = new Float64Array(bands.length);
    this.above = new Float64Array(bands.length);
  }

  /** The interval a round covers: instance-seconds, and where each band rule stood. */
  interval(facts: RoundFacts): void {
    const { ms, instances, serving, metrics } = facts;
    this.ms += ms;
    this.instanceMs += instances * ms;
    if (instances > this.peak) this.peak = instances;
    if (ms === 0) return;
    if (serving === 0 && facts.offered > 0) {
      // Requests came and nobody took them: no per-instance value exists, and the time is outside whatever the bands say.
      this.unserved += ms;
      this.outside += ms;
      return;
    }
    let out = false;
    for (let i = 0; i < this.bands.length; i++) {
      const rule = this.bands[i];
      let value: number;
      if (rule.metric === 'instances') value = instances;
      else if (serving === 0) continue;
      else value = metrics[rule.metric] ?? 0;
      const position = bandPosition(rule, value);
      if (position === BELOW) this.below[i] += ms;
      else if (position === ABOVE) this.above[i] += ms;
      else continue;
      out = true;
    }
    if (out) this.outside += ms;
  }

  /** A decision that moved the count from `current` to `after`, launching `launched`. */
  change(current: number, after: number, launched: number): void {
    if (after > current) this.scaleUps++;
    else if (after < current) this.scaleDowns++;
    this.launches += launched;
  }

  /** Counts an instance count seen outside any interval (the round a replay starts from). */
  seen(instances: number): void {
    if (instances > this.peak) this.peak = instances;
  }

  figures(): ReplayFigures {
    return {
      instanceSeconds: this.instanceMs / 1000,
      scaleEvents: this.scaleUps + this.scaleDowns,
      scaleUps: this.scaleUps,
      scaleDowns: this.scaleDowns,
      launches: this.launches,
      secondsOutsideBands: this.outside / 1000,
      secondsUnserved: this.unserved / 1000,
      meanInstances: this.ms > 0 ? this.instanceMs / this.ms : 0,
      peakInstances: this.peak,
      bands: this.bands.map((rule, i) => ({
        rule: rule.text,
        metric: rule.metric,
        secondsBelow: this.below[i] / 1000,
        secondsAbove: this.above[i] / 1000,
        secondsOutside: (this.below[i] + this.above[i]) / 1000,
      })),
    };
  }
}
