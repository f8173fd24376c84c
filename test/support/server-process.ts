// One real `reactor server` in its own process, for tests that kill -9, pause or restart it as an operator's machine would.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_ENTRY } from './cli.js';
import { waitFor } from './wait.js';

/** How long a server may take to print "listening on" (tsx compiles the sources at start). */
const START_DEADLINE_MS = 30_000;
/** How long SIGTERM may take before the process gets SIGKILL. */
const STOP_DEADLINE_MS = 15_000;
/** Lines of stderr kept per process, for diagnostics. */
const LOG_LINES = 400;

/** What one run of the process printed and how it ended. */
export interface ServerRun {
  child: ChildProcess;
  /** stderr lines, last LOG_LINES of them. */
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every process any ServerProcess started and has not seen exit: killed with -9 if the test process ends first. */
const living = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of living) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

/**
 * `reactor server ARGS` from the sources (tsx), started and restarted with the
 * same arguments and environment. The run's url is read from its
 * "listening on" line.
 */
export class ServerProcess {
  private current: ServerRun | undefined;
  /** Every stderr line of every run, each prefixed with the run's number. */
  readonly log: string[] = [];
  private runs = 0;
  url = '';

  constructor(
    readonly args: string[],
    readonly env: Record<string, string> = {},
    /** Names the process in messages (e.g. `h2`). */
    readonly label = 'server',
  ) {}

  get child(): ChildProcess | undefined {
    return this.current?.child;
  }

  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  /** True while the process of the current run has not exited (paused counts as alive). */
  alive(): boolean {
    const child = this.current?.child;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  /** Starts a run and resolves with its url once it listens; rejects with its stderr if it exits or stays silent. */
  async start(): Promise<string> {
    if (this.alive()) throw new Error(`${this.label} is already running (pid ${this.pid})`);
    const run = this.spawn();
    const url = await waitFor(
      () => {
        const line = run.lines.find((l) => /listening on http:\/\//.test(l));
        if (line) return /listening on (http:\/\/\S+)/.exec(line)![1];
        if (run.child.exitCode !== null || run.child.signalCode !== null) {
          throw new StartFailure(`${this.label} exited (${run.child.exitCode ?? run.child.signalCode}) before listening:\n${run.lines.join('\n')}`);
        }
        return null;
      },
      { timeoutMs: START_DEADLINE_MS, intervalMs: 50, what: `${this.label} to listen` },
    ).catch((error: Error) => {
      if (this.alive()) run.child.kill('SIGKILL');
      throw error instanceof StartFailure ? error : new Error(`${error.message}\n${run.lines.join('\n')}`);
    });
    this.url = url;
    return url;
  }

  /**
   * Starts a run expected to fail; resolves with its exit code and stderr.
   * Rejects if it listens instead (and then kills it).
   */
  async startExpectingFailure(): Promise<{ code: number | null; stderr: string }> {
    if (this.alive()) throw new Error(`${this.label} is already running (pid ${this.pid})`);
    const run = this.spawn();
    const outcome = await Promise.race([
      run.exit,
      waitFor(() => run.lines.some((l) => /listening on http:\/\//.test(l)), { timeoutMs: START_DEADLINE_MS, what: `${this.label} to listen or exit` }).then(
        () => 'listening' as const,
      ),
    ]);
    if (outcome === 'listening') {
      await this.kill9();
      throw new Error(`${this.label} started, but it should have been refused:\n${run.lines.join('\n')}`);
    }
    return { code: outcome.code, stderr: run.lines.join('\n') };
  }

  /** kill -9: no shutdown at all, as a machine that dies. Resolves once the process is gone. */
  async kill9(): Promise<void> {
    const run = this.current;
    if (!run || !this.alive()) return;
    run.child.kill('SIGKILL');
    await run.exit;
  }

  /** SIGSTOP: the process freezes, its sockets stay open, its timers stop. */
  pause(): void {
    if (!this.alive()) throw new Error(`${this.label} is not running`);
    this.current!.child.kill('SIGSTOP');
  }

  /** SIGCONT: a paused process goes on where it stopped. */
  resume(): void {
    if (!this.alive()) throw new Error(`${this.label} is not running`);
    this.current!.child.kill('SIGCONT');
  }

  /** SIGTERM (after SIGCONT, in case it is paused) and a graceful shutdown; SIGKILL after STOP_DEADLINE_MS. */
  async stop(): Promise<void> {
    const run = this.current;
    if (!run || !this.alive()) return;
    run.child.kill('SIGCONT');
    run.child.kill('SIGTERM');
    const timer = setTimeout(() => run.child.kill('SIGKILL'), STOP_DEADLINE_MS);
    await run.exit;
    clearTimeout(timer);
  }

  /** Stops the current run if there is one (gracefully, or with -9 when `hard`), then starts another with the same arguments. */
  async restart({ hard = false }: { hard?: boolean } = {}): Promise<string> {
    if (hard) await this.kill9();
    else await this.stop();
    return this.start();
  }

  /** Resolves with the first line of the current run (or of any run, from the start) matching `pattern`. */
  async waitForLine(pattern: RegExp, { timeoutMs = 20_000 }: { timeoutMs?: number } = {}): Promise<string> {
    return waitFor(() => this.current?.lines.find((l) => pattern.test(l)), { timeoutMs, what: `${this.label} to log ${pattern}` });
  }

  private spawn(): ServerRun {
    const number = ++this.runs;
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'server', ...this.args], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    living.add(child);
    const lines: string[] = [];
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        this.log.push(`[${this.label}#${number}] ${line}`);
      }
      if (lines.length > LOG_LINES) lines.splice(0, lines.length - LOG_LINES);
      if (this.log.length > LOG_LINES * 4) this.log.splice(0, this.log.length - LOG_LINES * 4);
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      // 'close' comes once stderr is read to its end too; a grandchild holding the pipe would delay it, hence the fallback.
      child.once('close', (code, signal) => resolve({ code, signal }));
      child.once('exit', (code, signal) => {
        living.delete(child);
        setTimeout(() => resolve({ code, signal }), 1000).unref();
      });
      child.once('error', (error) => {
        living.delete(child);
        lines.push(`spawn failed: ${error.message}`);
        resolve({ code: null, signal: null });
      });
    });
    this.current = { child, lines, exit };
    return this.current;
  }
}

class StartFailure extends Error {}
