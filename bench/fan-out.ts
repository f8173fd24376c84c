// The fan-out scenario the API benchmarks share: a Reactor server in this process, subscribers in processes of their own, samples published as the sampler publishes them, lag measured at the client.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { silentLogger } from '../src/log/logger.js';
import { newId } from '../src/store/ids.js';
import type { MetricSampleRecord } from '../src/store/types.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { waitFor } from '../test/support/wait.js';

const SUBSCRIBERS = fileURLToPath(new URL('./subscribers.mjs', import.meta.url));

/**
 * The core the load generator's processes are pinned to: the last one, with
 * `taskset`, when there are two or more (null otherwise). The client
 * processes stand in for 10,000 browsers on other machines; on this 2-core
 * machine, left free, they took turns on the server's core whenever both were
 * busy, and the same code measured a lag p99 of 215 ms in one run and 273 ms
 * in the next. Pinned, they keep to one core; the server is not pinned.
 */
export const LOAD_CORE: number | null = cpus().length >= 2 && spawnSync('taskset', ['--version']).status === 0 ? cpus().length - 1 : null;

/** Calls `onLine` with each line the load generator `child` prints, parsed (they print one JSON object per line). */
function onJsonLines(child: ChildProcess, onLine: (line: Record<string, unknown>) => void): void {
  createInterface({ input: child.stdout! }).on('line', (text) => onLine(JSON.parse(text) as Record<string, unknown>));
}

/** `argv` run on LOAD_CORE when there is one. */
function onLoadCore(argv: string[]): string[] {
  return LOAD_CORE === null ? argv : ['taskset', '-c', String(LOAD_CORE), ...argv];
}
export const SAMPLES_SUBSCRIPTION = 'subscription S($endpoint: String) { metricSamples(endpoint: $endpoint) { id endpoint at instances metrics } }';

export interface FanOutFigures {
  sockets: number;
  endpoints: number;
  rounds: number;
  expected: number;
  received: number;
  errors: number;
  /** Sockets that got other bytes than the first socket for the same item (must be 0). */
  differing: number;
  lag: { p50: number; p90: number; p99: number; max: number };
  /** The server process's resident memory, highest seen during the rounds (MB). */
  rssMb: number;
  /** The same before any socket opened (MB). */
  rssIdleMb: number;
  /** Event-loop delay of the server during the rounds (ms). */
  loop: { p99: number; max: number };
  /** CPU time of the server process per sample delivered to one socket (µs), user + system, from the first round until all arrived. */
  cpuPerDeliveryUs: number;
  /** The part of it spent in the kernel (system time: the socket writes). */
  systemPerDeliveryUs: number;
  /** CPU time of the client processes per sample received, from the first round until all arrived: the load generator's share of the machine's cores (µs). */
  clientCpuPerMessageUs: number;
}

export interface FanOutServer {
  server: RunningServer;
  close(): Promise<void>;
}

/**
 * A Reactor server on SQLite with no agent (the API plane alone), with
 * `endpoints` endpoints managed. The per-client WebSocket limit is raised,
 * since every benchmark socket comes from 127.0.0.1; everything else keeps
 * its default (Origin/Host checks, armor limits, 25 operations per socket).
 */
