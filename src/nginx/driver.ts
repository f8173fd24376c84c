// Runs Reactor's own nginx master under the data directory: checked atomic config swaps, reloads, and restarts when it dies.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { freePort } from '../util/ports.js';
import { ensureSelfSignedPair } from './certificates.js';
import {
  CONTROL_GENERATION_PATH,
  CONTROL_STATUS_PATH,
  NGINX_TEMP_KINDS,
  RenderProblem,
  renderNginxConfig,
  type BalancedEndpoint,
  type CertificatePair,
  type RenderedConfig,
} from './render.js';

/** Something operators should see in an endpoint's log; the driver's owner records it as an endpoint event. */
export interface DriverReport {
  endpoints: string[];
  kind: 'BALANCER_CONFIG_REFUSED' | 'BALANCER_RESTARTED' | 'BALANCER_FAILED';
  message: string;
  data: Record<string, unknown>;
}

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
  now?: () => number;
}

export type ApplyStatus = 'applied' | 'unchanged' | 'refused';

export interface ApplyResult {
  status: ApplyStatus;
  /** The generation nginx now serves (or will serve once it is back up). */
  generation: number;
  /** For `refused`: the endpoints blamed and nginx's own words. */
  refused?: { endpoints: string[]; error: string };
  /** When a refused candidate's culprits were held at their last good form and the rest applied. */
  partial?: boolean;
}

const STABLE_UPTIME_MS = 10_000;

/** Stable identity of a model: the same endpoints and backends give the same key. */
export function modelKey(endpoints: readonly BalancedEndpoint[]): string {
  const sorted = [...endpoints]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e) => ({ ...e, backends: [...e.backends].sort((a, b) => (a.address + a.instance < b.address + b.instance ? -1 : 1)) }));
  return JSON.stringify(sorted);
}

/** Writes a file so readers see the old or the new content, never a mix: a temporary file renamed over it. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** `path:LINE` at the end of an nginx message → LINE. */
export function errorLine(message: string, file: string): number | null {
  const index = message.lastIndexOf(`${file}:`);
  if (index < 0) return null;
  const match = /^(\d+)/.exec(message.slice(index + file.length + 1));
  return match ? Number(match[1]) : null;
}

