// Per-key lanes: work for one key (an endpoint) runs one at a time, requests that arrive meanwhile share one follow-up run, and different keys run side by side.
import pLimit, { type LimitFunction } from 'p-limit';

interface Queued<R> {
  promise: Promise<void>;
  request: R;
}

interface Lane<R> {
  tail: Promise<void>;
  /** The run queued behind the current one; later requests merge into it (it will see their changes). */
  queued: Queued<R> | null;
  /** +1 whenever a run or exclusive work starts here: a snapshot read before that may be stale for this key. */
  generation: number;
  /** A run or exclusive work is in progress. */
  busy: boolean;
}

export interface LanesOptions<R> {
  /** The work of one run of `key`, with the merged request. */
  run: (key: string, request: R) => Promise<void>;
  /** Folds `next` into the request already queued (e.g. an evaluation upgrades a queued trigger). */
  merge: (queued: R, next: R) => void;
  /** Hears a run's error (the lane goes on). */
  failed: (key: string, error: unknown) => Promise<void> | void;
  /** Runs of different keys that may be in progress at once; default unbounded. */
  concurrency?: number;
}

/**
 * Why lanes: a slow endpoint must hold up only itself, two runs of one
 * endpoint must never overlap (both would act on the same instances), and a
 * burst of changes to one endpoint should cost one more run, not one each.
 * Example: a run of `web` is in progress; a config change, then a container
 * exit, then an evaluation arrive. They share one queued run, which
 * evaluates (the merge says so) once the first run ends.
 */
export class Lanes<R> {
  private readonly lanes = new Map<string, Lane<R>>();
  private readonly slots: LimitFunction | undefined;
  private stopped = false;
  /** Runs and exclusive work started so far (tests and simulations wait for it to stop moving). */
  started = 0;

  constructor(private readonly options: LanesOptions<R>) {
    this.slots = options.concurrency === undefined ? undefined : pLimit(options.concurrency);
  }

  /** Queues a run of `key`, or merges into the one already queued; resolves when that run is done. */
  request(key: string, request: R): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const lane = this.lane(key);
    if (lane.queued) {
      this.options.merge(lane.queued.request, request);
      return lane.queued.promise;
    }
    const queued: Queued<R> = { promise: Promise.resolve(), request };
    queued.promise = lane.tail.then(async () => {
      lane.queued = null;
      if (this.stopped) return;
      lane.generation++;
      lane.busy = true;
      this.started++;
      try {
        const work = () => this.options.run(key, queued.request);
        await (this.slots ? this.slots(work) : work());
      } catch (error) {
        if (!this.stopped) await this.options.failed(key, error);
      } finally {
        lane.busy = false;
      }
    });
    lane.queued = queued;
    lane.tail = queued.promise;
    return queued.promise;
  }

  /** Runs `work` in the lane of `key` after whatever is queued there, not merged with anything. */
  exclusive(key: string, work: () => Promise<void>): Promise<void> {
    const lane = this.lane(key);
    const run = lane.tail.then(async () => {
      if (this.stopped) return;
      lane.generation++;
      lane.busy = true;
      this.started++;
      try {
        await work();
      } catch (error) {
        await this.options.failed(key, error);
      } finally {
        lane.busy = false;
      }
    });
    lane.tail = run;
    return run;
  }

  /** Each lane's generation now, -1 for busy lanes: read before a snapshot, compared with `generation(key)` when a run starts. */
  generations(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, lane] of this.lanes) out.set(key, lane.busy ? -1 : lane.generation);
    return out;
  }

  /** The generation of `key` (0 for a lane never used). */
  generation(key: string): number {
    return this.lanes.get(key)?.generation ?? 0;
  }

  /**
   * True when nothing ran in `key`'s lane since `generations` was read —
   * inside a run, whose own start already counted once.
   */
  unchangedSince(key: string, generations: ReadonlyMap<string, number>): boolean {
    return (generations.get(key) ?? 0) === this.generation(key) - 1;
  }

  /** No new runs from now on; resolves when the runs in progress are done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  /** Resolves when every lane's work queued so far is done. */
  async idle(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((lane) => lane.tail));
  }

  private lane(key: string): Lane<R> {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { tail: Promise.resolve(), queued: null, generation: 0, busy: false }));
    return lane;
  }
}
