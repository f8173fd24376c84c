// Several real `reactor server` processes on one machine, one FerretDB store, each with its own Docker engine, loopback address and nginx: the cluster tests' harness.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { Client } from 'graphql-ws';
import { testWsClient } from './ws.js';
import { markedProcesses } from '../../src/nginx/supervisor.js';
import { startFerretDB, type RunningFerretDB } from './ferretdb.js';
import { postGraphQL, type GraphQLClient, type GraphQLResult } from './graphql.js';
import { ensureTestImage, TEST_IMAGE } from './images.js';
import { ServerProcess } from './server-process.js';
import { waitFor } from './wait.js';

/** Engine 1 is the machine's own; engines 2 and 3 come from `scripts/engines.sh start 3`. */
export function engineSocket(engine: number): string {
  return engine === 1 ? '/var/run/docker.sock' : `/run/reactor-d${engine}/docker.sock`;
}

/** A dockerode client for engine `engine` (1, 2, 3). */
export function engineClient(engine: number): Docker {
  return new Docker({ socketPath: engineSocket(engine), host: undefined, port: undefined, protocol: 'http' });
}

/**
 * Fails, saying how to start it, unless engine `engine` answers; then makes
 * sure it holds the test image the main engine has (same image id), loading
 * it with `docker save | docker load` when not.
 */
export async function ensureEngine(engine: number, image = TEST_IMAGE): Promise<void> {
  ensureTestImage(image);
  if (engine === 1) return;
  const docker = engineClient(engine);
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `Docker engine ${engine} does not answer at unix://${engineSocket(engine)} (${(error as Error).message}); ` +
        'start the extra engines with `sudo bash scripts/engines.sh start 3` (npm test does this itself)',
    );
  }
  const want = (await engineClient(1).getImage(image).inspect()).Id;
  const have = await docker
    .getImage(image)
    .inspect()
    .then((info) => info.Id, () => null);
  if (have === want) return;
  await new Promise<void>((resolve, reject) => {
    const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('docker', ['-H', `unix://${engineSocket(engine)}`, 'load'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    save.stderr.on('data', (chunk) => (errors += chunk));
    load.stderr.on('data', (chunk) => (errors += chunk));
    save.stdout.pipe(load.stdin);
    load.once('error', reject);
    load.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`loading ${image} into engine ${engine} failed: ${errors}`))));
  });
}

/** A TCP port free on `host` right now. */
export function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ClusterHostOptions {
  /** `--name`; default hN. */
  name?: string;
  /** `--slots`; default 20. */
  slots?: number;
  /** Which engine it manages; default its own number N (h1 → the main engine, h2 → engine 2, …). */
  engine?: number;
  /** false: `--no-agent` (api and controller only); no engine, no nginx. */
  agent?: boolean;
  /** More flags for this server. */
  args?: string[];
}

export interface ClusterOptions {
  /** How many servers (h1, h2, …), or each one's options. Servers share 127.0.0.N by position, so at most 3 with agents. */
  hosts: number | ClusterHostOptions[];
  /** `--interval` of every server; default 1. */
  interval?: number;
  /** Sent as REACTOR_API_KEY to every server, and by every client. */
  apiKey?: string;
  /** A running FerretDB to use instead of starting one (it is then left running). */
  ferret?: RunningFerretDB;
  /** More flags for every server. */
  args?: string[];
}

export interface ClusterServer extends GraphQLClient {
  /** 1-based position: h1 is 1. */
  index: number;
  name: string;
  /** 127.0.0.N: its --address, --balancer-address and API host. */
  address: string;
  /** Engine number it manages (null without an agent). */
  engine: number | null;
  dataDir: string;
  process: ServerProcess;
  /** http://127.0.0.N:PORT/graphql (the port stays the same across restarts). */
  url: string;
  wsUrl: string;
  /** Its manager's id (the `reactor.manager` label of its containers); '' without an agent. */
  managerId: string;
  pid(): number | undefined;
  alive(): boolean;
  /** kill -9; resolves once the process is gone. Its nginx and containers stay, as after a power cut of the process. */
  kill9(): Promise<void>;
  /** SIGSTOP. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Graceful SIGTERM stop. */
  stop(): Promise<void>;
  /** Starts it again with the same flags, data directory and port (after a graceful stop, or kill -9 with `hard`). */
  restart(options?: { hard?: boolean }): Promise<void>;
  /** POSTs an operation (with the API key); returns the body as is. */
  gql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResult>;
  /** A graphql-ws client on this server (disposed by the cluster's close()). */
  ws(connectionParams?: Record<string, unknown>): Client;
  /** Its engine's containers carrying its manager label. */
  containers(endpoint?: string): Promise<Docker.ContainerInfo[]>;
  /** Every stderr line of every run, prefixed `[hN#run]`. */
  log: string[];
}

export interface Cluster {
  /** mongodb://…/DBNAME that every server's --store names. */
  store: string;
  ferret: RunningFerretDB;
  servers: ClusterServer[];
  /** The server named `name` (h1, h2, …). */
  server(name: string): ClusterServer;
  /** Every server's log, for a failing test's message. */
  logs(): string;
  /**
   * Stops every server (resuming paused ones), removes every container of
   * their managers on every engine and every nginx they left, their data
   * directories and (unless it was given) the FerretDB.
   */
  close(): Promise<void>;
}

/** Engines a cluster may use; containers are cleaned up on each. */
const ENGINES = [1, 2, 3];

