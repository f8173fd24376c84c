// Starts a throwaway FerretDB (the MongoDB wire protocol over SQLite) for tests that need a real MongoDB-compatible server.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { freePort } from '../../src/util/ports.js';

export interface RunningFerretDB {
  /** `mongodb://127.0.0.1:PORT/` — append a database name. */
  url: string;
  /** SIGTERM, wait for the process to exit, remove its data directory. */
  stop(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_DEADLINE_MS = 20_000;
const STOP_DEADLINE_MS = 10_000;
const INSTALL_HINT = 'install it with `bash scripts/setup.sh --test` (or point $FERRETDB_BIN at a ferretdb v1.x binary)';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $FERRETDB_BIN, else `<repo>/.tools/bin/ferretdb`, else `ferretdb` on PATH; fails (never skips) when none is there. */
export function findFerretDB(): string {
  const fromEnv = process.env.FERRETDB_BIN;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`FERRETDB_BIN=${fromEnv} is not an executable file; ${INSTALL_HINT}`);
  }
  const local = path.join(REPO_ROOT, '.tools', 'bin', 'ferretdb');
  if (isExecutable(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'ferretdb');
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(
    `FerretDB is needed for the MongoDB store tests but was not found ($FERRETDB_BIN unset, no ${local}, no ferretdb on PATH); ${INSTALL_HINT}`,
  );
}

/** A port that was free a moment ago (bound to port 0, then released). */

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts FerretDB on `port` (default a free loopback port) with a fresh SQLite data directory; resolves once it answers `ping`. */
export async function startFerretDB(options: { port?: number } = {}): Promise<RunningFerretDB & Restartable> {
  const binary = findFerretDB();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reactor-ferretdb-'));
  const port = options.port ?? (await freePort());
  let running: ChildProcess;
  try {
    running = await launch(binary, dataDir, port);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    halt: () => halt(running),
    async resume() {
      running = await launch(binary, dataDir, port);
    },
    async stop() {
      await halt(running);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** For tests of a store that goes away and comes back. */
export interface Restartable {
  /** Stops the process (SIGTERM, as an operator's restart would) and waits for it; keeps its port and data. */
  halt(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it answers `ping`. */
  resume(): Promise<void>;
}

async function halt(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
    await exited(child);
    clearTimeout(timer);
  }
}

/** Starts FerretDB on `port` over `dataDir`; resolves once it answers `ping`, killing it and failing otherwise. */
async function launch(binary: string, dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      // its own state file and no debug HTTP listener (default 127.0.0.1:8088 would clash between instances)
      `--state-dir=${dataDir}`,
      '--debug-addr=-',
      '--log-level=' + (process.env.FERRETDB_LOG_LEVEL || 'WARN'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (process.env.FERRETDB_LOG_LEVEL) process.stderr.write(chunk);
    log.push(...chunk.split('\n').filter(Boolean));
    if (log.length > 30) log.splice(0, log.length - 30);
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const url = `mongodb://127.0.0.1:${port}/`;
  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await halt(child);
      const why = spawnError?.message ?? `exited with ${child.exitCode ?? child.signalCode}`;
      throw new Error(`FerretDB (${binary}) failed to start: ${why}\n${log.join('\n')}`);
    }
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 250, connectTimeoutMS: 250 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return child;
    } catch (error) {
      lastError = error;
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  await halt(child);
  throw new Error(
    `FerretDB (${binary}) did not accept connections on 127.0.0.1:${port} within ${READY_DEADLINE_MS} ms: ${String(lastError)}\n${log.join('\n')}`,
  );
}
