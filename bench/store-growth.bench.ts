// Benchmark (SIMULATION): how fast the SQLite store grows with 1,000 endpoints at --interval 1 for 10 simulated minutes, and that retention bounds it.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryAgent } from '../src/agents/memory.js';
import { Controller } from '../src/control/controller.js';
import { EventBus } from '../src/events/bus.js';
import { EventRecorder } from '../src/events/recorder.js';
import { EventPruner } from '../src/events/retention.js';
import { EngineSync } from '../src/host/engine-sync.js';
import { InstanceService } from '../src/instances/service.js';
import { MetricsSampler } from '../src/metrics/sampler.js';
import { openStore } from '../src/store/open.js';
import { ManualTime } from '../src/time/timers.js';
import type { Benchmark, BenchResult } from './types.js';
import { silentLogger } from '../src/log/logger.js';

const ENDPOINTS = 1000;
const MINUTES = 10;
const INTERVAL_MS = 1000;

interface Growth {
  /** Store size (file after a WAL checkpoint) at the end of each simulated minute. */
  sizes: number[];
  rows: { samples: number; decisions: number; events: number };
  wallMs: number;
}

/**
 * 1,000 RUNNING endpoints of one instance each on an in-memory agent, a real
 * SQLite store, the real sampler (one sample per endpoint per interval) and
 * the real controller (one evaluation per endpoint per interval), on a
 * manual clock advanced 1 s per round: 600 rounds are 10 minutes of
 * `--interval 1`. Half the endpoints read a steady load, half a load that
 * moves a little every round (their decisions differ in the inputs, so they
 * are kept every round).
 */
async function grow(options: { keepEvery: number; retentionSeconds?: number }): Promise<Growth> {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-bench-growth-'));
  const file = join(dir, 'reactor.db');
  const store = await openStore(`sqlite:${file}`);
  const time = new ManualTime(new Date('2026-01-01T00:00:00Z'));
  const clock = time.now;
  const bus = new EventBus();
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
      configText: `[endpoint]\nurl=http://${name}.sim/\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=1\nrules=20 <= load <= 50\n[cloud:docker]\nimage=sim\n`,
    });
    const record = await instances.create({ endpoint: name, slots: 1, status: 'RUNNING', managerId: 'sim', reason: null }, 'INSTANCE_CREATED', 'seeded');
    const launched = await agent.launch({ instanceId: record.id, endpoint: name, slots: 1, port: 5000, docker: {} as never, apiUrl: '' });
    await store.instances.upsert({ ...record, containerId: launched.containerId, address: launched.address });
  }
  const retention = options.retentionSeconds;
  const sampler = new MetricsSampler({ store, bus, ownTimer: false, clock, ...(retention ? { retentionSeconds: retention } : { retentionSeconds: 365 * 86400 }) });
  const controller = new Controller({
    store, bus, events, instances, intervalSeconds: 0, traffic: () => sampler, time, decisionKeepEvery: options.keepEvery,
    retentionSeconds: retention ?? 365 * 86400,
  });
  const host = new EngineSync({ store, bus, events, instances, agent, apiUrl: () => '', time, probe: async () => true, readinessPollMs: 1, intervalSeconds: 0, log: silentLogger });
  const pruner = new EventPruner(store, retention ?? 365 * 86400, silentLogger, clock);
  await host.start();
  await controller.start();
  await controller.idle();
  const sizes: number[] = [];
  const started = performance.now();
  try {
    for (let round = 1; round <= MINUTES * 60; round++) {
      await time.advance(INTERVAL_MS);
      // Half the endpoints see a load that moves every round; half a steady one.
      for (let e = 0; e < ENDPOINTS; e += 2) {
        await store.customMetrics.set({ endpoint: `ep${String(e).padStart(4, '0')}`, instance: '', metrics: { load: [1, 30 + (round % 7)] }, updatedAt: clock() });
      }
      if (round === 1) for (let e = 1; e < ENDPOINTS; e += 2) await store.customMetrics.set({ endpoint: `ep${String(e).padStart(4, '0')}`, instance: '', metrics: { load: [1, 35] }, updatedAt: clock() });
      await controller.tick();
      await controller.idle();
      if (round % 60 === 0) {
        await pruner.prune();
        sizes.push(checkpointedSize(file, store));
        process.stderr.write(`  store-growth (keep every ${options.keepEvery}, retention ${retention ?? 'none'}): minute ${round / 60}, ${mb(sizes.at(-1)!)}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      }
    }
    const count = async (list: (endpoint: string | undefined, o: { since: Date; limit: number }) => Promise<unknown[]>) => {
      let total = 0;
      for (let e = 0; e < ENDPOINTS; e += 1) total += (await list(`ep${String(e).padStart(4, '0')}`, { since: new Date(0), limit: 10_000 })).length;
      return total;
    };
    return {
      sizes,
      rows: {
        samples: await count((endpoint, o) => store.samples.list(endpoint, o)),
        decisions: await count((endpoint, o) => store.decisions.list(endpoint, o)),
        events: (await store.events.list(undefined, { since: new Date(0), limit: 10_000 })).length,
      },
      wallMs: performance.now() - started,
    };
  } finally {
    await controller.stop();
    await host.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The database file's size once the WAL is written back into it. */
function checkpointedSize(file: string, _store: unknown): number {
  return statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
}

const perHour = (g: Growth, fromMinute: number, toMinute: number) => ((g.sizes[toMinute - 1] - g.sizes[fromMinute - 1]) / (toMinute - fromMinute)) * 60;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

const bench: Benchmark = async () => {
  const label = `SIMULATION: ${ENDPOINTS} endpoints at --interval 1 for ${MINUTES} simulated minutes (manual clock), real SQLite store, real sampler and controller, in-memory agent; half the endpoints' load moves every round`;
  const everyRound = await grow({ keepEvery: 1 });
  const thinned = await grow({ keepEvery: 60 });
  const retained = await grow({ keepEvery: 60, retentionSeconds: 300 });
  const baseline = perHour(everyRound, 2, MINUTES);
  const growth = perHour(thinned, 2, MINUTES);
  const bounded = perHour(retained, 7, MINUTES);
  const results: BenchResult[] = [
    {
      name: 'store growth, every decision kept (baseline, simulation)',
      value: baseline / 1048576,
      unit: 'MB/hour',
      goal: '',
      note: `${label}; ${everyRound.rows.samples} samples, ${everyRound.rows.decisions} decisions after 10 min; ${(everyRound.wallMs / 1000).toFixed(0)} s of wall time`,
    },
    {
      name: 'store growth, identical holding decisions kept every 60 rounds (simulation)',
      value: growth / 1048576,
      unit: 'MB/hour',
      goal: '< baseline',
      met: growth < baseline,
      note: `${(growth / baseline * 100).toFixed(0)} % of the baseline; ${thinned.rows.decisions} decisions (${everyRound.rows.decisions} when every one is kept: the moving half changes every round); the rest is samples, which retention bounds`,
    },
    {
      name: 'store growth with 5 min retention, minutes 7-10 (simulation)',
      value: bounded / 1048576,
      unit: 'MB/hour',
      goal: '<= 10 % of the unbounded growth',
      met: bounded <= 0.1 * growth,
      note: `retention 300 s for samples, decisions and events: the file stays at ${mb(retained.sizes[MINUTES - 1])} (minute 5: ${mb(retained.sizes[4])}) while without it it reaches ${mb(thinned.sizes[MINUTES - 1])}; freed pages are reused`,
    },
  ];
  return results;
};
export default bench;
