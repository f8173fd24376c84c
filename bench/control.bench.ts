// Benchmark: load onset → a second instance serving through nginx (real engine and nginx) next to the physical floor, and one evaluation round of 1,000 endpoints (simulation).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryAgent } from '../src/agents/memory.js';
import { Controller } from '../src/control/controller.js';
import { EventBus } from '../src/events/bus.js';
import { EventRecorder } from '../src/events/recorder.js';
import { EngineSync } from '../src/host/engine-sync.js';
import { InstanceService } from '../src/instances/service.js';
import { MetricsSampler } from '../src/metrics/sampler.js';
import { silentLogger } from '../src/log/logger.js';
import { startServer } from '../src/server/server.js';
import { listWindow } from '../src/store/list-window.js';
import type {
  CustomMetricsRecord,
  DecisionRecord,
  EndpointRecord,
  EventRecord,
  InstanceRecord,
  ListOptions,
  ManagerRecord,
  MetricSampleRecord,
  Store,
} from '../src/store/types.js';
import { removeContainersWithLabel } from '../test/support/containers.js';
import { ensureTestImage, TEST_IMAGE } from '../test/support/images.js';
import type { Benchmark, BenchResult } from './types.js';
import { freePort } from '../src/util/ports.js';
import { realTimers } from '../src/time/timers.js';
import { waitFor } from '../test/support/wait.js';
import { BENCH_LABEL, startBenchContainer } from './containers.js';
import { get, POLL } from './http.js';

