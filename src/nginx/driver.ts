// Runs Reactor's own nginx under the data directory: the one object the rest of Reactor uses, over the supervisor, the config transaction, the error log and the control client.
import { mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { silentLogger, type Logger } from '../log/logger.js';
import { systemTime, type Time } from '../time/timers.js';
import { freePort } from '../util/ports.js';
import { ControlClient } from './control-client.js';
import { ensureControlToken } from './control-token.js';
import { ErrorLog, fatalLine, firstNginxError, seriousLine } from './error-log.js';
import { findLuaSetup, LUA_MODULE, LUA_SOURCE, type LuaSetup } from './lua-balancer.js';
import type { BalancedEndpoint } from './render.js';
import type { DriverReport } from './report.js';
import { readBalancerState, writeBalancerState } from './state-file.js';
import { NginxSupervisor } from './supervisor.js';
import { ConfigTransaction, writeFileAtomic, type ApplyResult } from './transaction.js';

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
  log?: Logger;
  /** How long a reload (or a start) may take to serve the new generation. Default 8 s (nginx retries a busy bind for ~2.5 s). */
  reloadTimeoutMs?: number;
  /** Delays before the second and later restarts of a master that keeps dying young: doubles from `initial` up to `max` (the first restart is at once). */
  restartBackoffMs?: { initial: number; max: number };
  /** How often an adopted master is checked for life; default 100 ms. */
  adoptedPollMs?: number;
  /** Signal-to-exit grace on stop before SIGTERM, then SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
  /** The clock and timers of every wait, poll and restart back-off; default the system's. */
  time?: Time;
  /**
   * The Lua balancer's modules (membership changes without a reload);
   * default: found where Debian's libnginx-mod-http-lua puts them. `null`:
   * none, every change reloads.
   */
  lua?: LuaSetup | null;
}

/** Between two asks of the control server while a change waits to be served. */
const POLL_MS = 20;

/** What the driver has done since it started, for /metrics. */
export interface DriverStats {
  /** Reloads asked of the master (SIGHUP with a new configuration). */
  reloads: number;
  /** Masters started again after one died. */
  restarts: number;
  /** Membership changes pushed to the Lua balancer (no reload). */
  peerUpdates: number;
}

