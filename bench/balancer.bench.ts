// Benchmark: throughput and p99 latency through Reactor's nginx vs straight to the same container, and backend-change-to-serving time.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchResult } from './types.js';
import { freePort } from '../src/util/ports.js';
import { removeContainersWithLabel } from '../test/support/containers.js';
import { waitFor } from '../test/support/wait.js';
import { BENCH_LABEL, startBenchContainer } from './containers.js';
import { get, POLL } from './http.js';
import { silentLogger } from '../src/log/logger.js';
import { startServer } from '../src/server/server.js';
import { ensureTestImage } from '../test/support/images.js';

const CONCURRENCY = 16;
const RUN_MS = 3_000;
const MAX_REQUESTS = 100_000;
/** Alternating pairs (direct, then through nginx): the ratio is the median pair's, so a drift of the machine's speed between pairs moves it least. */
const ROUNDS = 6;

/**
 * The load generator runs in its own process so it does not share an event
 * loop with the control plane; keep-alive agent, a fixed number of requests
 * in flight, bounded in time and in requests. Prints {count, errors, ms, p99}.
 */
const GENERATOR = `
import http from 'node:http';
const [url, concurrency, runMs, maxRequests] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const latencies = [];
let sent = 0, errors = 0;
const start = performance.now();
const deadline = start + Number(runMs);
function one() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => { latencies.push(performance.now() - t0); if (res.statusCode !== 200) errors++; resolve(); });
    }).on('error', () => { errors++; resolve(); });
  });
}
async function worker() { while (performance.now() < deadline && sent < Number(maxRequests)) { sent++; await one(); } }
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const ms = performance.now() - start;
latencies.sort((a, b) => a - b);
agent.destroy();
process.stdout.write(JSON.stringify({ count: latencies.length, errors, ms, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 }));
`;

interface Run {
  count: number;
  errors: number;
  ms: number;
  p99: number;
}

function generate(url: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', GENERATOR, url, String(CONCURRENCY), String(RUN_MS), String(MAX_REQUESTS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as Run);
      } catch {
        reject(new Error(`load generator printed ${JSON.stringify(out)}`));
      }
    });
  });
}





async function removeContainers(): Promise<void> {
  await removeContainersWithLabel(BENCH_LABEL, 'balancer');
}

const config = (port: number, backend: string) => `[endpoint]
url=http://:${port}/
loadbalancer=nginx
port=5000
static_instances=${backend}

[scaling]
min_instances=0
max_instances=0

[cloud:docker]
image=reactor-test/httpd:1

[loadbalancer:nginx]
keepalive=16
`;

const bench: Benchmark = async () => {
  await removeContainers();
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-bench-'));
  const [a, b] = await Promise.all([startBenchContainer('balancer'), startBenchContainer('balancer')]);
  const port = await freePort();
  const server = await startServer({ listen: '127.0.0.1:0', dataDir, agent: true, balancerAddress: '127.0.0.1', interval: 1, log: silentLogger });
  try {
    const { endpoints } = server.services;
    await endpoints.manage('bench', config(port, a.address));
    const viaNginx = `http://127.0.0.1:${port}/`;
    await waitFor(async () => (await get(viaNginx)).status === 200, POLL);
    await generate(viaNginx); // warm-up: nginx workers, docker-proxy, page cache

    const direct: Run[] = [];
    const balanced: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await generate(`http://${a.address}/`));
      balanced.push(await generate(viaNginx));
    }
    const rate = (runs: Run[]) => runs.reduce((s, r) => s + r.count, 0) / (runs.reduce((s, r) => s + r.ms, 0) / 1000);
    const p99 = (runs: Run[]) => Math.max(...runs.map((r) => r.p99));
    const errors = (runs: Run[]) => runs.reduce((s, r) => s + r.errors, 0);
    const directRate = rate(direct);
    const nginxRate = rate(balanced);
    const pairs = direct.map((run, i) => rate([balanced[i]!]) / rate([run])).sort((x, y) => x - y);
    const ratio = (pairs[(pairs.length - 1) >> 1]! + pairs[pairs.length >> 1]!) / 2;

    // Backend change → nginx serving the new set: swap the backend and poll until the new container answers.
    const changes: number[] = [];
    let current = a;
    for (let i = 0; i < 6; i++) {
      const next = current === a ? b : a;
      const started = performance.now();
      await endpoints.setOption('bench', 'endpoint', 'static_instances', next.address);
      await waitFor(async () => (await get(viaNginx)).body.trim() === next.hostname, POLL);
      changes.push(performance.now() - started);
      current = next;
    }
    changes.sort((x, y) => x - y);
    const median = changes[Math.floor(changes.length / 2)];

    const how = server.services.traffic.balancer?.driver.lua ? 'Lua balancer' : 'server lines (no Lua module)';
    const note = `${CONCURRENCY} connections, ${ROUNDS}×${RUN_MS / 1000} s each, keep-alive client in its own process; busybox httpd backend; ${how}`;
    const results: BenchResult[] = [
      { name: 'requests/s straight to the container', value: directRate, unit: 'req/s', goal: '', note: `${note}; errors ${errors(direct)}` },
      { name: 'requests/s through nginx', value: nginxRate, unit: 'req/s', goal: '', note: `errors ${errors(balanced)}` },
      { name: 'nginx throughput vs direct', value: ratio * 100, unit: '%', goal: '>= 90 %', met: ratio >= 0.9, note: `same container, same run; median of ${pairs.length} alternating pairs (${pairs.map((p) => `${(p * 100).toFixed(0)} %`).join(', ')})` },
      { name: 'p99 latency straight to the container', value: p99(direct), unit: 'ms', goal: '' },
      { name: 'p99 latency through nginx', value: p99(balanced), unit: 'ms', goal: '' },
      {
        name: 'backend change → nginx serving it (median)',
        value: median,
        unit: 'ms',
        goal: '<= 1000 ms',
        met: median <= 1000,
        note: `setEndpointOption → first answer from the new container; max ${changes[changes.length - 1].toFixed(0)} ms over ${changes.length}`,
      },
    ];
    return results;
  } finally {
    await server.close();
    await removeContainers();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

export default bench;