const INTERVAL_SECONDS = 1;
/**
 * The load: 4 clients at 25 requests a second each, 100 a second in all —
 * far over the rule's 1 a second, and well under what would starve this
 * 2-core machine (an unpaced load here runs ~650 requests a second through a
 * busybox httpd that forks per connection, and doubles the engine's
 * create + start time).
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

/** Load onset → the second instance answering through nginx, with the control loop at a 1 s interval. */
async function scaleUpLatency(): Promise<{ onsetMs: number; containerMs: number; reloadMs: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-bench-control-'));
  const port = await freePort();
  const otherPort = await freePort();
  const server = await startServer({ listen: '127.0.0.1:0', dataDir, agent: true, balancerAddress: '127.0.0.1', interval: INTERVAL_SECONDS, log: silentLogger });
  try {
    const { endpoints, store } = server.services;
    await endpoints.manage(
      'onset',
      `[endpoint]\nurl=http://:${port}/\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=2\nrules=0 < rate < 1\n[cloud:docker]\nimage=${TEST_IMAGE}\ncommand=/usr/local/bin/runapp\n`,
    );
    await endpoints.setState('onset', 'RUNNING');
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(async () => (await get(url)).status === 200, POLL);
    // Quiet first: the curl above is traffic too.
    const quietFrom = Date.now();
    await waitFor(async () => {
      const s = await store.samples.latest('onset');
      return Boolean(s && s.at.getTime() > quietFrom + 200 && s.metrics.rate === 0);
    }, POLL);

    // The load starts soon after an evaluation (the quiet check above reads the sample it stored), so the
    // wait for the next one is usually most of an interval: near the worst case the goal allows for.
    const child = spawn(process.execPath, ['--input-type=module', '-e', GENERATOR, url, String(CLIENTS), String(CLIENT_RATE)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const onsetMs = await new Promise<number>((resolve, reject) => {
      let buffer = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        for (const line of buffer.split('\n').slice(0, -1)) {
          const seen = JSON.parse(line) as { ms: number; hosts: number };
          if (seen.hosts >= 2) resolve(seen.ms);
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      });
      child.on('error', reject);
      setTimeout(() => reject(new Error('no second instance within 60 s')), 60_000).unref();
    }).finally(() => child.stdin.end());
    await new Promise((resolve) => child.on('close', resolve));

    // The floor, measured on the same machine: one container create + start + first answer…
    const t0 = performance.now();
    const { address } = await startBenchContainer('control');
    const containerMs = performance.now() - t0;
    // …plus one nginx reload: a backend change until nginx serves the new backend.
    await endpoints.manage('floor', `[endpoint]\nurl=http://:${otherPort}/\nport=5000\n[scaling]\nmin_instances=0\nmax_instances=0\n[cloud:docker]\nimage=${TEST_IMAGE}\n`);
    await waitFor(async () => (await get(`http://127.0.0.1:${otherPort}/`)).status === 502, POLL);
    const t1 = performance.now();
    await endpoints.setOption('floor', 'endpoint', 'static_instances', address);
    await waitFor(async () => (await get(`http://127.0.0.1:${otherPort}/`)).status === 200, POLL);
    const reloadMs = performance.now() - t1;
    return { onsetMs, containerMs, reloadMs };
  } finally {
    await server.close();
    await removeContainersWithLabel(BENCH_LABEL, 'control');
    await removeContainersWithLabel('reactor.endpoint', 'onset');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- The simulation: in-memory store and agent, the real reconciler, policy, engine and sampler. ----

/** The stores' `listWindow` over an array kept in id order. */
function windowOf<T extends { id: string; endpoint: string; at: Date }>(items: T[], endpoint: string | undefined, options: ListOptions = {}): T[] {
  const window = listWindow(options);
  let list = endpoint === undefined ? items : items.filter((i) => i.endpoint === endpoint);
  if (window.afterId !== undefined) list = list.filter((i) => i.id > window.afterId!);
  if (window.since !== undefined) list = list.filter((i) => i.at >= window.since!);
  return window.newestFirst ? list.slice(-window.limit) : list.slice(0, window.limit);
}

/** A Store in memory, indexed by endpoint where the loop reads per endpoint. */
function memoryStore(): Store {
  const endpoints = new Map<string, EndpointRecord>();
  const managers = new Map<string, ManagerRecord>();
  const instances = new Map<string, InstanceRecord>();
  const byEndpoint = new Map<string, Map<string, InstanceRecord>>();
  const events: EventRecord[] = [];
  const samples: MetricSampleRecord[] = [];
  const latest = new Map<string, MetricSampleRecord>();
  const decisions: DecisionRecord[] = [];
  const custom = new Map<string, CustomMetricsRecord>();
  const index = (endpoint: string) => {
    let map = byEndpoint.get(endpoint);
    if (!map) byEndpoint.set(endpoint, (map = new Map()));
    return map;
  };
  return {
    kind: 'sqlite',
    endpoints: {
      list: async () => [...endpoints.values()],
      get: async (name) => endpoints.get(name) ?? null,
      create: async (r) => {
        const now = new Date();
        const record = { ...r, version: 1, createdAt: now, updatedAt: now };
        endpoints.set(r.name, record);
        return record;
      },
      update: async (name, _v, changes) => {
        const record = { ...endpoints.get(name)!, ...changes, version: endpoints.get(name)!.version + 1, updatedAt: new Date() };
        endpoints.set(name, record);
        return record;
      },
      delete: async (name) => endpoints.delete(name),
    },
    managers: {
      list: async () => [...managers.values()],
      get: async (id) => managers.get(id) ?? null,
      upsert: async (r) => (managers.set(r.id, r), r),
      update: async (id, changes) => {
        const record = managers.get(id);
        if (!record) return null;
        const next = { ...record, ...changes };
        managers.set(id, next);
        return next;
      },
      delete: async (id) => managers.delete(id),
    },
    instances: {
      list: async (filter) => {
        if (filter?.endpoint !== undefined) return [...(byEndpoint.get(filter.endpoint)?.values() ?? [])];
        const all = [...instances.values()];
        return filter?.managerId !== undefined ? all.filter((i) => i.managerId === filter.managerId) : all;
      },
      get: async (id) => instances.get(id) ?? null,
      upsert: async (r) => {
        instances.set(r.id, r);
        index(r.endpoint).set(r.id, r);
        return r;
      },
      update: async (id, changes, expectStatus) => {
        const r = instances.get(id);
        if (!r || (expectStatus && !expectStatus.includes(r.status))) return null;
        const next = { ...r, ...changes };
        instances.set(id, next);
        index(next.endpoint).set(id, next);
        return next;
      },
      delete: async (id) => {
        const r = instances.get(id);
        if (!r) return false;
        instances.delete(id);
        byEndpoint.get(r.endpoint)?.delete(id);
        return true;
      },
      deleteByEndpoint: async (endpoint) => {
        const map = byEndpoint.get(endpoint);
        for (const id of map?.keys() ?? []) instances.delete(id);
        byEndpoint.delete(endpoint);
        return map?.size ?? 0;
      },
    },
    events: {
      append: async (e) => void events.push(e),
      appendMany: async (list) => void events.push(...list),
      list: async (endpoint, o) => windowOf(events, endpoint, o),
      prune: async () => 0,
      delete: async (id) => {
        const at = events.findIndex((e) => e.id === id);
        if (at >= 0) events.splice(at, 1);
        return at >= 0;
      },
    },
    samples: {
      append: async (s) => {
        samples.push(s);
        latest.set(s.endpoint, s);
      },
      appendMany: async (list) => {
        for (const s of list) {
          samples.push(s);
          latest.set(s.endpoint, s);
        }
      },
      latest: async (endpoint) => latest.get(endpoint) ?? null,
      list: async (endpoint, o) => windowOf(samples, endpoint, o),
      prune: async () => 0,
    },
    decisions: { append: async (d) => void decisions.push(d), appendMany: async (list) => void decisions.push(...list), list: async (endpoint, o) => windowOf(decisions, endpoint, o), prune: async () => 0 },
    customMetrics: {
      set: async (r) => (custom.set(`${r.endpoint}\u0000${r.instance}`, r), r),
      list: async (endpoint) => [...custom.values()].filter((r) => endpoint === undefined || r.endpoint === endpoint),
      delete: async () => 0,
    },
    close: async () => {},
  };
}


const ENDPOINTS = 1000;
const PER_ENDPOINT = 10;

/**
 * 1,000 RUNNING endpoints × 10 RUNNING instances on one in-memory manager.
 * Each has the rule `20 <= load <= 50` on an endpoint-wide custom metric:
 * 900 read 35 per instance (7..18 → hold at 10), every tenth reads 60
 * (12..30 → clamp 12..20 → target 16 → launch 5, the ramp limit), so a round
 * has both holds and scale-ups with placement.
 */
export async function simulatedRound(steadyRounds = 12): Promise<{ first: number; steady: number[] }> {
  const store = memoryStore();
  const bus = new EventBus();
  const clock = () => new Date();
  const events = new EventRecorder(store, bus, clock);
  const instances = new InstanceService(store, bus, events, clock);
  const agent = new MemoryAgent('sim');
  await store.managers.upsert({
    id: 'sim', name: 'sim', address: '10.0.0.1', slots: 1_000_000, usedSlots: 0, clouds: ['docker'], loadbalancers: ['nginx'], problems: [], lastSeen: clock(), createdAt: clock(),
  });
  for (let e = 0; e < ENDPOINTS; e++) {
    const name = `ep${String(e).padStart(4, '0')}`;
    await store.endpoints.create({
      name,
      state: 'RUNNING',
      configText: `[endpoint]\nurl=http://${name}.sim/\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=20\nrules=20 <= load <= 50\n[cloud:docker]\nimage=sim\n`,
    });
    await store.customMetrics.set({ endpoint: name, instance: '', metrics: { load: [1, e % 10 === 0 ? 60 : 35] }, updatedAt: clock() });
    for (let i = 0; i < PER_ENDPOINT; i++) {
      const record = await instances.create({ endpoint: name, slots: 1, status: 'RUNNING', managerId: 'sim', reason: null }, 'INSTANCE_CREATED', 'seeded');
      const launched = await agent.launch({ instanceId: record.id, endpoint: name, slots: 1, port: 5000, docker: {} as never, apiUrl: '' });
      await store.instances.upsert({ ...record, containerId: launched.containerId, address: launched.address });
    }
  }
  const sampler = new MetricsSampler({ store, bus, ownTimer: false, clock });
  const time = { now: clock, timers: realTimers };
  const controller = new Controller({ store, bus, events, instances, intervalSeconds: 0, traffic: () => sampler, time });
  const host = new EngineSync({
    store, bus, events, instances, agent, apiUrl: () => '', time, probe: async () => true, readinessPollMs: 1, intervalSeconds: 0, log: silentLogger,
  });
  await host.start();
  await controller.start();
  /** Until no round and no sync starts any more: the scale-ups' placements have been launched by the host. */
  const settle = async () => {
    for (;;) {
      const before = controller.activity + host.activity;
      await controller.idle();
      await host.idle();
      await new Promise((resolve) => setImmediate(resolve));
      if (controller.activity + host.activity === before) return;
    }
  };
  await settle();
  try {
    // One interval of both roles: the controller's evaluation of every endpoint and the host's sweep (repair and
    // health checks of every instance), then everything they set off (the host launching what was placed).
    const timed = async () => {
      const t0 = performance.now();
      await Promise.all([controller.tick(), host.sweep()]);
      await settle();
      return performance.now() - t0;
    };
    const first = await timed();
    const steady: number[] = [];
    for (let i = 0; i < steadyRounds; i++) steady.push(await timed());
    return { first, steady };
  } finally {
    await controller.stop();
    await host.stop();
  }
}

const bench: Benchmark = async () => {
  ensureTestImage();
  const results: BenchResult[] = [];
  const sim = await simulatedRound();
  // Rounds 2 and 3 still grow the busy tenth (15, then 20 = max); from round 4 on every endpoint holds.
  const holds = sim.steady.slice(2).sort((a, b) => a - b);
  const hold = holds[Math.floor(holds.length / 2)];
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
      note: `${simulation}; median of ${holds.length} rounds`,
    },
    {
      name: 'evaluation round, 1,000 endpoints, 100 of them scaling up by 5 (simulation)',
      value: sim.first,
      unit: 'ms',
      goal: '',
      note: `${simulation}; 900 hold, 100 launch 5 each (500 placements through the scheduler, one at a time)`,
    },
  );

  const real = await scaleUpLatency();
  const floor = real.containerMs + real.reloadMs;
  const goal = INTERVAL_SECONDS * 1000 + 1.5 * floor;
  results.push(
    {
      name: 'load onset → second instance serving through nginx',
      value: real.onsetMs,
      unit: 'ms',
      goal: `<= interval + 1.5 × floor = ${Math.round(goal)} ms`,
      met: real.onsetMs <= goal,
      note: `real engine and nginx, --interval ${INTERVAL_SECONDS} s, rules 0 < rate < 1, ${CLIENTS} fresh-connection clients at ${CLIENT_RATE} requests/s each in their own process, starting soon after an evaluation`,
    },
    {
      name: 'floor: container create + start + first answer, plus an nginx reload',
      value: floor,
      unit: 'ms',
      goal: '',
      note: `container ${real.containerMs.toFixed(0)} ms + backend change → nginx serving ${real.reloadMs.toFixed(0)} ms; evaluation interval ${INTERVAL_SECONDS * 1000} ms`,
    },
  );
  return results;
};

export default bench;
