// Benchmark: cold start from 0 instances and load onset → a second instance serving (real engine and nginx, default interval) next to the container-start floor, and one evaluation round of 1,000 endpoints (simulation).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/log/logger.js';
import { startServer } from '../src/server/server.js';
import { freePort } from '../src/util/ports.js';
import { removeContainersWithLabel } from '../test/support/containers.js';
import { ensureTestImage, TEST_IMAGE } from '../test/support/images.js';
import { waitFor } from '../test/support/wait.js';
import { BENCH_LABEL, startBenchContainer } from './containers.js';
import { get, POLL } from './http.js';
import { holdingMedian, simulatedRound } from './simulation.js';
import type { Benchmark, BenchResult } from './types.js';

/** The default --interval: scale-up must not wait for it (issue 12 part 4). */
const INTERVAL_SECONDS = 10;
/**
 * The load: 4 clients at 25 requests a second each, 100 a second in all —
 * ten times the rule's 10 a second per instance, and well under what would
 * starve this 2-core machine (an unpaced load here runs ~650 requests a
 * second through a busybox httpd that forks per connection, and doubles the
 * engine's create + start time).
 */
const CLIENTS = 4;
const CLIENT_RATE = 25;

/**
 * Paced fresh-connection GETs from a child process (`concurrency` clients,
 * each at most `rate` requests a second); prints the moment (ms since its
 * start) each new host name first answers.
 */
const GENERATOR = `
import http from 'node:http';
const [url, concurrency, rate] = process.argv.slice(1);
const gapMs = 1000 / Number(rate);
const seen = new Set();
const start = performance.now();
let stopping = false;
process.stdin.on('data', () => {}).on('end', () => (stopping = true));
function one() {
  return new Promise((resolve) => {
    http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const host = body.trim();
        if (res.statusCode === 200 && !seen.has(host)) { seen.add(host); process.stdout.write(JSON.stringify({ host, ms: performance.now() - start, hosts: seen.size }) + '\\n'); }
        resolve();
      });
    }).on('error', () => resolve());
  });
}
async function worker() {
  while (!stopping) {
    const started = performance.now();
    await one();
    const wait = gapMs - (performance.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
`;

interface Figures {
  /** 0 instances → the first held request answered. */
  coldMs: number;
  /** Load onset → the second instance answering through nginx. */
  onsetMs: number;
  /** Median container create + start + first answer, three runs. */
  containerMs: number;
  /** A backend change until nginx serves it (the reload the second instance needs today). */
  reloadMs: number;
}

