// Supervises Reactor's private nginx master: starts it on its prefix, restarts it with back-off when it dies, stops it, and ends leftover processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EventKinds } from '../model/events.js';
import { firstNginxError, type ErrorLog } from './error-log.js';
import { NGINX_TEMP_KINDS } from './render.js';
import type { DriverReport } from './report.js';
import type { Time, Timer } from '../time/timers.js';

/** A master that ran this long before it died starts the back-off over. */
const STABLE_UPTIME_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * nginx processes of this prefix: those holding its error log open (the
 * master and every worker do). nginx rewrites its argv/environ area for the
 * process title, so the open log file is the mark that survives; the
 * command line must also read "nginx" so a `tail -f` is never touched.
 */
export function markedProcesses(prefix: string): number[] {
  const errorLog = join(resolve(prefix), 'logs', 'error.log');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!/^nginx\b/.test(cmdline) && !/\/nginx\0/.test(cmdline)) continue;
      const holds = readdirSync(`/proc/${entry}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${entry}/fd/${fd}`) === errorLog;
        } catch {
          return false;
        }
      });
      if (holds) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

export interface NginxSupervisorOptions {
  /** Path of the nginx binary. */
  binary: string;
  /** The nginx prefix, absolute. */
  prefix: string;
  errorLog: ErrorLog;
  /** Restart delays after nginx dies: doubles from `initial` up to `max`; reset after 10 s of uptime. */
  backoff: { initial: number; max: number };
  /** Signal-to-exit grace on stop before SIGTERM, then SIGKILL. */
  stopTimeoutMs: number;
  /** The clock of the uptime and the timers of the back-off and of every wait. */
  time: Time;
  log: (line: string) => void;
  /** nginx died unasked: what to tell operators (once per distinct failure; every kill by a signal). */
  failed: (report: Omit<DriverReport, 'endpoints'>) => void;
  /** The back-off has passed: start a new master now (the owner serializes this with its other changes). */
  restart: () => void;
}

/**
 * Usage: `prepare()`, then `spawn(conf)`; `reload()` has the master read its
 * file again; `halt()` then `stop()` on shutdown.
 *
 * When the master dies, the owner hears `failed`, and after the back-off
 * `restart` (which ends leftovers and spawns again). Orphaned workers of a
 * dead master would hold the ports, so every start ends them first.
 */
export class NginxSupervisor {
  private child: ChildProcess | undefined;
  private childStderr = '';
  private startedAt = 0;
  private failures = 0;
  private restartTimer: Timer | undefined;
  private lastFailure: string | undefined;
  private halted = false;

  constructor(private readonly options: NginxSupervisorOptions) {}

  /** The master's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** No master process at all: not started yet, or dead and waiting for its restart. */
  get down(): boolean {
    return this.child === undefined;
  }

  /** Shutting down: no restart and no new master until `prepare()`. */
  get stopping(): boolean {
    return this.halted;
  }

  /** Makes the prefix's directories and ends what a crashed run left behind; undoes `halt()`. */
  async prepare(): Promise<void> {
    this.halted = false;
    const { prefix } = this.options;
    for (const dir of ['logs', 'temp', 'certs']) mkdirSync(join(prefix, dir), { recursive: true });
    for (const kind of NGINX_TEMP_KINDS) {
      const dir = join(prefix, 'temp', kind);
      mkdirSync(dir, { recursive: true });
      // Workers run as nobody when we are root; they write proxy buffers here.
      if (process.getuid?.() === 0) chownSync(dir, 65534, 65534);
    }
    await this.endLeftovers();
  }

  /** Starts a master on `confPath`; returns its pid. */
  spawn(confPath: string): number | undefined {
    const { binary, prefix } = this.options;
    const child = spawn(binary, ['-p', `${prefix}/`, '-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.childStderr = '';
    this.startedAt = this.now();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.childStderr = (this.childStderr + chunk).slice(-4096);
    });
    child.on('error', (error) => this.options.log(`nginx: ${error.message}`));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    return child.pid;
  }

  /** The master serves: a failure after this is news again. */
  healthy(): void {
    this.lastFailure = undefined;
  }

  /** Has the master read its configuration file again (SIGHUP). */
  reload(): void {
    this.child?.kill('SIGHUP');
  }

  /** No more restarts: cancels a pending one. `stop()` ends the processes. */
  halt(): void {
    this.halted = true;
    this.restartTimer?.cancel();
    this.restartTimer = undefined;
  }

  /** Ends the master (SIGQUIT, then SIGTERM, then SIGKILL) and every process left of the prefix. */
  async stop(): Promise<void> {
    this.halt();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGQUIT');
      if (!(await this.within(exited, this.options.stopTimeoutMs))) {
        child.kill('SIGTERM');
        if (!(await this.within(exited, 3000))) child.kill('SIGKILL');
        await exited;
      }
    }
    this.child = undefined;
    await this.endLeftovers();
  }

  /** Ends nginx processes of this prefix that are not our live master: orphaned workers, or a master from a crashed run. */
  async endLeftovers(): Promise<void> {
    const { prefix, log } = this.options;
    const { sleep } = this.options.time.timers;
    const mine = this.child?.pid;
    const leftovers = markedProcesses(prefix).filter((pid) => pid !== mine && !this.isOurWorker(pid));
    if (leftovers.length === 0) return;
    log(`nginx: ending ${leftovers.length} leftover process(es) of ${prefix}: ${leftovers.join(', ')}`);
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // gone
      }
    }
    const deadline = this.now() + 2000;
    while (leftovers.some(alive) && this.now() < deadline) await sleep(25);
    for (const pid of leftovers.filter(alive)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    while (leftovers.some(alive) && this.now() < deadline + 1000) await sleep(25);
  }

  /** Whether `done` settles within `ms`; the timer is cancelled either way. */
  private async within(done: Promise<void>, ms: number): Promise<boolean> {
    const abort = new AbortController();
    const finished = await Promise.race([done.then(() => true), this.options.time.timers.sleep(ms, abort.signal).then(() => false)]);
    abort.abort();
    return finished;
  }

  private now(): number {
    return this.options.time.now().getTime();
  }

  private isOurWorker(pid: number): boolean {
    const mine = this.child?.pid;
    if (mine === undefined) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === mine;
    } catch {
      return false;
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    if (this.halted) return;
    const { backoff, errorLog, log } = this.options;
    if (this.now() - this.startedAt > STABLE_UPTIME_MS) this.failures = 0;
    const delay = Math.min(backoff.max, backoff.initial * 2 ** this.failures);
    this.failures += 1;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const why = firstNginxError(this.childStderr || errorLog.tail(2048));
    const message = `nginx ${how}${code ? ` (${why})` : ''}; restarting in ${delay} ms`;
    log(message);
    const failure = `${how}:${code ? why : ''}`;
    if (failure !== this.lastFailure || signal) {
      this.lastFailure = failure;
      this.options.failed({
        kind: code ? EventKinds.BALANCER_FAILED : EventKinds.BALANCER_RESTARTED,
        message,
        data: { code, signal, delayMs: delay },
      });
    }
    this.restartTimer = this.options.time.timers.setTimeout(() => {
      this.restartTimer = undefined;
      this.options.restart();
    }, delay);
  }
}