/**
 * Starts a FerretDB (unless given) and the servers, one after another so h1
 * registers first, each with `--store mongodb://…/DBNAME --name hN --address
 * 127.0.0.N --listen 127.0.0.N:PORT --balancer-address 127.0.0.N --docker
 * unix://<engine N socket> --slots S --interval I --data-dir <its own>`.
 * Resolves once every server listens. On failure everything started is
 * cleaned up.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const specs: ClusterHostOptions[] = typeof options.hosts === 'number' ? Array.from({ length: options.hosts }, () => ({})) : options.hosts;
  const withAgents = specs.filter((s) => s.agent !== false).length;
  if (withAgents > ENGINES.length) throw new Error(`a test cluster has at most ${ENGINES.length} servers with agents (one engine each), not ${withAgents}`);
  const engines = [...new Set(specs.map((s, i) => (s.agent === false ? null : (s.engine ?? i + 1))).filter((e): e is number => e !== null))];
  for (const engine of engines) await ensureEngine(engine);

  const ferret = options.ferret ?? (await startFerretDB());
  const store = `${ferret.url}cluster_${randomUUID().slice(0, 8)}`;
  const clients: Client[] = [];
  const servers: ClusterServer[] = [];
  const cluster: Cluster = {
    store,
    ferret,
    servers,
    server(name) {
      const found = servers.find((s) => s.name === name);
      if (!found) throw new Error(`no server named ${name} in this cluster (${servers.map((s) => s.name).join(', ')})`);
      return found;
    },
    logs: () => servers.map((s) => s.log.join('\n')).join('\n'),
    async close() {
      await Promise.all(clients.splice(0).map((client) => client.dispose()));
      await Promise.all(servers.map((s) => s.process.stop()));
      for (const s of servers) {
        // A server killed with -9 leaves its nginx running; never leave one behind.
        for (const pid of markedProcesses(join(s.dataDir, 'nginx'))) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      const managers = servers.map((s) => s.managerId).filter(Boolean);
      await Promise.all(ENGINES.map((engine) => removeManagerContainers(engine, managers)));
      for (const s of servers) rmSync(s.dataDir, { recursive: true, force: true });
      if (!options.ferret) await ferret.stop();
    },
  };

  try {
    for (const [i, spec] of specs.entries()) {
      const index = i + 1;
      const address = `127.0.0.${index}`;
      const engine = spec.agent === false ? null : (spec.engine ?? index);
      const name = spec.name ?? `h${index}`;
      const dataDir = mkdtempSync(join(tmpdir(), `reactor-cluster-${name}-`));
      const port = await freePortOn(address);
      const args = [
        '--store', store,
        '--name', name,
        '--address', address,
        '--listen', `${address}:${port}`,
        '--balancer-address', address,
        '--slots', String(spec.slots ?? 20),
        '--interval', String(options.interval ?? 1),
        '--data-dir', dataDir,
        ...(engine === null ? ['--no-agent'] : ['--docker', `unix://${engineSocket(engine)}`]),
        ...(options.args ?? []),
        ...(spec.args ?? []),
      ];
      const env: Record<string, string> = options.apiKey ? { REACTOR_API_KEY: options.apiKey } : {};
      const server = new ServerProcess(args, env, name);
      const url = await server.start();
      const managerFile = join(dataDir, 'manager-id');
      const managerId = engine !== null && existsSync(managerFile) ? readFileSync(managerFile, 'utf8').trim() : '';
      const auth: Record<string, string> = options.apiKey ? { 'x-auth-key': options.apiKey } : {};
      servers.push({
        index,
        name,
        address,
        engine,
        dataDir,
        process: server,
        url,
        wsUrl: url.replace(/^http/, 'ws'),
        managerId,
        log: server.log,
        pid: () => server.pid,
        alive: () => server.alive(),
        kill9: () => server.kill9(),
        pause: () => server.pause(),
        resume: () => server.resume(),
        stop: () => server.stop(),
        async restart(restartOptions) {
          await server.restart(restartOptions);
        },
        gql: (query, variables = {}, headers = {}) => postGraphQL(url, query, variables, { ...auth, ...headers }),
        ws(connectionParams) {
          const client = testWsClient(url.replace(/^http/, 'ws'), options.apiKey, connectionParams);
          clients.push(client);
          return client;
        },
        async containers(endpoint) {
          if (engine === null || !managerId) return [];
          const found = await engineClient(engine).listContainers({ all: true, filters: { label: [`reactor.manager=${managerId}`] } });
          return endpoint === undefined ? found : found.filter((c) => c.Labels['reactor.endpoint'] === endpoint);
        },
      });
    }
  } catch (error) {
    await cluster.close().catch(() => undefined);
    throw error;
  }
  return cluster;
}

/** Force-removes the containers of these managers on one engine (an engine that does not answer has none to remove). */
async function removeManagerContainers(engine: number, managers: string[]): Promise<void> {
  if (managers.length === 0) return;
  const docker = engineClient(engine);
  if (!(await docker.ping().then(() => true, () => false))) return;
  for (const manager of managers) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`reactor.manager=${manager}`] } });
    await Promise.all(
      containers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((error: { statusCode?: number }) => {
            if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
          }),
      ),
    );
  }
}

/** Resolves once `server` lists exactly `count` containers (of `endpoint`, when given) on its engine. */
export function containersSettle(server: ClusterServer, count: number, endpoint?: string, timeoutMs = 30_000): Promise<Docker.ContainerInfo[]> {
  return waitFor(
    async () => {
      const found = await server.containers(endpoint);
      return found.length === count ? found : null;
    },
    { timeoutMs, what: `${count} container(s)${endpoint ? ` of ${endpoint}` : ''} on ${server.name}'s engine` },
  );
}
