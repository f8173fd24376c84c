// The activator: holds the requests nginx sends while an endpoint has no serving instance, and proxies them to the first instance that serves (scale from zero, after Knative's activator).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend, EndpointView } from '../endpoints/backends.js';
import type { EndpointViews, EndpointViewsAnswer } from '../endpoints/views.js';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import type { Logger } from '../log/logger.js';
import { ControlEventKinds } from '../model/events.js';
import { ENDPOINT_HEADER as NGINX_ENDPOINT_HEADER } from '../nginx/render.js';
import { systemTime, type Time, type Timer } from '../time/timers.js';
import { splitAddress } from './probe.js';

/** The header nginx names the endpoint (group) with, as Node spells header names (lower case). */
const ENDPOINT_HEADER = NGINX_ENDPOINT_HEADER.toLowerCase();
/** Seconds a refused client is told to wait: the queue drains as soon as the first instance serves, about a container start away. */
export const RETRY_AFTER_SECONDS = 1;
/** Refusals and timeouts of one endpoint are recorded as one event per this long, with their count. */
const FOLD_MS = 1000;
/** Hop-by-hop headers: they describe one connection, not the request, and are not passed on. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', ENDPOINT_HEADER];

export interface ActivatorOptions {
  /** The host's endpoints and backends (shared reads, forgotten on every change: see EndpointViews). */
  views: Pick<EndpointViews, 'read'>;
  bus: EventBus;
  events: EventRecorder;
  /** Hears that a request was held (the surge detector checks every endpoint's held count at once). */
  onHeld?: () => void;
  /** Milliseconds between store reads while requests are held (the safety net beside instance changes); default 100. */
  pollMs?: number;
  time?: Time;
  log: Logger;
}

interface Held {
  req: IncomingMessage;
  res: ServerResponse;
  timer: Timer;
}

interface Queue {
  /** The group's endpoint names, as nginx sent them. */
  names: string[];
  held: Held[];
}

/**
 * Request flow: nginx proxies a request for an endpoint with no instance here
 * (its upstream's only server while `backends` is empty), naming the endpoint
 * in `X-Reactor-Endpoint`. If an instance serves by now, the request goes
 * straight to it. Otherwise it waits in the endpoint's queue (at most
 * `hold_queue`; more get 503 with Retry-After) for at most `hold_timeout`
 * seconds (then 504), and `onHeld` asks for a launch. As soon as the store
 * lists a RUNNING instance (an instance change on the bus, or the poll), every
 * held request is proxied to it through its published port. Refusals and
 * timeouts become events, folded to one per endpoint and second.
 */
export class Activator {
  private server: http.Server | undefined;
  private readonly queues = new Map<string, Queue>();
  /** Each answer of the views by endpoint name, made once per answer. */
  private readonly byName = new WeakMap<EndpointViewsAnswer, Map<string, EndpointView>>();
  private poll: Timer | undefined;
  private unwatch: (() => void) | undefined;
  private next = 0;
  private readonly folded = new Map<string, { endpoint: string; kind: string; count: number; detail: string }>();
  private flushing: Timer | undefined;
  private readonly time: Time;
  /** `127.0.0.1:port` once started: the fallback nginx is given. */
  address = '';

  constructor(private readonly options: ActivatorOptions) {
    this.time = options.time ?? systemTime;
  }

  /** Listens on 127.0.0.1:`port` (the one an earlier server used, so nginx needs no reload), else on any free port. */
  async start(port = 0): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    const listen = (on: number) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(on, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    await listen(port).catch(() => listen(0));
    this.server = server;
    this.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.unwatch = this.options.bus.watch('instanceChanges', (change) => {
      if (this.queued(change.endpoint)) void this.release();
    });
    return this.address;
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    this.poll?.cancel();
    this.poll = undefined;
    for (const queue of this.queues.values()) {
      for (const held of queue.held) {
        held.timer.cancel();
        retryLater(held.res, 'reactor is shutting down\n');
      }
    }
    this.queues.clear();
    this.flushing?.cancel();
    await this.flush();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Requests held now, per endpoint name (each member of a shared URL counts its group's). */
  heldCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const queue of this.queues.values()) {
      for (const name of queue.names) counts.set(name, (counts.get(name) ?? 0) + queue.held.length);
    }
    return counts;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const label = req.headers[ENDPOINT_HEADER];
    if (typeof label !== 'string' || label === '') {
      answer(res, 400, `the activator serves only requests nginx sends it, with an ${ENDPOINT_HEADER} header naming the endpoint\n`);
      return;
    }
    const names = label.split(',');
    let views: Map<string, EndpointView>;
    try {
      views = await this.read();
    } catch (error) {
      retryLater(res, `reading the endpoint failed: ${(error as Error).message}\n`);
      return;
    }
    const members = names.map((name) => views.get(name)).filter((view): view is EndpointView => view !== undefined);
    if (members.length === 0) {
      answer(res, 404, `no endpoint named ${label} is managed\n`);
      return;
    }
    const backends = members.flatMap((view) => view.backends);
    if (backends.length > 0) {
      this.forward(req, res, backends);
      return;
    }
    const { holdQueue, holdTimeout } = members[0].config.scaling;
    let queue = this.queues.get(label);
    if (!queue) this.queues.set(label, (queue = { names, held: [] }));
    if (queue.held.length >= holdQueue) {
      retryLater(res, `no instance of ${label} serves yet and its hold queue (${holdQueue}) is full; retry shortly\n`);
      this.fold(names[0], ControlEventKinds.HELD_REQUESTS_REFUSED, `hold queue of ${holdQueue} full, answered 503`);
      return;
    }
    const held: Held = {
      req,
      res,
      timer: this.time.timers.setTimeout(() => {
        if (!this.drop(label, held)) return;
        answer(res, 504, `no instance of ${label} served within hold_timeout (${holdTimeout} s)\n`);
        this.fold(names[0], ControlEventKinds.HELD_REQUESTS_TIMED_OUT, `no instance served within hold_timeout ${holdTimeout} s, answered 504`);
      }, holdTimeout * 1000),
    };
    queue.held.push(held);
    // A client that gives up leaves the queue.
    res.on('close', () => {
      if (this.drop(label, held)) held.timer.cancel();
    });
    this.options.onHeld?.();
    this.poll ??= this.time.timers.setInterval(() => void this.release(), this.options.pollMs ?? 100);
  }

