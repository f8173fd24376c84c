// Prunes endpoint events past their retention, once a minute: the operators' log must not grow without bound.
import type { Store } from '../store/types.js';
import type { Logger } from '../log/logger.js';
import { wallClock } from '../time/timers.js';

/** How often old events are pruned. */
export const EVENT_PRUNE_EVERY_MS = 60_000;

/**
 * Metric samples are pruned by the sampler that writes them and decisions by
 * the controller that keeps them; events are written by every role, so the
 * api of every server prunes them (a no-op when another server just did).
 */
export class EventPruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly store: Store,
    private readonly retentionSeconds: number,
    private readonly log: Logger,
    private readonly clock: () => Date = wallClock,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.prune()
        .catch((error: unknown) => this.log.error({ component: 'events', err: error }, `pruning failed: ${(error as Error).message}`))
        .finally(() => (this.running = undefined));
    }, EVENT_PRUNE_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes events older than the retention; returns how many. */
  prune(): Promise<number> {
    return this.store.events.prune(new Date(this.clock().getTime() - this.retentionSeconds * 1000));
  }
}
