// Benchmark: GraphQL reads through Reactor against a bare Apollo Server 5 serving the same data, in the same run, and p99 at a fixed 500 requests/s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/log/logger.js';
import { startServer } from '../src/server/server.js';
import { autocannon, ENDPOINT_QUERY, ENDPOINTS_QUERY, operation, paced, seedEndpoints, startBareApollo, type LoadFigures } from './api-load.js';
import type { Benchmark, BenchResult } from './types.js';

const CONNECTIONS = 50;
/** Each target is loaded this long, twice, alternating with the other, so a burst of load from elsewhere falls on both. */
const SECONDS = 5;
const ROUNDS = 2;
const PACED_RATE = 500;
const PACED_SECONDS = 10;

type Measured = LoadFigures & { cpuUs: number };

/** One autocannon run, with the CPU time this process (the server under load) spent meanwhile. */
async function measured(url: string, body: string): Promise<Measured> {
  const cpu = process.cpuUsage();
  const figures = await autocannon(url, body, { connections: CONNECTIONS, seconds: SECONDS });
  const used = process.cpuUsage(cpu);
  return { ...figures, cpuUs: used.user + used.system };
}

/** Server CPU per request (µs): on a shared machine it moves far less than throughput does. */
function cpuPerRequest(runs: Measured[]): number {
  return runs.reduce((sum, r) => sum + r.cpuUs, 0) / runs.reduce((sum, r) => sum + r.total, 0);
}

function merged(runs: LoadFigures[]): LoadFigures {
  const total = runs.reduce((sum, r) => sum + r.total, 0);
  return {
    rps: total / (runs.length * SECONDS),
    total,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    // The worse of the runs: percentiles of separate runs cannot be merged exactly.
    p50: Math.max(...runs.map((r) => r.p50)),
    p99: Math.max(...runs.map((r) => r.p99)),
  };
}

const benchmark: Benchmark = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-bench-reads-'));
  const server = await startServer({ listen: '127.0.0.1:0', dataDir, agent: false, log: silentLogger });
  const results: BenchResult[] = [];
  try {
    const data = await seedEndpoints(server, 10, 3);
    const bare = await startBareApollo(data);
    try {
      const reads = [
        { label: '`endpoints { name state }`', body: operation(ENDPOINTS_QUERY) },
        { label: '`endpoint(name) { name state instances { id address status slots } }`', body: operation(ENDPOINT_QUERY, { name: 'svc3' }) },
      ];
      for (const read of reads) {
        // Warm both (JIT, caches), then alternate.
        await autocannon(bare.url, read.body, { connections: CONNECTIONS, seconds: 1 });
        await autocannon(server.url, read.body, { connections: CONNECTIONS, seconds: 1 });
        const bareRuns: Measured[] = [];
        const reactorRuns: Measured[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          bareRuns.push(await measured(bare.url, read.body));
          reactorRuns.push(await measured(server.url, read.body));
        }
        const cpu = { bare: cpuPerRequest(bareRuns), reactor: cpuPerRequest(reactorRuns) };
        const b = merged(bareRuns);
        const r = merged(reactorRuns);
        const ratio = (100 * r.rps) / b.rps;
        results.push({
          name: `reads: ${read.label}, Reactor vs bare Apollo Server 5 (same run, same data)`,
          value: ratio,
          unit: '%',
          goal: '>= 70 %',
          met: ratio >= 70 && r.errors === 0,
          note:
            `Reactor ${Math.round(r.rps)} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms), bare Apollo ${Math.round(b.rps)} req/s (p50 ${b.p50} ms, p99 ${b.p99} ms); ` +
            `${CONNECTIONS} connections, autocannon in its own process, ${ROUNDS}×${SECONDS} s each, alternating; 10 endpoints × 3 instances on SQLite, no agent; errors ${r.errors}`,
        });
        const cpuRatio = (100 * cpu.bare) / cpu.reactor;
        results.push({
          name: `reads: ${read.label}, server CPU per request, bare Apollo's as a share of Reactor's (same runs)`,
          value: cpuRatio,
          unit: '%',
          goal: '>= 70 %',
          met: cpuRatio >= 70,
          note: `Reactor ${cpu.reactor.toFixed(0)} µs, bare Apollo ${cpu.bare.toFixed(0)} µs of CPU per request (user + system of the server's process over the same runs): the throughput ratio's figure that load from other processes on the machine moves least`,
        });
        const even = await paced(server.url, read.body, { rate: PACED_RATE, seconds: PACED_SECONDS });
        const evenBare = await paced(bare.url, read.body, { rate: PACED_RATE, seconds: PACED_SECONDS });
        results.push({
          name: `reads: ${read.label} p99 at ${PACED_RATE} requests/s`,
          value: even.p99,
          unit: 'ms',
          goal: '< 20 ms',
          met: even.p99 < 20 && even.errors === 0,
          note:
            `${Math.round(even.rps)} req/s served, p50 ${even.p50} ms, errors ${even.errors}; ${PACED_SECONDS} s, requests evenly spaced (bench/paced.mjs, latency from when each was due); ` +
            `bare Apollo at the same rate, same run: p50 ${evenBare.p50} ms, p99 ${evenBare.p99} ms`,
        });
      }
    } finally {
      await bare.close();
    }
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
};

export default benchmark;
