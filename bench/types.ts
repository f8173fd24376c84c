// The shape every benchmark module returns, so bench/run.ts can print and record one table.

export interface BenchResult {
  /** What was measured, e.g. "scaling decisions/s (5 rules, 100 instances)". */
  name: string;
  value: number;
  unit: string;
  /** The goal as text, e.g. ">= 100000/s"; empty when there is none. */
  goal: string;
  /** Whether the goal was met; undefined when there is no goal. */
  met?: boolean;
  /** Anything a reader needs to interpret the figure (baseline, sample size). */
  note?: string;
}

/** A benchmark module default-exports one of these. */
export type Benchmark = () => Promise<BenchResult[]>;
