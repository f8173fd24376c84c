// Runs Reactor's own nginx under the data directory: the one object the rest of Reactor uses, over the supervisor, the config transaction, the error log and the control client.
import { resolve, join } from 'node:path';
import { systemTime, type Time } from '../time/timers.js';
import { freePort } from '../util/ports.js';
import { ControlClient } from './control-client.js';
import { ErrorLog, fatalLine, firstNginxError, seriousLine } from './error-log.js';
import type { BalancedEndpoint } from './render.js';
import type { DriverReport } from './report.js';
import { NginxSupervisor } from './supervisor.js';
import { ConfigTransaction, type ApplyResult } from './transaction.js';

export interface NginxDriverOptions {
  /** Path of the nginx binary (Debian: /usr/sbin/nginx). */
  binary: string;
  /** The nginx prefix: a directory of its own under the data directory. */
  prefix: string;
  /** Where endpoint servers listen (default 0.0.0.0). */
  listenAddress?: string;
  /** UDP port on 127.0.0.1 where nginx sends access log lines. */
  syslogPort: number;
  report?: (report: DriverReport) => void | Promise<void>;
  log?: (line: string) => void;
  /** How long a reload (or a start) may take to serve the new generation. Default 8 s (nginx retries a busy bind for ~2.5 s). */
  reloadTimeoutMs?: number;
  /** Restart delays after nginx dies: doubles from `initial` up to `max`; reset after 10 s of uptime. */
  restartBackoffMs?: { initial: number; max: number };
  /** Signal-to-exit grace on stop before SIGTERM, then SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
  /** The clock and timers of every wait, poll and restart back-off; default the system's. */
  time?: Time;
}

/** Between two asks of the control server while a change waits to be served. */
const POLL_MS = 20;

/**
 * Usage: `start()` once (an empty configuration: only the loopback control
 * server), then `apply(endpoints)` on every change, `stop()` on shutdown.
 *
 * Every change (a start, an apply, a restart) runs alone, in the order
 * asked. `apply` is the config transaction (src/nginx/transaction.ts); a
 * master that dies is started again by the supervisor
 * (src/nginx/supervisor.ts) on the last good model. Either way a change is
 * done when the control server (src/nginx/control-client.ts) answers its
 * generation, and failed when the error log (src/nginx/error-log.ts) says so.
 */
export class NginxDriver {
  private readonly reloadTimeoutMs: number;
  private readonly time: Time;
  private readonly log: (line: string) => void;
  private readonly errorLog: ErrorLog;
  private readonly control = new ControlClient();
  private readonly supervisor: NginxSupervisor;
  private readonly transaction: ConfigTransaction;
  private started = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: NginxDriverOptions) {
    const prefix = resolve(options.prefix);
    this.reloadTimeoutMs = options.reloadTimeoutMs ?? 8000;
    this.time = options.time ?? systemTime;
    this.log = options.log ?? (() => {});
    this.errorLog = new ErrorLog(join(prefix, 'logs', 'error.log'));
    this.supervisor = new NginxSupervisor({
      binary: options.binary,
      prefix,
      errorLog: this.errorLog,
      backoff: options.restartBackoffMs ?? { initial: 250, max: 30_000 },
      stopTimeoutMs: options.stopTimeoutMs ?? 5000,
      time: this.time,
      log: this.log,
      failed: (report) => void this.emit({ endpoints: this.transaction.current.map((e) => e.name), ...report }),
      restart: () =>
        void this.enqueue(async () => {
          await this.supervisor.endLeftovers();
          await this.spawnMaster();
        }).catch((error: unknown) => this.log(`nginx restart failed: ${(error as Error).message}`)),
    });
    const supervisor = this.supervisor;
    this.transaction = new ConfigTransaction({
      binary: options.binary,
      prefix,
      listenAddress: options.listenAddress ?? '0.0.0.0',
      syslogPort: options.syslogPort,
      controlPort: () => this.control.port,
      nginx: {
        get running() {
          return supervisor.running;
        },
        load: (generation) => {
          const logOffset = this.errorLog.size();
          supervisor.reload();
          return this.awaitGeneration(generation, logOffset);
        },
        reload: () => supervisor.reload(),
      },
      report: (report) => this.emit(report),
    });
  }

  /** The master's pid while it runs. */
  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  /** The endpoints nginx serves now. */
  get current(): readonly BalancedEndpoint[] {
    return this.transaction.current;
  }

  get generation(): number {
    return this.transaction.generation;
  }

  get running(): boolean {
    return this.supervisor.running;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.supervisor.prepare();
    await this.enqueue(() => this.spawnMaster());
  }

  /** Brings nginx in line with `endpoints`; serialized with every other change. */
  apply(endpoints: readonly BalancedEndpoint[]): Promise<ApplyResult> {
    return this.enqueue(async () => {
      if (this.supervisor.stopping) return { status: 'unchanged', generation: this.transaction.generation };
      return this.transaction.apply([...endpoints]);
    });
  }

  /** nginx's stub_status numbers (active connections etc.), or null while it is down. */
  async status(): Promise<Record<string, number> | null> {
    if (!this.running) return null;
    return this.control.status();
  }

  async stop(): Promise<void> {
    this.supervisor.halt();
    await this.queue.catch(() => undefined);
    await this.supervisor.stop();
    this.started = false;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Starts a master on the last good model (a fresh control port each time, in case the old one was taken). */
  private async spawnMaster(): Promise<void> {
    if (this.supervisor.stopping) return;
    this.control.port = await freePort();
    const generation = await this.transaction.writeForStart();
    const logOffset = this.errorLog.size();
    const pid = this.supervisor.spawn(this.transaction.confPath);
    const outcome = await this.awaitGeneration(generation, logOffset);
    if (outcome === true) {
      this.transaction.started(generation);
      this.log(`nginx started (pid ${pid}, prefix ${resolve(this.options.prefix)}, generation ${generation})`);
      this.supervisor.healthy();
    } else {
      this.log(`nginx did not come up: ${outcome}`);
    }
  }

  /** true once the control server answers `generation`; otherwise nginx's error (from its log), or a timeout. */
  private async awaitGeneration(generation: number, logOffset: number): Promise<true | string> {
    const now = () => this.time.now().getTime();
    const deadline = now() + this.reloadTimeoutMs;
    for (;;) {
      if ((await this.control.generation()) === generation) return true;
      const fresh = this.errorLog.since(logOffset);
      const fatal = fatalLine(fresh);
      if (fatal) return firstNginxError(fatal);
      if (this.supervisor.down) return 'nginx is not running';
      if (now() > deadline) {
        const seen = seriousLine(fresh);
        return seen ? firstNginxError(seen) : `nginx did not serve generation ${generation} within ${this.reloadTimeoutMs} ms`;
      }
      await this.time.timers.sleep(POLL_MS);
    }
  }

  private async emit(report: DriverReport): Promise<void> {
    this.log(`nginx: ${report.kind}: ${report.message}`);
    try {
      await this.options.report?.(report);
    } catch (error) {
      this.log(`nginx: could not record ${report.kind}: ${(error as Error).message}`);
    }
  }
}