  /** Removes a held request from its queue; false when it was no longer there (already answered). */
  private drop(label: string, held: Held): boolean {
    const queue = this.queues.get(label);
    const at = queue ? queue.held.indexOf(held) : -1;
    if (!queue || at < 0) return false;
    queue.held.splice(at, 1);
    if (queue.held.length === 0) this.queues.delete(label);
    this.stopPollingIfIdle();
    return true;
  }

  private queued(endpoint: string): boolean {
    for (const queue of this.queues.values()) if (queue.names.includes(endpoint)) return true;
    return false;
  }

  /** Reads the store; every queue whose endpoint now has a serving instance is proxied to it. */
  private async release(): Promise<void> {
    if (this.queues.size === 0) return;
    let views: Map<string, EndpointView>;
    try {
      views = await this.read();
    } catch (error) {
      this.options.log.warn({ component: 'activator', err: error }, `reading the endpoints failed: ${(error as Error).message}`);
      return;
    }
    for (const [label, queue] of [...this.queues]) {
      const backends = queue.names.flatMap((name) => views.get(name)?.backends ?? []);
      if (backends.length === 0) continue;
      this.queues.delete(label);
      for (const held of queue.held) {
        held.timer.cancel();
        this.forward(held.req, held.res, backends);
      }
    }
    this.stopPollingIfIdle();
  }

  /** The poll runs only while some request is held. */
  private stopPollingIfIdle(): void {
    if (this.queues.size > 0) return;
    this.poll?.cancel();
    this.poll = undefined;
  }

  /**
   * The endpoints by name. Callers that ask while a read is under way share
   * it, and one that asks after an instance change gets a read that began
   * after it (EndpointViews forgets its answer before this activator's
   * watcher runs), so each caller uses the answer it got itself.
   */
  private async read(): Promise<Map<string, EndpointView>> {
    const answer = await this.options.views.read();
    let views = this.byName.get(answer);
    if (!views) this.byName.set(answer, (views = new Map(answer.views.map((view) => [view.record.name, view]))));
    return views;
  }

  /** Proxies one request to one of `backends` (round robin), streaming both ways. */
  private forward(req: IncomingMessage, res: ServerResponse, backends: readonly Backend[]): void {
    if (res.writableEnded || res.destroyed) return;
    const backend = backends[this.next++ % backends.length];
    const [host, port] = splitAddress(backend.address);
    const headers = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    const upstream = http.request(
      { host, port, method: req.method, path: req.url, headers, agent: false, insecureHTTPParser: true },
      (response) => {
        const out = { ...response.headers };
        for (const name of HOP_BY_HOP) delete out[name];
        res.writeHead(response.statusCode ?? 502, response.statusMessage, out);
        response.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) answer(res, 502, `instance ${backend.address} failed: ${error.message}\n`);
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  /** Counts one refusal or timeout; they are recorded together once per FOLD_MS, so a flood writes one event a second. */
  private fold(endpoint: string, kind: string, detail: string): void {
    const key = `${endpoint}\n${kind}`;
    const entry = this.folded.get(key);
    if (entry) entry.count += 1;
    else this.folded.set(key, { endpoint, kind, count: 1, detail });
    this.flushing ??= this.time.timers.setTimeout(() => {
      this.flushing = undefined;
      void this.flush();
    }, FOLD_MS);
  }

  private async flush(): Promise<void> {
    const entries = [...this.folded.values()];
    this.folded.clear();
    for (const { endpoint, kind, count, detail } of entries) {
      await this.options.events
        .record(endpoint, kind, `${count} request${count === 1 ? '' : 's'} to ${endpoint}: ${detail}`, { count, windowMs: FOLD_MS })
        .catch((error: unknown) => this.options.log.error({ component: 'activator', err: error }, `recording an event failed: ${(error as Error).message}`));
    }
  }
}

function answer(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** 503 with Retry-After: the request may succeed once an instance serves, about a container start away. */
function retryLater(res: ServerResponse, text: string): void {
  answer(res, 503, text, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}
