// Work that must see every change asked for, run at most once at a time: a call during a run asks for one more run after it.

/**
 * Why: a balancer sync or a burst check reads the store's state of every
 * endpoint, so calls that arrive while one runs are folded into a single
 * further run (which reads the state as it is then), instead of running side
 * by side or being dropped. `work` handles its own errors; `more` (default
 * always) can end the repeats, e.g. on stop.
 */
export class Rerun {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly more: () => boolean = () => true,
  ) {}

  /** The run in progress (with any run asked for during it), or undefined. */
  get current(): Promise<void> | undefined {
    return this.running;
  }

  /** Runs now, or once more after the run in progress; resolves when a run that began after this call has ended. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.work();
      } while (this.again && this.more());
    })().finally(() => (this.running = undefined));
    return this.running;
  }
}
