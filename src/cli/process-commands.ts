// The commands that run on the server's own machine rather than over GraphQL: `reactor shutdown`, which stops the server of a data directory (and with --all its nginx), and the pid file `reactor server` (server-command.ts) keeps.
import { readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { stateFilePath } from '../nginx/state-file.js';
import { alive, endPrefixProcesses, masterProcesses } from '../nginx/supervisor.js';
import { CliError } from './client.js';
import { parsePositive } from './parse.js';

/** Where a running `reactor server` writes its pid: the data directory (so `reactor shutdown` finds it, and a second server refuses to share it). */
export const SERVER_PID_FILE = 'server.pid';

export const dataDirOption = () =>
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

export function addProcessCommands(program: Command, write: (text: string) => void): void {
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
