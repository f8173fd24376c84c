// Supervises Reactor's private nginx master: starts it detached on its prefix (so it outlives us), adopts one a previous server left, restarts a dead one at once, stops it, and ends leftover processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import { EventKinds } from '../model/events.js';
import { ErrorLog, firstNginxError } from './error-log.js';
import { NGINX_TEMP_KINDS } from './render.js';
import type { DriverReport } from './report.js';
import type { Time, Timer } from '../time/timers.js';

/** A master that ran this long before it died starts the back-off over. */
const STABLE_UPTIME_MS = 10_000;

/**
 * Whether `pid` is a live process. A zombie is not: a master we adopted is
 * not our child, and whoever inherits it may never reap it.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
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

/** The masters among the processes of a prefix: those whose parent is not one of them. */
export function masterProcesses(prefix: string): number[] {
  const marked = markedProcesses(prefix);
  return marked.filter((pid) => !marked.includes(parentOf(pid) ?? -1));
}

/**
 * Ends every nginx process of a prefix: SIGQUIT (finish what is in flight),
 * then SIGKILL whatever still runs after `graceMs`. Returns the pids ended.
 */
export async function endPrefixProcesses(
  prefix: string,
  sleep: (ms: number) => Promise<void>,
  now: () => number,
  except: (pid: number) => boolean = () => false,
  graceMs = 2000,
): Promise<number[]> {
  const pids = markedProcesses(prefix).filter((pid) => !except(pid));
  if (pids.length === 0) return [];
  for (const pid of pids) signal(pid, 'SIGQUIT');
  const deadline = now() + graceMs;
  while (pids.some(alive) && now() < deadline) await sleep(25);
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  while (pids.some(alive) && now() < deadline + 1000) await sleep(25);
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone
  }
}

export interface NginxSupervisorOptions {
  /** Path of the nginx binary. */
  binary: string;
  /** The nginx prefix, absolute. */
  prefix: string;
  errorLog: ErrorLog;
  /**
   * Restart delays after nginx dies: the first restart is at once, later
   * ones (a master that keeps dying young) wait `initial`, doubling up to
   * `max`; the count starts over after 10 s of uptime.
   */
  backoff: { initial: number; max: number };
  /** Signal-to-exit grace on stop before SIGTERM, then SIGKILL. */
  stopTimeoutMs: number;
  /** How often a master we adopted (not our child, so no exit event) is checked; default 100 ms. */
  adoptedPollMs?: number;
  /** The clock of the uptime and the timers of the back-off and of every wait. */
  time: Time;
  log: Logger;
  /** nginx died unasked: what to tell operators (once per distinct failure; every kill by a signal). */
  failed: (report: Omit<DriverReport, 'endpoints'>) => void;
  /** The back-off has passed: start a new master now (the owner serializes this with its other changes). */
  restart: () => void;
}

/**
 * Usage: `prepare()`, then `spawn(conf)` or `adopt(pid)`; `reload()` has the
 * master read its file again; on shutdown `detach()` (nginx goes on serving
 * the last good configuration, for the next server to adopt) or `stop()`.
 *
 * Masters are started in a session of their own with their output in
 * `logs/stderr.log`: neither a kill -9 of this process nor a Ctrl-C in its
 * terminal reaches them, and nothing of theirs waits on a pipe of ours.
 *
 * When the master dies, the owner hears `failed`, then `restart`. Its
 * orphaned workers go on serving meanwhile (every endpoint `listen` has
 * `reuseport`, so the new master binds beside them); the owner ends them
 * once the new master serves.
 */
export class NginxSupervisor {
  private child: ChildProcess | undefined;
  private adopted: number | undefined;
  private adoptedWatch: Timer | undefined;
  private stderrOffset = 0;
  private startedAt = 0;
  private failures = 0;
  private restartTimer: Timer | undefined;
  private lastFailure: string | undefined;
  private halted = false;
  private readonly stderr: ErrorLog;

  constructor(private readonly options: NginxSupervisorOptions) {
    this.stderr = new ErrorLog(join(options.prefix, 'logs', 'stderr.log'));
  }

  /** The master's pid while it runs (ours or adopted). */
  get pid(): number | undefined {
    return this.child?.pid ?? this.adopted;
  }

  get running(): boolean {
    if (this.child) return this.child.exitCode === null && this.child.signalCode === null;
    return this.adopted !== undefined && alive(this.adopted);
  }

  /** Whether the master was adopted from an earlier server rather than started by this one. */
  get isAdopted(): boolean {
    return this.adopted !== undefined;
  }

  /** No master process at all: not started yet, or dead and waiting for its restart. */
  get down(): boolean {
    return this.child === undefined && this.adopted === undefined;
  }

  /** Shutting down: no restart and no new master until `prepare()`. */
  get stopping(): boolean {
    return this.halted;
  }

  /** Whether `pid` is a live nginx master of this prefix (one an earlier server may have left). */
  isMasterOfPrefix(pid: number): boolean {
    return alive(pid) && masterProcesses(this.options.prefix).includes(pid);
  }

