// What the hosts report back to the controller through the store: failed launches (for the back-off), instances ERROR or LOST (replaced at once), ready ones, freed slots.
import type { InstanceChangeRecord } from '../events/types.js';
import type { EventRecorder } from '../events/recorder.js';
import { InstanceEventKinds } from '../model/events.js';
import type { Store } from '../store/types.js';
import type { LaunchBackoff } from './backoff.js';
import type { Logger } from '../log/logger.js';

export interface HostReportsOptions {
  store: Store;
  events: EventRecorder;
  backoff: LaunchBackoff;
  /** The controller's clock, epoch ms. */
  now: () => number;
  /** A trigger round of `endpoint`. */
  reconcile: (endpoint: string, cause: string) => void;
  log: Logger;
}

/**
 * A host writes what it saw on the instance record, with a `failure` kind in
 * the change's data when a launch failed (IMAGE_UNAVAILABLE, BAD_SPEC,
 * ENGINE), an instance never became ready (NOT_READY) or died before it did
 * (EXITED_BEFORE_READY). The controller hears every change through the bus
 * (fed from the store in a cluster) and reacts here:
 * - a failed launch counts for the endpoint's back-off, and a missing image
 *   is told once per attempt with when the next one comes;
 * - an instance ERROR or LOST, or sent back to PENDING, starts a round at
 *   once (it is replaced within the held count);
 * - an instance that became ready clears the back-off;
 * - a removal frees slots: endpoints with instances waiting get a round.
 */
export class HostReports {
  private kick: Promise<void> | undefined;

  constructor(private readonly options: HostReportsOptions) {}

  heard(change: InstanceChangeRecord): void {
    const { instance } = change;
    const endpoint = change.endpoint;
    if (change.change === 'REMOVED') {
      this.kickPending(endpoint);
      return;
    }
    if (instance.status === 'RUNNING' && change.data?.ready) {
      this.options.backoff.clear(endpoint);
      return;
    }
    const failure = typeof change.data?.failure === 'string' ? change.data.failure : undefined;
    if (failure && failure !== 'HEALTH_CHECK') {
      const delay = this.options.backoff.fail(endpoint, this.options.now());
      if (delay !== null && failure === 'IMAGE_UNAVAILABLE') void this.imageUnavailable(change, delay);
    }
    if (instance.status === 'ERROR' || instance.status === 'LOST' || (instance.status === 'PENDING' && failure)) {
      this.options.reconcile(endpoint, `instance ${instance.status}`);
    }
  }

  /** Re-runs the endpoints whose instances wait for room (once per turn of removals). */
  kickPending(except: string): void {
    if (this.kick) return;
    this.kick = Promise.resolve().then(async () => {
      this.kick = undefined;
      const waiting = new Set((await this.options.store.instances.list()).filter((i) => i.status === 'PENDING' && i.endpoint !== except).map((i) => i.endpoint));
      for (const endpoint of waiting) this.options.reconcile(endpoint, 'slots freed');
    });
    void this.kick.catch((error: unknown) => this.options.log.error({ err: error }, `re-running pending endpoints failed: ${(error as Error).message}`));
  }

  private async imageUnavailable(change: InstanceChangeRecord, delayMs: number): Promise<void> {
    const { failure: _failure, message, instanceId: _id, ...details } = change.data ?? {};
    await this.options.events
      .record(
        change.endpoint,
        InstanceEventKinds.IMAGE_UNAVAILABLE,
        `${String(message)}; next attempt in ${Math.ceil(delayMs / 1000)} s`,
        { ...details, retryInMs: delayMs },
        // The same failure whatever the back-off: one event with a count, not one per retry.
        { sameAs: String(message) },
      )
      .catch((error: unknown) => this.options.log.error({ endpoint: change.endpoint, err: error }, (error as Error).message));
  }
}
