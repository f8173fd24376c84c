// Benchmark: replay speed of the pure engine: a day of 1 s samples for one endpoint, and an hour of 100 endpoints, each with its recorded decisions.
import { replayScaling, type ReplayInput } from '../src/replay/engine.js';
import type { RecordedRound, RecordedSample } from '../src/replay/types.js';
import type { Benchmark, BenchResult } from './types.js';

const DAY_GOAL_S = 2;
const FLEET_GOAL_S = 5;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const POLICY = { rules: '15 < rate < 30, active <= 10', minInstances: 1, maxInstances: 50, rampLimit: 5 };
const CANDIDATE = { ...POLICY, rules: '7.5 < rate < 15, active <= 5' };

/** A small deterministic generator (mulberry32), so every run replays the same traffic. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * `rounds` one-second samples of a daily wave (50 to 650 requests/s) with
 * ±20 % noise and bursts, recorded over a count that follows the load, and one
 * recorded evaluation per sample.
 */
function recording(rounds: number, seed: number): Pick<ReplayInput, 'samples' | 'decisions'> {
  const next = random(seed);
  const samples: RecordedSample[] = new Array(rounds);
  const decisions: RecordedRound[] = new Array(rounds);
  let count = 2;
  for (let k = 0; k < rounds; k++) {
    const wave = 350 - 300 * Math.cos((2 * Math.PI * k) / 86_400 + seed);
    const burst = next() < 0.002 ? 3 : 1;
    const total = wave * burst * (0.8 + 0.4 * next());
    const at = new Date(T0 + k * 1000);
    samples[k] = { at, instances: count, metrics: { rate: total / count, active: (total * 0.02) / count, bytes: (total * 1300) / count, response: 3 + next(), pending: 0 } };
    const target = Math.min(50, Math.max(1, Math.ceil(total / 25)));
    const after = Math.abs(target - count) > 5 ? count + Math.sign(target - count) * 5 : target;
    decisions[k] = { at: new Date(at.getTime() + 3), round: 'evaluate', state: 'RUNNING', current: count, target, after, launches: Math.max(0, after - count), policy: POLICY };
    count = after;
  }
  return { samples, decisions };
}

function run(data: Pick<ReplayInput, 'samples' | 'decisions'>): number {
  const report = replayScaling({ endpoint: 'bench', policy: CANDIDATE, launch: { seconds: 2, source: 'given', launches: 0 }, decommissionedTimeout: 60, ...data });
  return report.replayed.scaleEvents + report.differences;
}

/** Wall time (the goal), and CPU time of all threads, which says more on a machine others share. */
function seconds(work: () => number): { seconds: number; cpu: number; checksum: number } {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const checksum = work();
  const cpu = process.cpuUsage(cpu0);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, cpu: (cpu.user + cpu.system) / 1e6, checksum };
}

const bench: Benchmark = async () => {
  const day = recording(86_400, 1);
  const fleet = Array.from({ length: 100 }, (_, i) => recording(3600, 100 + i));
  run(recording(3600, 7)); // warm-up

  // The median of three runs of each: one run is one answer an operator waits for.
  const days = [0, 1, 2].map(() => seconds(() => run(day))).sort((a, b) => a.seconds - b.seconds);
  const fleets = [0, 1, 2]
    .map(() => seconds(() => fleet.reduce((sum, data) => sum + run(data), 0)))
    .sort((a, b) => a.seconds - b.seconds);
  const dayS = days[1].seconds;
  const fleetS = fleets[1].seconds;
  const results: BenchResult[] = [
    {
      name: 'replay a day of 1 s samples, one endpoint (86,400 rounds)',
      value: dayS,
      unit: 's',
      goal: `< ${DAY_GOAL_S} s`,
      met: dayS < DAY_GOAL_S,
      note: `pure engine, decide() every round, 86,400 recorded evaluations paired; ${Math.round(86_400 / dayS).toLocaleString('en-US')} rounds/s; median of 3, CPU ${days[1].cpu.toFixed(2)} s (checksum ${days[1].checksum})`,
    },
    {
      name: 'replay an hour of 100 endpoints (360,000 rounds)',
      value: fleetS,
      unit: 's',
      goal: `< ${FLEET_GOAL_S} s`,
      met: fleetS < FLEET_GOAL_S,
      note: `pure engine, one replay per endpoint in turn; ${Math.round(360_000 / fleetS).toLocaleString('en-US')} rounds/s; median of 3, CPU ${fleets[1].cpu.toFixed(2)} s (checksum ${fleets[1].checksum})`,
    },
  ];
  return results;
};

export default bench;