export async function startFanOutServer(endpoints: number): Promise<FanOutServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-bench-api-'));
  const server = await startServer({
    listen: '127.0.0.1:0',
    dataDir,
    agent: false,
    log: silentLogger,
    // The server's own sampler would add samples of its own every interval; keep it out of the way.
    interval: 3600,
    limits: { maxConnectionsPerClient: 20_000 },
  });
  for (let n = 0; n < endpoints; n++) {
    await server.services.endpoints.manage(`svc${n}`, '[endpoint]\nport=5000\n[cloud:docker]\nimage=bench/none:1\n');
  }
  return {
    server,
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface ClientProcess {
  child: ChildProcess;
  ready: Promise<void>;
  latest: { received: number; errors: number; closed: number };
  final: Promise<{
    received: number;
    errors: number;
    closed: number;
    differing: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
    cpu: { user: number; system: number };
  }>;
}

function startClients(wsUrl: string, count: number, offset: number, endpoints: number): ClientProcess {
  const [command, ...args] = onLoadCore([process.execPath, SUBSCRIBERS, wsUrl, String(count), String(offset), String(endpoints), SAMPLES_SUBSCRIPTION]);
  const child = spawn(command!, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const client = { child, latest: { received: 0, errors: 0, closed: 0 } } as ClientProcess;
  let ready!: () => void;
  let final!: (value: Awaited<ClientProcess['final']>) => void;
  client.ready = new Promise((resolve) => (ready = resolve));
  client.final = new Promise((resolve) => (final = resolve));
  onJsonLines(child, (line) => {
    if (line.ready) ready();
    else if (line.final) final(line as Awaited<ClientProcess['final']>);
    else client.latest = line as ClientProcess['latest'];
  });
  return client;
}

/**
 * `sockets` subscribers of `metricSamples(endpoint: svcN)`, spread evenly
 * over `endpoints` endpoints and over `processes` client processes; then
 * `rounds` rounds one second apart, each storing one sample per endpoint in
 * one write and publishing them on the bus, as the sampler does every
 * interval at `--interval 1`. `during` runs while the rounds go on.
 */
export async function fanOut(
  target: FanOutServer,
  options: { sockets: number; endpoints: number; rounds: number; processes: number; during?: () => Promise<unknown> },
): Promise<FanOutFigures> {
  const { server } = target;
  const { sockets, endpoints, rounds, processes } = options;
  global.gc?.();
  const rssIdle = process.memoryUsage().rss;
  const per = Math.ceil(sockets / processes);
  const clients = Array.from({ length: processes }, (_, p) =>
    startClients(server.wsUrl, Math.min(per, sockets - p * per), p * per, endpoints),
  );
  try {
    await Promise.all(clients.map((c) => c.ready));
    await waitFor(() => server.services.bus.subscriberCount('metricSamples') >= sockets, {
      timeoutMs: 120_000,
      what: `${sockets} subscribers`,
    });
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    let rss = process.memoryUsage().rss;
    const during = options.during?.();
    const cpu = process.cpuUsage();
    const started = Date.now();
    for (let round = 1; round <= rounds; round++) {
      const at = new Date();
      const samples: MetricSampleRecord[] = Array.from({ length: endpoints }, (_, n) => ({
        id: newId(),
        endpoint: `svc${n}`,
        at,
        instances: 3,
        metrics: { active: 1.5, rate: 20 + round, bytes: 4096, response: 12.5, pending: 0, bench: round },
      }));
      await server.services.store.samples.appendMany(samples);
      for (const sample of samples) server.services.bus.publish('metricSamples', sample);
      rss = Math.max(rss, process.memoryUsage().rss);
      const next = started + round * 1000;
      // The sampler's interval: a pace, not a wait for a condition.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      rss = Math.max(rss, process.memoryUsage().rss);
    }
    await during;
    const expected = sockets * rounds;
    await waitFor(() => clients.reduce((sum, c) => sum + c.latest.received, 0) >= expected || clients.some((c) => c.latest.closed > 0), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: `${expected} samples received`,
    }).catch(() => undefined);
    loop.disable();
    const used = process.cpuUsage(cpu);
    for (const c of clients) c.child.stdin!.end();
    const finals = await Promise.all(clients.map((c) => c.final));
    // Percentiles of the processes' percentiles are not exact; the worst of them is reported (an upper bound).
    const worst = (key: 'p50' | 'p90' | 'p99' | 'max') => Math.max(...finals.map((f) => f[key]));
    return {
      sockets,
      endpoints,
      rounds,
      expected,
      received: finals.reduce((sum, f) => sum + f.received, 0),
      errors: finals.reduce((sum, f) => sum + f.errors + f.closed, 0),
      differing: finals.reduce((sum, f) => sum + f.differing, 0),
      lag: { p50: worst('p50'), p90: worst('p90'), p99: worst('p99'), max: worst('max') },
      rssMb: rss / 1024 / 1024,
      rssIdleMb: rssIdle / 1024 / 1024,
      loop: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      cpuPerDeliveryUs: (used.user + used.system) / expected,
      systemPerDeliveryUs: used.system / expected,
      clientCpuPerMessageUs: finals.reduce((sum, f) => sum + f.cpu.user + f.cpu.system, 0) / expected,
    };
  } finally {
    for (const c of clients) if (c.child.exitCode === null) c.child.kill();
    await waitFor(() => server.services.bus.subscriberCount('metricSamples') === 0, { timeoutMs: 60_000, what: 'subscribers gone' }).catch(() => undefined);
  }
}

const READERS = fileURLToPath(new URL('./readers.mjs', import.meta.url));

export interface WriteFloor {
  /** Wall time of one round of writes to every socket, median of the rounds (ms). */
  roundMs: number;
  /** CPU time of this process per write, user + system, and its system part (µs). */
  cpuPerWriteUs: number;
  systemPerWriteUs: number;
}

/**
 * The floor under the fan-out: `sockets` plain TCP connections from a
 * process of their own that only reads, and this process writing one ready
 * frame of `frameBytes` to each in a bare loop, `rounds` times, 1 s apart as
 * the samples are. No WebSocket, no GraphQL: what the kernel and Node's
 * socket write alone cost on this machine, for the same number of sockets.
 */
export async function writeFloor(sockets: number, frameBytes: number, rounds = 5): Promise<WriteFloor> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const [command, ...args] = onLoadCore([process.execPath, READERS, String((server.address() as net.AddressInfo).port), String(sockets)]);
  const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  onJsonLines(child, (line) => lines.push(line));
  try {
    await waitFor(() => lines.some((line) => line.ready) && accepted.length === sockets, { timeoutMs: 120_000, what: `${sockets} connections` });
    const frame = Buffer.alloc(frameBytes, 0x61);
    const walls: number[] = [];
    const cpu = process.cpuUsage();
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      for (const socket of accepted) socket.write(frame);
      walls.push(performance.now() - started);
      // The samples' pace, not a wait for a condition.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const used = process.cpuUsage(cpu);
    child.stdin!.end();
    await waitFor(() => lines.some((line) => line.final), { timeoutMs: 60_000, what: 'the readers to finish' });
    const read = lines.find((line) => line.final)!.bytes as number;
    if (read !== sockets * rounds * frameBytes) throw new Error(`the readers got ${read} bytes of ${sockets * rounds * frameBytes}`);
    walls.sort((a, b) => a - b);
    return {
      roundMs: walls[Math.floor(walls.length / 2)]!,
      cpuPerWriteUs: (used.user + used.system) / (sockets * rounds),
      systemPerWriteUs: used.system / (sockets * rounds),
    };
  } finally {
    if (child.exitCode === null) child.kill();
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}
