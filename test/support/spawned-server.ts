// Runs `reactor server` as a process of its own, as an operator would, for tests that kill it or send it signals and read its JSON log (lighter than server-process.ts's ServerProcess).
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_ENTRY } from './cli.js';
import { waitFor } from './wait.js';

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  /** Everything it wrote on standard error (its log, JSON lines). */
  stderr(): string;
  /** POSTs a GraphQL operation; throws on GraphQL errors. */
  gql(query: string, variables?: Record<string, unknown>): Promise<any>;
  /** Resolves once it has exited. */
  exited: Promise<void>;
}

/** Starts `reactor server` on a free loopback port with `args` (--data-dir, --name …); resolves with its URL from the "listening on" line. */
export async function startServerProcess(args: string[], env: Record<string, string> = {}): Promise<SpawnedServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'server', '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`reactor server exited with code ${child.exitCode}: ${stderr}`);
      return /listening on (http:\/\/[^\s"]+)/.exec(stderr)?.[1];
    },
    { timeoutMs: 30_000, what: `the server to listen (${stderr})` },
  );
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: any; errors?: { message: string }[] };
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  };
  return { child, url, stderr: () => stderr, gql, exited };
}

function running(server: SpawnedServer): boolean {
  return server.child.exitCode === null && server.child.signalCode === null;
}

/** kill -9, then waits for the exit. */
export async function kill9(server: SpawnedServer): Promise<void> {
  if (running(server)) server.child.kill('SIGKILL');
  await server.exited;
}

/** SIGTERM (a clean shutdown), then waits for the exit. */
export async function terminate(server: SpawnedServer): Promise<void> {
  if (running(server)) server.child.kill('SIGTERM');
  await server.exited;
}