  /** Makes the prefix's directories; undoes `halt()`. */
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
  }

  /** Starts a master on `confPath`; returns its pid. */
  spawn(confPath: string): number | undefined {
    const { binary, prefix } = this.options;
    this.stderrOffset = this.stderr.size();
    const out = openSync(this.stderr.path, 'a');
    let child: ChildProcess;
    try {
      child = spawn(binary, ['-p', `${prefix}/`, '-c', confPath], { stdio: ['ignore', out, out], detached: true });
    } finally {
      closeSync(out);
    }
    // Our event loop never waits for nginx: it is meant to outlive this process.
    child.unref();
    this.child = child;
    this.adopted = undefined;
    this.startedAt = this.now();
    child.on('error', (error) => this.options.log.error({ err: error }, `nginx could not be started: ${error.message}`));
    child.on('exit', (code, signal) => {
      if (child !== this.child) return;
      this.child = undefined;
      this.died(code, signal);
    });
    return child.pid;
  }

  /** Supervises a master an earlier server started (it is not our child: its death is noticed by polling). */
  adopt(pid: number): void {
    this.child = undefined;
    this.adopted = pid;
    this.startedAt = this.now();
    this.adoptedWatch?.cancel();
    this.adoptedWatch = this.options.time.timers.setInterval(() => {
      if (this.adopted !== pid || alive(pid)) return;
      this.adoptedWatch?.cancel();
      this.adoptedWatch = undefined;
      this.adopted = undefined;
      this.died(null, null);
    }, this.options.adoptedPollMs ?? 100);
  }

  /** The master serves: a failure after this is news again. */
  healthy(): void {
    this.lastFailure = undefined;
  }

  /** Has the master read its configuration file again (SIGHUP). */
  reload(): void {
    const pid = this.pid;
    if (pid !== undefined) signal(pid, 'SIGHUP');
  }

  /** No more restarts: cancels a pending one. `stop()` ends the processes, `detach()` leaves them. */
  halt(): void {
    this.halted = true;
    this.restartTimer?.cancel();
    this.restartTimer = undefined;
  }

  /** Stops supervising and leaves the master serving its last configuration, for the next server to adopt. */
  detach(): void {
    this.halt();
    this.adoptedWatch?.cancel();
    this.adoptedWatch = undefined;
    this.child = undefined;
    this.adopted = undefined;
  }

  /** Ends the master (SIGQUIT, then SIGTERM, then SIGKILL) and every process left of the prefix. */
  async stop(): Promise<void> {
    this.halt();
    this.adoptedWatch?.cancel();
    this.adoptedWatch = undefined;
    const pid = this.pid;
    const child = this.child;
    this.child = undefined;
    this.adopted = undefined;
    if (pid !== undefined && alive(pid)) {
      const exited = child
        ? new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())))
        : this.gone(pid);
      signal(pid, 'SIGQUIT');
      if (!(await this.within(exited, this.options.stopTimeoutMs))) {
        signal(pid, 'SIGTERM');
        if (!(await this.within(exited, 3000))) signal(pid, 'SIGKILL');
        await this.within(exited, 3000);
      }
    }
    await this.endLeftovers();
  }

  /** Ends nginx processes of this prefix that are not our live master or its workers: orphaned workers, or a master from a crashed run. */
  async endLeftovers(): Promise<void> {
    const { prefix, log } = this.options;
    const mine = this.pid;
    const ended = await endPrefixProcesses(
      prefix,
      (ms) => this.options.time.timers.sleep(ms),
      () => this.now(),
      (pid) => pid === mine || (mine !== undefined && parentOf(pid) === mine),
    );
    if (ended.length > 0) log.info({ prefix, nginxPids: ended }, `nginx: ended ${ended.length} leftover process(es) of ${prefix}`);
  }

  /** Resolves once `pid` is no longer alive (polled: it is not our child). */
  private async gone(pid: number): Promise<void> {
    while (alive(pid)) await this.options.time.timers.sleep(25);
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

  /** The master died unasked (code and signal are null for an adopted one: its end is seen, not reported to us). */
  private died(code: number | null, signalName: NodeJS.Signals | null): void {
    if (this.halted) return;
    const { backoff, errorLog, log } = this.options;
    if (this.now() - this.startedAt > STABLE_UPTIME_MS) this.failures = 0;
    // The first restart is at once: the workers of the dead master still serve, and a new master binds beside them.
    const delay = this.failures === 0 ? 0 : Math.min(backoff.max, backoff.initial * 2 ** (this.failures - 1));
    this.failures += 1;
    const how = signalName ? `was killed by ${signalName}` : code === null ? 'died' : `exited with code ${code}`;
    const why = firstNginxError(this.stderr.since(this.stderrOffset) || errorLog.tail(2048));
    const message = `nginx ${how}${code ? ` (${why})` : ''}; restarting ${delay === 0 ? 'now' : `in ${delay} ms`}`;
    log.warn({ code, signal: signalName, delayMs: delay }, message);
    const failure = `${how}:${code ? why : ''}`;
    if (failure !== this.lastFailure || signalName || code === null) {
      this.lastFailure = failure;
      this.options.failed({
        kind: code ? EventKinds.BALANCER_FAILED : EventKinds.BALANCER_RESTARTED,
        message,
        data: { code, signal: signalName, delayMs: delay },
      });
    }
    this.restartTimer = this.options.time.timers.setTimeout(() => {
      this.restartTimer = undefined;
      this.options.restart();
    }, delay);
  }
}