/** The first `[emerg]`/`[alert]`/`[crit]` line of nginx output, without the "nginx: ", time and pid prefixes. */
export function firstNginxError(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const serious =
    lines.find((l) => /\[(emerg|alert|crit)\]/.test(l)) ??
    lines.find((l) => !/syntax is ok|test is successful|test failed/.test(l));
  return (serious ?? 'nginx failed without a message')
    .replace(/^nginx: /, '')
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
    .replace(/^(\[\w+\]) \d+#\d+: /, '$1 ');
}


function httpGet(port: number, path: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' }, timeout: timeoutMs },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolveGet({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/**
 * Usage: `start()` once (an empty configuration: only the loopback control
 * server), then `apply(endpoints)` on every change, `stop()` on shutdown.
 *
 * apply: render → write `nginx.conf.candidate` → `nginx -t` on it → rename
 * over `nginx.conf` → SIGHUP → wait until the control server answers the new
 * generation. A candidate that fails the check is never loaded: the error
 * becomes a BALANCER_CONFIG_REFUSED report on the endpoints its line belongs
 * to, those endpoints are held at their last good form while the others
 * move on, and if no line can be blamed the whole last good configuration
 * keeps serving. A reload nginx itself rejects (a port in use) is rolled back
 * the same way.
 *
 * If the master dies, orphaned workers are ended (they would hold the
 * ports) and nginx is started again after a back-off.
 */
export class NginxDriver {
  private readonly prefix: string;
  private readonly confPath: string;
  private readonly candidatePath: string;
  private readonly errorLogPath: string;
  private readonly listenAddress: string;
  private readonly reloadTimeoutMs: number;
  private readonly backoff: { initial: number; max: number };
  private readonly stopTimeoutMs: number;
  private readonly now: () => number;
  private readonly log: (line: string) => void;

  private child: ChildProcess | undefined;
  private childStderr = '';
  private startedAt = 0;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private started = false;
  private generationCounter = 0;
  private controlPort = 0;
  private defaultPair: CertificatePair | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** The model nginx serves (last good). */
  private good: BalancedEndpoint[] = [];
  private goodKey = modelKey([]);
  private servedGeneration = 0;
  private lastRefusedKey: string | undefined;
  /** Endpoint → the refused form and error already reported, so a refusal is recorded once. */
  private readonly reported = new Map<string, string>();
  private lastFailure: string | undefined;

  constructor(private readonly options: NginxDriverOptions) {
    this.prefix = resolve(options.prefix);
    this.confPath = join(this.prefix, 'nginx.conf');
    this.candidatePath = join(this.prefix, 'nginx.conf.candidate');
    this.errorLogPath = join(this.prefix, 'logs', 'error.log');
    this.listenAddress = options.listenAddress ?? '0.0.0.0';
    this.reloadTimeoutMs = options.reloadTimeoutMs ?? 8000;
    this.backoff = options.restartBackoffMs ?? { initial: 250, max: 30_000 };
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  /** The master's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The endpoints nginx serves now. */
  get current(): readonly BalancedEndpoint[] {
    return this.good;
  }

  get generation(): number {
    return this.servedGeneration;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    for (const dir of ['logs', 'temp', 'certs']) mkdirSync(join(this.prefix, dir), { recursive: true });
    for (const kind of NGINX_TEMP_KINDS) {
      const dir = join(this.prefix, 'temp', kind);
      mkdirSync(dir, { recursive: true });
      // Workers run as nobody when we are root; they write proxy buffers here.
      if (process.getuid?.() === 0) chownSync(dir, 65534, 65534);
    }
    await this.endLeftovers();
    await this.enqueue(() => this.spawnMaster());
  }

  /** Brings nginx in line with `endpoints`; serialized with every other change. */
  apply(endpoints: readonly BalancedEndpoint[]): Promise<ApplyResult> {
    return this.enqueue(() => this.applyNow([...endpoints]));
  }

  /** nginx's stub_status numbers (active connections etc.), or null while it is down. */
  async status(): Promise<Record<string, number> | null> {
    if (!this.running) return null;
    try {
      const { body } = await httpGet(this.controlPort, CONTROL_STATUS_PATH);
      const numbers = body.match(/\d+/g)?.map(Number) ?? [];
      const [active, accepts, handled, requests, reading, writing, waiting] = numbers;
      return { active, accepts, handled, requests, reading, writing, waiting };
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.queue.catch(() => undefined);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGQUIT');
      const graceful = await Promise.race([exited.then(() => true), sleep(this.stopTimeoutMs).then(() => false)]);
      if (!graceful) {
        child.kill('SIGTERM');
        const fast = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
        if (!fast) child.kill('SIGKILL');
        await exited;
      }
    }
    this.child = undefined;
    await this.endLeftovers();
    this.started = false;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private renderOptions(generation: number) {
    return {
      prefix: this.prefix,
      listenAddress: this.listenAddress,
      syslogPort: this.options.syslogPort,
      controlPort: this.controlPort,
      generation,
      defaultCertificate: this.defaultPair,
      user: process.getuid?.() === 0 ? 'nobody nogroup' : undefined,
    };
  }

  private async applyNow(endpoints: BalancedEndpoint[]): Promise<ApplyResult> {
    if (this.stopping) return { status: 'unchanged', generation: this.servedGeneration };
    const key = modelKey(endpoints);
    if (key === this.goodKey) return { status: 'unchanged', generation: this.servedGeneration };
    if (key === this.lastRefusedKey) {
      return { status: 'refused', generation: this.servedGeneration, refused: { endpoints: [], error: 'refused before' } };
    }
    await this.ensureCertificate(endpoints);

    const attempt = await this.check(endpoints);
    if (attempt.ok) {
      await this.activate(endpoints, attempt.rendered);
      this.lastRefusedKey = undefined;
      return { status: 'applied', generation: this.servedGeneration };
    }
    this.lastRefusedKey = key;

    // Find the culprits: from the last good model, take each change in turn
    // and keep those nginx accepts; the others stay at their last good form.
    const { model, culprits } = await this.isolate(endpoints);
    const blamed = culprits.length > 0 ? culprits.map((c) => c.name) : this.changedNames(endpoints);
    const errors = culprits.length > 0 ? culprits : [{ name: '', error: attempt.error }];
    for (const culprit of errors) {
      const names = culprit.name ? [culprit.name] : blamed;
      const already = names.every((name) => this.reported.get(name) === `${modelKey(endpoints.filter((e) => e.name === name))}|${culprit.error}`);
      if (already) continue;
      for (const name of names) this.reported.set(name, `${modelKey(endpoints.filter((e) => e.name === name))}|${culprit.error}`);
      await this.emit({
        endpoints: names,
        kind: 'BALANCER_CONFIG_REFUSED',
        message: `nginx refused the new configuration of ${names.join(', ')}: ${culprit.error}; the last good configuration keeps serving`,
        data: { error: culprit.error },
      });
    }
    let partial = false;
    if (modelKey(model) !== this.goodKey) {
      const second = await this.check(model);
      if (second.ok) {
        await this.activate(model, second.rendered);
        partial = true;
      }
    }
    return { status: 'refused', generation: this.servedGeneration, refused: { endpoints: blamed, error: attempt.error }, partial };
  }

  /**
   * Starting from the last good model (minus endpoints that are gone), adds
   * each new or changed endpoint in name order and keeps it if `nginx -t`
   * passes. One check per changed endpoint, only after a refusal.
   */
  private async isolate(
    endpoints: readonly BalancedEndpoint[],
  ): Promise<{ model: BalancedEndpoint[]; culprits: { name: string; error: string }[] }> {
    const wanted = new Set(endpoints.map((e) => e.name));
    const goodByName = new Map(this.good.map((e) => [e.name, e]));
    let model = this.good.filter((e) => wanted.has(e.name));
    const culprits: { name: string; error: string }[] = [];
    const changed = endpoints
      .filter((e) => { const g = goodByName.get(e.name); return !g || modelKey([g]) !== modelKey([e]); })
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const endpoint of changed) {
      const trial = [...model.filter((e) => e.name !== endpoint.name), endpoint];
      const result = await this.check(trial);
      if (result.ok) model = trial;
      else culprits.push({ name: endpoint.name, error: result.error });
    }
    return { model, culprits };
  }

  private changedNames(endpoints: readonly BalancedEndpoint[]): string[] {
    const before = new Map(this.good.map((e) => [e.name, modelKey([e])]));
    const changed = endpoints.filter((e) => before.get(e.name) !== modelKey([e])).map((e) => e.name);
    return changed.length > 0 ? changed : endpoints.map((e) => e.name);
  }

  private async ensureCertificate(endpoints: readonly BalancedEndpoint[]): Promise<void> {
    if (this.defaultPair) return;
    const needs = endpoints.some(
      (e) => (e.url.scheme === 'https' || e.nginx.ssl) && !(e.nginx.sslCertificate && e.nginx.sslKey),
    );
    if (needs) this.defaultPair = await ensureSelfSignedPair(join(this.prefix, 'certs'));
  }

  /** Renders and writes the candidate, then `nginx -t` on it. */
  private async check(
    endpoints: readonly BalancedEndpoint[],
  ): Promise<{ ok: true; rendered: RenderedConfig } | { ok: false; error: string; culprits: string[] }> {
    let rendered: RenderedConfig;
    try {
      rendered = renderNginxConfig(endpoints, this.renderOptions(this.generationCounter + 1));
    } catch (error) {
      if (error instanceof RenderProblem) return { ok: false, error: error.message, culprits: [error.endpoint] };
      throw error;
    }
    writeFileAtomic(this.candidatePath, rendered.text);
    const output = await new Promise<{ code: number; text: string }>((done) => {
      execFile(this.options.binary, ['-t', '-q', '-p', `${this.prefix}/`, '-c', this.candidatePath], (error, stdout, stderr) => {
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, text: `${stdout}${stderr}` });
      });
    });
    if (output.code === 0) return { ok: true, rendered };
    const error = firstNginxError(output.text);
    const line = errorLine(output.text, this.candidatePath);
    const culprits = line !== null ? (rendered.owners[line - 1] ?? []) : [];
    return { ok: false, error, culprits };
  }

  /** Swaps a checked candidate in and has nginx load it; rolls back if nginx cannot. */
  private async activate(endpoints: BalancedEndpoint[], rendered: RenderedConfig): Promise<void> {
    const generation = ++this.generationCounter;
    const previous = existsSync(this.confPath) ? readFileSync(this.confPath, 'utf8') : undefined;
    renameSync(this.candidatePath, this.confPath);
    if (!this.running) {
      // Down (restarting after a crash): the restart picks the new file up.
      this.adopt(endpoints, generation);
      return;
    }
    const logOffset = this.errorLogSize();
    this.child!.kill('SIGHUP');
    const outcome = await this.awaitGeneration(generation, logOffset);
    if (outcome === true) {
      this.adopt(endpoints, generation);
      return;
    }
    // nginx kept its old configuration (e.g. a port in use); put the file back in step with it.
    if (previous !== undefined) writeFileAtomic(this.confPath, previous);
    this.child?.kill('SIGHUP');
    const names = endpoints.filter((e) => !this.good.some((g) => modelKey([g]) === modelKey([e]))).map((e) => e.name);
    this.lastRefusedKey = modelKey(endpoints);
    await this.emit({
      endpoints: names.length > 0 ? names : endpoints.map((e) => e.name),
      kind: 'BALANCER_CONFIG_REFUSED',
      message: `nginx could not load the new configuration: ${outcome}; the last good configuration keeps serving`,
      data: { error: outcome },
    });
    void rendered;
  }

  private adopt(endpoints: BalancedEndpoint[], generation: number): void {
    this.good = endpoints;
    this.goodKey = modelKey(endpoints);
    this.servedGeneration = generation;
  }

  private errorLogSize(): number {
    try {
      return statSync(this.errorLogPath).size;
    } catch {
      return 0;
    }
  }

  /** What nginx logged after byte `offset`: only that part is read (the log grows for the master's whole life). */
  private errorLogSince(offset: number): string {
    let fd: number | undefined;
    try {
      fd = openSync(this.errorLogPath, 'r');
      const length = fstatSync(fd).size - offset;
      if (length <= 0) return '';
      const buffer = Buffer.alloc(length);
      const read = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, read).toString('utf8');
    } catch {
      return '';
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** true once the control server answers `generation`; otherwise nginx's error (from its log), or a timeout. */
  private async awaitGeneration(generation: number, logOffset: number): Promise<true | string> {
    const deadline = this.now() + this.reloadTimeoutMs;
    for (;;) {
      try {
        const { status, body } = await httpGet(this.controlPort, CONTROL_GENERATION_PATH, 500);
        if (status === 200 && body.trim() === String(generation)) return true;
      } catch {
        // not answering yet
      }
      const fresh = this.errorLogSince(logOffset);
      const fatal = fresh.split('\n').find((l) => /\[(emerg|alert)\]/.test(l) && (!/bind\(\)/.test(l) || /still could not bind/.test(l)));
      if (fatal) return firstNginxError(fatal);
      if (!this.running && this.child === undefined) return 'nginx is not running';
      if (this.now() > deadline) {
        const seen = fresh.split('\n').find((l) => /\[(emerg|alert)\]/.test(l));
        return seen ? firstNginxError(seen) : `nginx did not serve generation ${generation} within ${this.reloadTimeoutMs} ms`;
      }
      await sleep(20);
    }
  }

  /** Starts a master on the last good model (a fresh control port each time, in case the old one was taken). */
  private async spawnMaster(): Promise<void> {
    if (this.stopping) return;
    this.controlPort = await freePort();
    await this.ensureCertificate(this.good);
    const generation = ++this.generationCounter;
    const rendered = renderNginxConfig(this.good, this.renderOptions(generation));
    writeFileAtomic(this.confPath, rendered.text);
    const logOffset = this.errorLogSize();
    const child = spawn(this.options.binary, ['-p', `${this.prefix}/`, '-c', this.confPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    this.childStderr = '';
    this.startedAt = this.now();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.childStderr = (this.childStderr + chunk).slice(-4096);
    });
    child.on('error', (error) => this.log(`nginx: ${error.message}`));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    const outcome = await this.awaitGeneration(generation, logOffset);
    if (outcome === true) {
      this.servedGeneration = generation;
      this.log(`nginx started (pid ${child.pid}, prefix ${this.prefix}, generation ${generation})`);
      if (this.lastFailure) this.lastFailure = undefined;
    } else {
      this.log(`nginx did not come up: ${outcome}`);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    if (this.stopping) return;
    if (this.now() - this.startedAt > STABLE_UPTIME_MS) this.failures = 0;
    const delay = Math.min(this.backoff.max, this.backoff.initial * 2 ** this.failures);
    this.failures += 1;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const why = firstNginxError(this.childStderr || this.errorLogSince(Math.max(0, this.errorLogSize() - 2048)));
    const message = `nginx ${how}${code ? ` (${why})` : ''}; restarting in ${delay} ms`;
    this.log(message);
    const failure = `${how}:${code ? why : ''}`;
    if (failure !== this.lastFailure || signal) {
      this.lastFailure = failure;
      void this.emit({
        endpoints: this.good.map((e) => e.name),
        kind: code ? 'BALANCER_FAILED' : 'BALANCER_RESTARTED',
        message,
        data: { code, signal, delayMs: delay },
      });
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.enqueue(async () => {
        await this.endLeftovers();
        await this.spawnMaster();
      }).catch((error: unknown) => this.log(`nginx restart failed: ${(error as Error).message}`));
    }, delay);
    this.restartTimer.unref?.();
  }

  /** Ends nginx processes of this prefix that are not our live master: orphaned workers, or a master from a crashed run. */
  private async endLeftovers(): Promise<void> {
    const mine = this.child?.pid;
    const leftovers = markedProcesses(this.prefix).filter((pid) => pid !== mine && !this.isOurWorker(pid));
    if (leftovers.length === 0) return;
    this.log(`nginx: ending ${leftovers.length} leftover process(es) of ${this.prefix}: ${leftovers.join(', ')}`);
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

  private async emit(report: DriverReport): Promise<void> {
    this.log(`nginx: ${report.kind}: ${report.message}`);
    try {
      await this.options.report?.(report);
    } catch (error) {
      this.log(`nginx: could not record ${report.kind}: ${(error as Error).message}`);
    }
  }
}