/** Cold start, then load onset, on one server at the default interval; then the floor, on the same machine in the same run. */
async function measure(): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-bench-control-'));
  const [coldPort, port, otherPort] = [await freePort(), await freePort(), await freePort()];
  const server = await startServer({ listen: '127.0.0.1:0', dataDir, agent: true, balancerAddress: '127.0.0.1', interval: INTERVAL_SECONDS, log: silentLogger });
  try {
    const { endpoints, store, traffic } = server.services;
    const image = `[cloud:docker]\nimage=${TEST_IMAGE}\ncommand=/usr/local/bin/runapp\n`;

    // Cold start: an endpoint at 0 instances; one request is held, launches the first instance, and is answered by it.
    await endpoints.manage('cold', `[endpoint]\nurl=http://:${coldPort}/\nport=5000\n[scaling]\nmin_instances=0\nmax_instances=1\nrules=0 < rate < 1000\n${image}`);
    await endpoints.setState('cold', 'RUNNING');
    await waitFor(() => traffic.balancer?.driver.current.find((e) => e.name === 'cold')?.fallback, POLL);
    const c0 = performance.now();
    const cold = await get(`http://127.0.0.1:${coldPort}/`);
    const coldMs = performance.now() - c0;
    if (cold.status !== 200) throw new Error(`cold start answered ${cold.status}: ${cold.body}`);

    // Load onset: one instance serving, rules 0 < rate < 10, a load of 100 requests a second.
    await endpoints.manage('onset', `[endpoint]\nurl=http://:${port}/\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=2\nrules=0 < rate < 10\n${image}`);
    await endpoints.setState('onset', 'RUNNING');
    // No request before the instance runs: it would be held, and count as traffic.
    await waitFor(async () => (await store.instances.list({ endpoint: 'onset' })).some((i) => i.status === 'RUNNING'), POLL);
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(async () => (await get(url)).status === 200, POLL);
    // The load starts right after an evaluation, so the next is a whole interval away: what the interval alone would cost.
    const evaluated = async () => (await store.decisions.list('onset')).filter((d) => d.record.startedBy === 'interval').length;
    const seen = await evaluated();
    await waitFor(async () => (await evaluated()) > seen, { ...POLL, intervalMs: 20, timeoutMs: 3 * INTERVAL_SECONDS * 1000 });
    const child = spawn(process.execPath, ['--input-type=module', '-e', GENERATOR, url, String(CLIENTS), String(CLIENT_RATE)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const onsetMs = await new Promise<number>((resolve, reject) => {
      let buffer = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        for (const line of buffer.split('\n').slice(0, -1)) {
          const seenHost = JSON.parse(line) as { ms: number; hosts: number };
          if (seenHost.hosts >= 2) resolve(seenHost.ms);
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      });
      child.on('error', reject);
      setTimeout(() => reject(new Error('no second instance within 60 s')), 60_000).unref();
    }).finally(() => child.stdin.end());
    await new Promise((resolve) => child.on('close', resolve));

    // The floor, measured on the same machine: one container create + start + first answer (median of 3)…
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await startBenchContainer('control');
      runs.push(performance.now() - t0);
    }
    const containerMs = runs.sort((a, b) => a - b)[1]!;
    // …and, for the note, one nginx reload: a backend change until nginx serves the new backend.
    const { address } = await startBenchContainer('control');
    await endpoints.manage('floor', `[endpoint]\nurl=http://:${otherPort}/\nport=5000\n[scaling]\nmin_instances=0\nmax_instances=0\n[cloud:docker]\nimage=${TEST_IMAGE}\n`);
    await waitFor(async () => (await get(`http://127.0.0.1:${otherPort}/`)).status === 502, POLL);
    const t1 = performance.now();
    await endpoints.setOption('floor', 'endpoint', 'static_instances', address);
    await waitFor(async () => (await get(`http://127.0.0.1:${otherPort}/`)).status === 200, POLL);
    const reloadMs = performance.now() - t1;
    return { coldMs, onsetMs, containerMs, reloadMs };
  } finally {
    await server.close();
    await removeContainersWithLabel(BENCH_LABEL, 'control');
    await removeContainersWithLabel('reactor.endpoint', 'onset');
    await removeContainersWithLabel('reactor.endpoint', 'cold');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const bench: Benchmark = async () => {
  ensureTestImage();
  const results: BenchResult[] = [];
  const sim = await simulatedRound();
  const { median: hold, rounds } = holdingMedian(sim);
  const simulation =
    'SIMULATION: in-memory store and agent; the real sampler, controller, host engine sync, scaling policy and engine; ' +
    'per endpoint sample → decide → plan → place → desired state and decision stored and published, and the host\'s repair and health checks';
  results.push(
    {
      name: 'evaluation round, 1,000 endpoints × 10 instances, all holding (simulation)',
      value: hold,
      unit: 'ms',
      goal: '< 100 ms',
      met: hold < 100,
      note: `${simulation}; median of ${rounds} rounds`,
    },
    {
      name: 'evaluation round, 1,000 endpoints, 100 of them scaling up by 5 (simulation)',
      value: sim.first,
      unit: 'ms',
      goal: '',
      note: `${simulation}; 900 hold, 100 launch 5 each (500 placements through the scheduler, one at a time)`,
    },
  );

  const real = await measure();
  const floor = real.containerMs;
  const coldGoal = floor + 500;
  const onsetGoal = floor + 1000;
  results.push(
    {
      name: 'cold start: 0 instances → first held request answered',
      value: real.coldMs,
      unit: 'ms',
      goal: `<= floor + 0.5 s = ${Math.round(coldGoal)} ms`,
      met: real.coldMs <= coldGoal,
      note: `real engine and nginx, --interval ${INTERVAL_SECONDS} s, min_instances 0: nginx → activator (held) → SURGE event → HELD round → launch → readiness → proxied to the instance`,
    },
    {
      name: 'load onset → second instance serving through nginx',
      value: real.onsetMs,
      unit: 'ms',
      goal: `<= floor + 1 s = ${Math.round(onsetGoal)} ms`,
      met: real.onsetMs <= onsetGoal,
      note: `real engine and nginx, --interval ${INTERVAL_SECONDS} s (the default), rules 0 < rate < 10, ${CLIENTS} fresh-connection clients at ${CLIENT_RATE} requests/s each in their own process, starting right after an evaluation (the interval alone would wait ~${INTERVAL_SECONDS} s); includes one nginx reload (${real.reloadMs.toFixed(0)} ms in this run)`,
    },
    {
      name: 'floor: container create + start + first answer (median of 3)',
      value: floor,
      unit: 'ms',
      goal: '',
      note: `same run, same machine; a backend change → nginx serving took ${real.reloadMs.toFixed(0)} ms`,
    },
  );
  return results;
};

export default bench;
