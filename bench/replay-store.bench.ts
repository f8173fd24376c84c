// Benchmark: a day's replay end to end through the replay service: 86,400 samples and 86,400 decisions read from SQLite, then the engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayService } from '../src/server/replay-service.js';
import { newId } from '../src/store/ids.js';
import { openStore } from '../src/store/open.js';
import type { DecisionRecord, MetricSampleRecord } from '../src/store/types.js';
import type { Benchmark } from './types.js';

const GOAL_S = 2;
const ROUNDS = 86_400;
const CONFIG = `[endpoint]\nurl=http://bench.test\nloadbalancer=nginx\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=50\nrules=15 < rate < 30\n[cloud:docker]\nimage=bench\n`;

const bench: Benchmark = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-bench-replay-'));
  const store = await openStore(`sqlite:${join(dir, 'reactor.db')}`);
  try {
    // A day that ended a second ago, one sample and one evaluation per second (the record as decide() leaves it, trimmed).
    const end = Date.now() - 1000;
    await store.endpoints.create({ name: 'bench', state: 'RUNNING', configText: CONFIG });
    let count = 2;
    for (let from = 0; from < ROUNDS; from += 5000) {
      const samples: MetricSampleRecord[] = [];
      const decisions: DecisionRecord[] = [];
      for (let k = from; k < Math.min(ROUNDS, from + 5000); k++) {
        const at = new Date(end - (ROUNDS - k) * 1000);
        const total = 350 - 300 * Math.cos((2 * Math.PI * k) / ROUNDS) * (0.9 + (0.2 * ((k * 7919) % 100)) / 100);
        const target = Math.min(50, Math.max(1, Math.ceil(total / 25)));
        samples.push({ id: newId(), endpoint: 'bench', at, instances: count, metrics: { rate: total / count, active: 0.5, bytes: (total * 1300) / count, response: 3, pending: 0 } });
        decisions.push({
          id: newId(),
          endpoint: 'bench',
          at: new Date(at.getTime() + 3),
          record: {
            round: 'evaluate', cause: '', state: 'RUNNING', current: count, target, after: target, rampLimit: 5, rampCut: 0, conflict: false,
            inputs: { metrics: {}, reported: count, current: count, minInstances: 1, maxInstances: 50, rampLimit: 5, decommissionedTimeout: 60, rules: '15 < rate < 30' },
            ideal: { min: target, max: null }, clamped: { min: target, max: target }, rules: [], actions: [], applied: [], held: null, notes: [], summary: '',
          },
        });
        count = target;
      }
      await store.samples.appendMany(samples);
      await store.decisions.appendMany(decisions);
    }
    const service = new ReplayService({ store, clock: () => new Date(), retention: { samplesSeconds: 2 * ROUNDS, decisionsSeconds: 2 * ROUNDS } });
    const args = { endpoint: 'bench', policy: { rules: ['7.5 < rate < 15'], minInstances: 1, maxInstances: 50 }, from: new Date(end - ROUNDS * 1000 - 500), launchSeconds: 2 };
    await service.replay({ ...args, from: new Date(end - 3600_000) }); // warm-up
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    const report = await service.replay(args);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return [
      {
        name: 'replay a day of 1 s samples through the service (SQLite read included)',
        value: seconds,
        unit: 's',
        // The goal is the engine's (bench/replay.bench.ts); this row shows what reading the store adds to it.
        goal: '',
        note: `${report.rounds.toLocaleString('en-US')} samples and ${report.compared.toLocaleString('en-US')} decisions read through TypeORM in pages of 10,000, then replayed; ${seconds < GOAL_S ? 'within' : 'over'} the engine's ${GOAL_S} s goal; CPU ${cpuSeconds.toFixed(2)} s (all threads)`,
      },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
