// Feeds the local event bus from the store, so every server's subscribers and roles see what any server stored, exactly once and in the store's order.
import type { DecisionRecord, EventRecord, MetricSampleRecord, Store } from '../store/types.js';
import type { Time, Timer } from '../time/timers.js';
import type { EventBus } from './bus.js';
import { instanceChangeFromEvent } from './instance-change.js';
import type { Logger } from '../log/logger.js';

export interface StoreFeedOptions {
  store: Store;
  bus: EventBus;
  time: Time;
  /** Milliseconds between polls of each log; default 100. */
  pollMs?: number;
  /**
   * How long a gap in the sequence is waited for before it is skipped;
   * default 2,000 ms. A gap is a writer that drew its number but has not
   * stored its item yet (or died in between).
   */
  gapWaitMs?: number;
  /**
   * Called when items may have been missed: a poll failed, or a gap was
   * skipped. Whoever keeps state up to date from the items (the API's read
   * cache) must then forget it.
   */
  onMissed?: () => void;
  log: Logger;
}

interface Cursor<T> {
  name: string;
  read: (afterSeq: number) => Promise<(T & { seq?: number })[]>;
  deliver: (item: T) => void;
  /** The highest sequence number delivered (everything up to it was delivered or skipped as a gap). */
  seq: number;
  /** When the current gap was first seen (time.now() ms), or null. */
  gapSince: number | null;
}

/** A cursor at the start of its log. */
function cursor<T>(name: string, read: Cursor<T>['read'], deliver: Cursor<T>['deliver']): Cursor<T> {
  return { name, read, deliver, seq: 0, gapSince: null };
}

/** Milliseconds between polls when `pollMs` is not given. */
const POLL_MS = 100;

/** Items read per log per poll. */
const PAGE = 500;

/**
 * With several servers on one store, the store is where events meet: each
 * server polls the three logs (events, samples, decisions) for items after
 * the last sequence number it delivered and publishes them on its bus, in
 * sequence order, once each. Its own writes come back the same way (the bus
 * is `fedByStore`, so direct publishes are ignored), which keeps one order
 * for everything. Change streams would avoid polling, but need a replica set
 * and FerretDB has none; this path is the one that can be tested here.
 *
 * Sequence numbers are drawn before an item is stored, so a reader can see
 * number 12 before 11 is stored. The feed then waits for 11, up to
 * `gapWaitMs`, and skips it after that (its writer died between drawing and
 * storing: nothing was acknowledged for it).
 */
export class StoreFeed {
  private readonly cursors: Cursor<unknown>[];
  private timer: Timer | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  /** The message of the failure the feed is in, said once (not ten times a second) until a poll works again. */
  private failing: string | null = null;

  constructor(private readonly options: StoreFeedOptions) {
    const { store, bus } = options;
    this.cursors = [
      cursor<EventRecord>('events', (afterSeq) => store.events.list(undefined, { afterSeq, limit: PAGE }), (event) => {
        bus.deliver('endpointEvents', event);
        const change = instanceChangeFromEvent(event);
        if (change) bus.deliver('instanceChanges', change);
      }),
      cursor<MetricSampleRecord>('metric samples', (afterSeq) => store.samples.list(undefined, { afterSeq, limit: PAGE }), (sample) =>
        bus.deliver('metricSamples', sample),
      ),
      cursor<DecisionRecord>('decisions', (afterSeq) => store.decisions.list(undefined, { afterSeq, limit: PAGE }), (decision) =>
        bus.deliver('scalingDecisions', decision),
      ),
    ] as Cursor<unknown>[];
  }

  /** Starts after what is stored now (history is the subscriptions' afterId replay), then polls. */
  async start(): Promise<void> {
    const { store } = this.options;
    const [event, sample, decision] = await Promise.all([
      store.events.list(undefined, { limit: 1 }),
      store.samples.list(undefined, { limit: 1 }),
      store.decisions.list(undefined, { limit: 1 }),
    ]);
    [event, sample, decision].forEach((latest, n) => (this.cursors[n]!.seq = latest[0]?.seq ?? 0));
    this.timer = this.options.time.timers.setInterval(() => void this.poll(), this.options.pollMs ?? POLL_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.polling;
  }

  /** One poll of every log (polls never overlap). */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.polling ??= (async () => {
      try {
        for (const cursor of this.cursors) await this.advance(cursor);
        if (this.failing !== null) this.options.log.info({ component: 'feed' }, 'reading the store works again');
        this.failing = null;
      } catch (error) {
        const message = (error as Error).message;
        if (this.failing !== message) {
          this.options.log.error({ component: 'feed', err: error }, `reading the store failed: ${message}; trying again every ${this.options.pollMs ?? POLL_MS} ms`);
        }
        this.failing = message;
        this.options.onMissed?.();
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private async advance(cursor: Cursor<unknown>): Promise<void> {
    for (;;) {
      const items = await cursor.read(cursor.seq);
      for (const item of items) {
        const seq = item.seq;
        if (seq === undefined || seq <= cursor.seq) continue;
        if (seq !== cursor.seq + 1) {
          const now = this.options.time.now().getTime();
          cursor.gapSince ??= now;
          if (now - cursor.gapSince < (this.options.gapWaitMs ?? 2000)) return;
          this.options.log.warn({ component: 'feed' }, `${cursor.name} ${cursor.seq + 1}..${seq - 1} never arrived; going on from ${seq}`);
          this.options.onMissed?.();
        }
        cursor.gapSince = null;
        cursor.seq = seq;
        cursor.deliver(item);
      }
      if (items.length < PAGE) return;
    }
  }
}
