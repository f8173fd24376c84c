// Readiness and health on this host: a STARTING instance becomes RUNNING once it answers, and a RUNNING one that fails error_marks checks in a row becomes ERROR.
import type { EndpointConfig } from '../config/model.js';
import type { InstanceService } from '../instances/service.js';
import type { Logger } from '../log/logger.js';
import { InstanceEventKinds } from '../model/events.js';
import type { InstanceRecord, Store } from '../store/types.js';
import type { Time } from '../time/timers.js';
import type { ReadinessProbe } from './probe.js';

export interface HealthOptions {
  store: Store;
  instances: InstanceService;
  time: Time;
  probe: ReadinessProbe;
  /** Milliseconds between readiness probes of a starting instance. */
  pollMs: number;
  /** Runs a change to an endpoint's records in that endpoint's lane (after the sync in progress). */
  exclusive: (endpoint: string, work: () => Promise<void>) => Promise<void>;
  /** The endpoint's configuration now (null when it is gone or does not parse). */
  configOf: (endpoint: string) => Promise<EndpointConfig | null>;
  log: Logger;
}

/**
 * Readiness: one watcher per STARTING instance probes its address every
 * `pollMs` until it answers (→ RUNNING) or `unregistered_timeout` passes
 * after its creation (→ ERROR, with failure NOT_READY so the controller
 * counts a failed launch and replaces it).
 *
 * Health: `check` probes every RUNNING instance once; `error_marks` failures
 * in a row mark it ERROR (the controller replaces it); a success clears its
 * marks.
 */
export class Health {
  private readonly failures = new Map<string, number>();
  private readonly watchers = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Per endpoint: instances that answered, waiting for one turn in its lane to be marked RUNNING together. */
  private readonly answered = new Map<string, { instances: InstanceRecord[]; marked: Promise<void> }>();
  private stopped = false;

  constructor(private readonly options: HealthOptions) {}

  /** Starts waiting for a STARTING instance to answer, unless a watcher already does. */
  watch(instance: InstanceRecord, config?: EndpointConfig | null): void {
    if (this.stopped || this.watchers.has(instance.id) || !instance.address) return;
    const { probe, time, pollMs, exclusive } = this.options;
    const abort = new AbortController();
    const done = (async () => {
      const settings = config ?? (await this.options.configOf(instance.endpoint));
      const timeoutMs = (settings?.endpoint.unregisteredTimeout ?? 120) * 1000;
      const healthPath = settings?.endpoint.healthPath ?? '';
      const deadline = instance.createdAt.getTime() + timeoutMs;
      while (!abort.signal.aborted) {
        if (await probe(instance.address!, healthPath)) {
          await this.ready(instance);
          return;
        }
        if (time.now().getTime() > deadline) {
          await exclusive(instance.endpoint, () => this.markUnready(instance, timeoutMs));
          return;
        }
        await time.timers.sleep(pollMs, abort.signal);
      }
    })()
      .catch((error: unknown) =>
        this.options.log.error({ component: 'host', endpoint: instance.endpoint, instance: instance.id }, `readiness of ${instance.id}: ${(error as Error).message}`),
      )
      .finally(() => this.watchers.delete(instance.id));
    this.watchers.set(instance.id, { abort, done });
  }

  /** Stops watching an instance (it is going away). */
  forget(instanceId: string): void {
    this.failures.delete(instanceId);
    this.watchers.get(instanceId)?.abort.abort();
  }

  /** Probes every RUNNING instance once; true if any was marked ERROR. */
  async check(instances: readonly InstanceRecord[], config: EndpointConfig): Promise<boolean> {
    const running = instances.filter((i) => i.status === 'RUNNING' && i.address);
    const marks = config.endpoint.errorMarks;
    const healthPath = config.endpoint.healthPath;
    // All probes at once; the bookkeeping after, in one pass (no async closure per instance: this runs for every instance each interval).
    const answers = await Promise.all(running.map((i) => this.options.probe(i.address!, healthPath).catch(() => false)));
    let marked = false;
    const failing: Promise<unknown>[] = [];
    for (let n = 0; n < running.length; n++) {
      const instance = running[n];
      if (answers[n]) {
        if (this.failures.size > 0) this.failures.delete(instance.id);
        continue;
      }
      const failures = (this.failures.get(instance.id) ?? 0) + 1;
      this.failures.set(instance.id, failures);
      if (failures < marks) continue;
      this.failures.delete(instance.id);
      marked = true;
      const why = `failed ${failures} health checks in a row (GET ${healthPath || '/'} at ${instance.address}; error_marks ${marks})`;
      failing.push(
        this.options.instances.change(
          instance.id,
          { status: 'ERROR', reason: why },
          InstanceEventKinds.INSTANCE_ERROR,
          `instance ${instance.id} failed: ${why}; replacing it`,
          { failure: 'HEALTH_CHECK', errorMarks: marks },
          { status: ['RUNNING'] },
        ),
      );
    }
    await Promise.all(failing);
    return marked;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const watcher of this.watchers.values()) watcher.abort.abort();
    await Promise.all([...this.watchers.values()].map((w) => w.done));
  }

  /**
   * Marks an instance that answered RUNNING in its endpoint's lane. The ones
   * that answer while that turn waits (a round's launches answer together)
   * share it and are written side by side, not one turn each: the last of
   * them reaches the balancers a store write or two after its answer, not
   * one per instance before it.
   */
  private ready(instance: InstanceRecord): Promise<void> {
    const waiting = this.answered.get(instance.endpoint);
    if (waiting) {
      waiting.instances.push(instance);
      return waiting.marked;
    }
    const batch = { instances: [instance], marked: Promise.resolve() };
    this.answered.set(instance.endpoint, batch);
    batch.marked = this.options.exclusive(instance.endpoint, async () => {
      this.answered.delete(instance.endpoint);
      await Promise.all(batch.instances.map((answered) => this.markReady(answered)));
    });
    return batch.marked;
  }

  private async markReady(instance: InstanceRecord): Promise<void> {
    const current = await this.options.store.instances.get(instance.id);
    if (!current || current.status !== 'STARTING' || current.containerId !== instance.containerId) return;
    await this.options.instances.change(
      instance.id,
      { status: 'RUNNING', reason: null },
      InstanceEventKinds.INSTANCE_RUNNING,
      `instance ${instance.id} is running at ${current.address}`,
      { ready: true },
      { status: ['STARTING'] },
    );
  }

  private async markUnready(instance: InstanceRecord, timeoutMs: number): Promise<void> {
    const current = await this.options.store.instances.get(instance.id);
    if (!current || current.status !== 'STARTING' || current.containerId !== instance.containerId) return;
    const why = `not ready ${timeoutMs / 1000} s after it was created (unregistered_timeout)`;
    await this.options.instances.change(
      instance.id,
      { status: 'ERROR', reason: why },
      InstanceEventKinds.INSTANCE_ERROR,
      `instance ${instance.id} failed: ${why}`,
      { failure: 'NOT_READY', message: why },
      { status: ['STARTING'] },
    );
  }
}
