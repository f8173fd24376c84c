// Keeps nginx in step with the store: on instance and endpoint events and on a timer, builds the balanced endpoints and applies them.
import { parseEndpointUrl } from '../config/endpoint.js';
import type { EndpointView } from '../endpoints/backends.js';
import type { EndpointViews } from '../endpoints/views.js';
import type { EventBus } from '../events/bus.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { RECONFIGURING_KINDS } from '../model/events.js';
import type { EventRecord } from '../store/types.js';
import { Rerun } from '../lanes/rerun.js';
import type { BalancedEndpoint } from './render.js';
import type { ApplyResult } from './transaction.js';

/**
 * The endpoints nginx balances: those with `loadbalancer=nginx`. With a
 * `fallback` (this host's activator), an endpoint that may launch (RUNNING,
 * max_instances > 0, hold_queue > 0) and has no redirect is sent there while
 * no instance serves, so requests are held instead of answered 502.
 */
export function toBalanced(views: readonly EndpointView[], fallback?: string): BalancedEndpoint[] {
  return views
    .filter((view) => view.config.endpoint.loadbalancer === 'nginx')
    .map((view) => {
      const { scaling, nginx } = view.config;
      const holds = fallback !== undefined && view.record.state === 'RUNNING' && scaling.maxInstances > 0 && scaling.holdQueue > 0 && !nginx.redirect;
      return {
        name: view.record.name,
        url: parseEndpointUrl(view.config.endpoint.url),
        nginx,
        weight: view.config.endpoint.weight,
        backends: view.backends,
        ...(holds ? { fallback } : {}),
      };
    });
}

export interface BalancerTarget {
  apply(endpoints: readonly BalancedEndpoint[]): Promise<ApplyResult>;
}

export interface BalancerSyncOptions {
  /**
   * The host's endpoints and backends. It must be built before `start()`: its
   * bus watchers then forget its answer before this sync's subscriptions wake
   * for the same change, so the sync they trigger reads the store anew.
   */
  views: Pick<EndpointViews, 'read'>;
  bus: EventBus;
  driver: BalancerTarget;
  /** Where requests go while an endpoint has no instance (the activator's `host:port`); absent = 502 or redirect. */
  fallback?: string;
  /** Safety-net poll (changes made by other processes reach no local bus). Default 2 s. */
  pollMs?: number;
  log?: Logger;
}

/**
 * One sync at a time; triggers that arrive while one runs fold into one
 * more run afterwards, so a burst of instance changes costs two pushes of
 * the peer list (two reloads without the Lua balancer) at most, and the last
 * one always sees the newest store.
 */
export class BalancerSync {
  private readonly syncs = new Rerun(async () => {
    try {
      await this.syncOnce();
    } catch (error) {
      this.log.error({ err: error }, `balancer sync failed: ${(error as Error).message}`);
    }
  }, () => !this.stopped);
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: AsyncIterableIterator<unknown>[] = [];
  private readonly log: Logger;
  /** Outcome of the latest apply (for tests and diagnostics). */
  lastResult: ApplyResult | undefined;

  constructor(private readonly options: BalancerSyncOptions) {
    this.log = (options.log ?? silentLogger).child({ component: 'nginx' });
  }

  /**
   * Syncs on every instance change and on the endpoint events that change
   * what is served (config, state, managed or not); the other events (scaling,
   * custom metrics, the balancer's own reports) change nothing nginx serves.
   */
  start(): Promise<void> {
    for (const topic of ['instanceChanges', 'endpointEvents'] as const) {
      const iterator = this.options.bus.subscribe(topic, { capacity: 100_000 });
      this.subscriptions.push(iterator);
      void (async () => {
        try {
          for (;;) {
            const next = await iterator.next();
            if (next.done || this.stopped) return;
            if (topic === 'instanceChanges' || RECONFIGURING_KINDS.has((next.value as EventRecord).kind)) void this.trigger();
          }
        } catch {
          // ended as a slow consumer: the timer still catches up
        }
      })();
    }
    this.timer = setInterval(() => void this.trigger(), this.options.pollMs ?? 2000);
    this.timer.unref();
    return this.trigger();
  }

  /** Runs a sync now (or once more after the one in progress); resolves when the store's state is applied. */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.syncs.run();
  }

  private async syncOnce(): Promise<void> {
    const { views, problems } = await this.options.views.read();
    for (const problem of problems) this.log.warn({ endpoint: problem.slice(0, problem.indexOf(':')) }, `balancer: ${problem}`);
    this.lastResult = await this.options.driver.apply(toBalanced(views, this.options.fallback));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const iterator of this.subscriptions) await iterator.return?.();
    await this.syncs.current;
  }
}
