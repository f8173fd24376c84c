// One run of some recurring work at a time (a sweep of every endpoint): a call while one is in progress joins it, and every run is waited for on stop.

/**
 * Why: a sweep lists the store (and the engine) once for every endpoint, so
 * two at once would double the reads for nothing, and a sweep asked for
 * while one is under way is answered by that one. Runs are tracked until
 * they settle, so a stop can wait for the work in flight.
 */
export class SingleFlight {
  private inFlight: Promise<void> | null = null;
  private readonly runs = new Set<Promise<void>>();

  /** The run in progress, or null. */
  get current(): Promise<void> | null {
    return this.inFlight;
  }

  /**
   * Starts `work`, unless a run is in progress and `join` (default true):
   * then that run is returned. With `join` false a new run starts beside it
   * and is the one later calls join. `work` should handle its own errors;
   * a rejection reaches the caller and clears the run all the same.
   */
  run(work: () => Promise<void>, join = true): Promise<void> {
    if (join && this.inFlight) return this.inFlight;
    const run = work();
    this.inFlight = run;
    this.runs.add(run);
    const settle = () => {
      this.runs.delete(run);
      if (this.inFlight === run) this.inFlight = null;
    };
    run.then(settle, settle);
    return run;
  }

  /** Resolves when every run started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.runs]);
  }
}
