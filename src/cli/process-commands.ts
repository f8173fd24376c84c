// The commands that run on the server's own machine rather than over GraphQL: `reactor server`, and `reactor shutdown` which stops it (and with --all its nginx).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { createLogger, LOG_LEVELS, parseLogLevel } from '../log/logger.js';
import { stateFilePath } from '../nginx/state-file.js';
import { alive, endPrefixProcesses, masterProcesses } from '../nginx/supervisor.js';
import { CliError } from './client.js';

/** Where a running `reactor server` writes its pid: the data directory (so `reactor shutdown` finds it, and a second server refuses to share it). */
export const SERVER_PID_FILE = 'server.pid';

const dataDirOption = () =>
  new Option('--data-dir <dir>', 'data directory').env('REACTOR_DATA_DIR').default(join(homedir(), '.reactor'));

/** When the process started, in clock ticks since boot (field 22 of /proc/PID/stat): with the pid, it names one process for good. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** The pid file's line: the pid and its start time, so a pid reused by another process is never taken for the server. */
export function pidFileLine(pid: number = process.pid): string {
  return `${pid} ${startTime(pid) ?? ''}\n`;
}

/** The pid in the data directory's pid file, if that very process (same pid, same start time) still runs. */
export function runningServer(dataDir: string): number | null {
  let fields: string[];
  try {
    fields = readFileSync(join(dataDir, SERVER_PID_FILE), 'utf8').trim().split(/\s+/);
  } catch {
    return null;
  }
  const pid = Number(fields[0]);
  const started = fields[1];
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return null;
  return started !== undefined && started === startTime(pid) ? pid : null;
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

export function addProcessCommands(program: Command, apiKey: () => string | undefined, write: (text: string) => void): void {
  program
    .command('server')
    .description(
      'run the control plane (API, scheduler, autoscaler) with a local docker agent; on SIGTERM or Ctrl-C it stops, ' +
        'but nginx goes on serving every endpoint (the next server on this data directory adopts it) unless --stop-balancer-on-exit',
    )
    .addOption(new Option('--listen <host:port>', 'address to listen on').default('127.0.0.1:8080'))
    .addOption(dataDirOption())
    .option('--store <url>', 'sqlite:PATH or mongodb://… (default: sqlite in the data directory)')
    .option('--name <name>', 'name of the local manager (default: host name)')
    .option('--slots <n>', 'slots the local manager offers', parseWhole('--slots'))
    .option('--interval <seconds>', 'seconds between evaluation rounds', parsePositive('--interval'), 10)
    .option('--no-agent', 'do not run a local docker agent')
    .option('--stop-balancer-on-exit', 'on SIGTERM or Ctrl-C stop nginx too (traffic to every endpoint stops)')
    .addOption(
      new Option('--log-level <level>', `least severe log level written (${LOG_LEVELS.join(', ')})`)
        .env('REACTOR_LOG_LEVEL')
        .default('info')
        .argParser(cliArg(parseLogLevel)),
    )
    .option('--debug', 'include stack traces in API errors')
    .action(async (options) => {
      const dataDir = resolve(options.dataDir as string);
      const other = runningServer(dataDir);
      if (other !== null) {
        throw new CliError(`another reactor server (pid ${other}) runs on data directory ${dataDir}; stop it first: reactor shutdown --data-dir ${dataDir}`);
      }
      const log = createLogger({ level: options.logLevel });
      const lifecycle = log.child({ component: 'server' });
      const { startServer } = await import('../server/server.js');
      const server = await startServer({
        listen: options.listen,
        dataDir,
        store: options.store,
        apiKey: apiKey(),
        debug: options.debug,
        name: options.name,
        slots: options.slots,
        interval: options.interval,
        agent: options.agent,
        keepBalancerOnExit: !options.stopBalancerOnExit,
        log,
      });
      mkdirSync(dataDir, { recursive: true });
      const pidFile = join(dataDir, SERVER_PID_FILE);
      writeFileSync(pidFile, pidFileLine());
      await new Promise<void>((done) => {
        const stop = (signal: string) => {
          lifecycle.info({ signal }, `${signal}: shutting down${options.stopBalancerOnExit ? ', nginx too' : '; nginx keeps serving'}`);
          // Our own timers are unref'd and nginx is not our child any more: without this, the process
          // could end half-way through the shutdown, as soon as the API stops listening.
          const keepAlive = setInterval(() => {}, 1000);
          server
            .close()
            .then(done, (error: unknown) => {
              lifecycle.error({ err: error }, `shutdown failed: ${(error as Error).message}`);
              process.exitCode = 1;
              done();
            })
            .finally(() => clearInterval(keepAlive));
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      rmSync(pidFile, { force: true });
    });

  program
    .command('shutdown')
    .description(
      "stop the reactor server of a data directory (as SIGTERM does: nginx goes on serving); with --all also its nginx, so every endpoint stops answering (containers keep running; a later server adopts them)",
    )
    .addOption(dataDirOption())
    .option('--all', 'also stop nginx: traffic to every endpoint stops')
    .option('--timeout <seconds>', 'how long to wait for the server to stop', parsePositive('--timeout'), 30)
    .action(async (options: { dataDir: string; all?: boolean; timeout: number }) => {
      const dataDir = resolve(options.dataDir);
      const prefix = join(dataDir, 'nginx');
      const done: string[] = [];
      const server = runningServer(dataDir);
      if (server !== null) {
        process.kill(server, 'SIGTERM');
        if (!(await waitGone(server, options.timeout * 1000))) {
          throw new CliError(`reactor server (pid ${server}) did not stop within ${options.timeout} s; nothing else was stopped`);
        }
        done.push(`stopped reactor server (pid ${server})`);
      }
      const masters = masterProcesses(prefix);
      if (options.all) {
        const ended = await endPrefixProcesses(prefix, (ms) => new Promise((r) => setTimeout(r, ms)), Date.now);
        rmSync(stateFilePath(prefix), { force: true });
        if (ended.length > 0) done.push(`stopped nginx (pid ${masters.join(', ') || ended.join(', ')}): endpoints no longer answer`);
      } else if (masters.length > 0) {
        done.push(`nginx (pid ${masters.join(', ')}) keeps serving; reactor shutdown --all stops it too`);
      }
      write(`${done.length > 0 ? done.join('; ') : `nothing of reactor runs on data directory ${dataDir}`}\n`);
    });
}

/** A commander argument parser from a function that throws a plain Error: the message becomes a CliError. */
function cliArg<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  };
}

export function parseWhole(flag: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new CliError(`${flag} takes a whole number, not ${JSON.stringify(value)}`);
    return Number(value);
  };
}

export function parsePositive(flag: string) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) throw new CliError(`${flag} takes a positive number of seconds, not ${JSON.stringify(value)}`);
    return number;
  };
}