/**
 * Usage: `start()` once, then `apply(endpoints)` on every change, and on
 * shutdown `detach()` (nginx goes on serving the last good configuration)
 * or `stop()` (nginx ends too).
 *
 * `start()` adopts the master an earlier server left running on this prefix
 * (its pid, control port, generation and model are in
 * src/nginx/state-file.ts), so restarting Reactor neither stops nor reloads
 * nginx; otherwise it ends what a crashed run left and starts a master with
 * an empty configuration (only the loopback control server).
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
  private readonly log: Logger;
  readonly stats: DriverStats = { reloads: 0, restarts: 0, peerUpdates: 0 };
  /** The Lua balancer's modules, or undefined when every change reloads. */
  readonly lua: LuaSetup | undefined;
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
    this.log = (options.log ?? silentLogger).child({ component: 'nginx' });
    this.errorLog = new ErrorLog(join(prefix, 'logs', 'error.log'));
    this.supervisor = new NginxSupervisor({
      binary: options.binary,
      prefix,
      errorLog: this.errorLog,
      backoff: options.restartBackoffMs ?? { initial: 250, max: 30_000 },
      stopTimeoutMs: options.stopTimeoutMs ?? 5000,
      adoptedPollMs: options.adoptedPollMs,
      time: this.time,
      log: this.log,
      failed: (report) => void this.emit({ endpoints: this.transaction.current.map((e) => e.name), ...report }),
      restart: () =>
        void this.enqueue(async () => {
          this.stats.restarts += 1;
          // The dead master's workers still serve (reuseport): start the new master beside them, then
          // end them once it serves. If it could not bind (they held a port without reuseport), end them
          // now, so the next restart can.
          await this.spawnMaster();
          // Stopping (or detaching) meanwhile: the old workers are the last thing still serving; leave them.
          if (!this.supervisor.stopping) await this.supervisor.endLeftovers();
        }).catch((error: unknown) => this.log.error({ err: error }, `nginx restart failed: ${(error as Error).message}`)),
    });
    const supervisor = this.supervisor;
    this.lua = (options.lua === undefined ? findLuaSetup() : options.lua) ?? undefined;
    this.transaction = new ConfigTransaction({
      lua: this.lua,
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
          this.stats.reloads += 1;
          supervisor.reload();
          return this.awaitGeneration(generation, logOffset);
        },
        reload: () => supervisor.reload(),
        push: async (peers) => {
          const outcome = await this.control.putPeers(peers);
          if (outcome === true) this.stats.peerUpdates += 1;
          else this.log.warn(`nginx: the peer list was not taken (${outcome}); the next sync tries again`);
          return outcome;
        },
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

  /** Whether the running master was adopted from an earlier server. */
  get adopted(): boolean {
    return this.supervisor.isAdopted;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.supervisor.prepare();
    if (this.lua) {
      // Loaded by the master at every start and reload (workers inherit it): no worker needs to read it.
      const dir = join(resolve(this.options.prefix), 'lua');
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, `${LUA_MODULE}.lua`), LUA_SOURCE);
      // The file's token when there is one: an adopted master loaded it, and only it opens the peer list.
      this.control.token = ensureControlToken(resolve(this.options.prefix));
    }
    await this.enqueue(async () => {
      if (await this.adoptRunning()) return;
      // What an earlier run left (workers of a dead master, a master that does not answer) may still be
      // serving: start beside it (reuseport), then end it; if it held a port without reuseport, the new
      // master could not bind and its restart comes after the leftovers are gone.
      await this.spawnMaster();
      await this.supervisor.endLeftovers();
    });
  }

  /** Brings nginx in line with `endpoints`; serialized with every other change. */
  apply(endpoints: readonly BalancedEndpoint[]): Promise<ApplyResult> {
    return this.enqueue(async () => {
      if (this.supervisor.stopping) return { status: 'unchanged', generation: this.transaction.generation };
      const result = await this.transaction.apply([...endpoints]);
      if (result.status === 'applied' || result.partial) this.persist();
      return result;
    });
  }

  /** nginx's stub_status numbers (active connections etc.), or null while it is down. */
  async status(): Promise<Record<string, number> | null> {
    if (!this.running) return null;
    return this.control.status();
  }

  /** Ends nginx: traffic to every endpoint stops. */
  async stop(): Promise<void> {
    this.supervisor.halt();
    await this.queue.catch(() => undefined);
    await this.supervisor.stop();
    this.started = false;
  }

  /** Lets nginx go on serving the last good configuration without us; the next server on this prefix adopts it. */
  async detach(): Promise<void> {
    this.supervisor.halt();
    await this.queue.catch(() => undefined);
    const pid = this.supervisor.pid;
    this.supervisor.detach();
    this.started = false;
    if (pid !== undefined) this.log.info({ nginxPid: pid }, `nginx (pid ${pid}) keeps serving generation ${this.transaction.generation} after this server stops`);
  }

  /**
   * Adopts the master the state file names, if it still runs on this prefix
   * and its control server answers: no restart and, if the endpoints are the
   * same, no reload. Otherwise false (the caller ends it and starts anew).
   */
  private async adoptRunning(): Promise<boolean> {
    const prefix = resolve(this.options.prefix);
    const state = readBalancerState(prefix);
    if (!state || !this.supervisor.isMasterOfPrefix(state.pid)) return false;
    this.control.port = state.controlPort;
    const generation = await this.control.generation();
    if (generation === null) {
      this.log.warn({ nginxPid: state.pid }, `nginx (pid ${state.pid}) runs but its control server does not answer; starting a new one`);
      return false;
    }
    this.supervisor.adopt(state.pid);
    const stale = generation !== state.generation || state.renderKey !== this.transaction.renderKey();
    this.transaction.restore(state.model, generation, stale);
    this.log.info(
      { nginxPid: state.pid, generation, endpoints: state.model.length, reload: stale },
      `nginx (pid ${state.pid}) adopted, serving generation ${generation}${stale ? '; it will be reloaded (its settings changed)' : ''}`,
    );
    this.supervisor.healthy();
    this.persist();
    // Orphaned workers of an earlier master (not the adopted one's own) would share its ports.
    await this.supervisor.endLeftovers();
    return true;
  }

  /** Records what the master serves, for the next server to adopt it. */
  private persist(): void {
    const pid = this.supervisor.pid;
    if (pid === undefined || !this.supervisor.running) return;
    try {
      writeBalancerState(resolve(this.options.prefix), {
        pid,
        controlPort: this.control.port,
        syslogPort: this.options.syslogPort,
        generation: this.transaction.generation,
        renderKey: this.transaction.renderKey(),
        model: [...this.transaction.current],
      });
    } catch (error) {
      this.log.warn({ err: error }, `nginx: could not write its state file: ${(error as Error).message}`);
    }
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
      this.log.info({ nginxPid: pid, prefix: resolve(this.options.prefix), generation }, `nginx started (pid ${pid}, generation ${generation})`);
      this.supervisor.healthy();
      this.persist();
    } else {
      this.log.error({ nginxPid: pid }, `nginx did not come up: ${outcome}`);
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
    const level = report.kind === 'BALANCER_RESTARTED' || report.kind === 'BALANCER_PEER_DROPPED' ? 'warn' : 'error';
    const about = report.endpoints.length === 1 ? { endpoint: report.endpoints[0] } : { endpoints: report.endpoints };
    this.log[level]({ ...about, kind: report.kind }, report.message);
    try {
      await this.options.report?.(report);
    } catch (error) {
      this.log.error({ kind: report.kind }, `could not record ${report.kind}: ${(error as Error).message}`);
    }
  }
}
