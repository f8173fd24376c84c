// Benchmark: how many scaling decisions per second decide() makes for an endpoint with 5 rules and 100 instances.
import type { Benchmark, BenchResult } from './types.js';
import { decide, type DecisionInput, type InstanceView } from '../src/scaling/index.js';

const GOAL = 100_000;
const DURATION_MS = 2_000;

function endpoint(now: Date): DecisionInput {
  const statuses = ['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'STARTING', 'DECOMMISSIONED', 'PENDING', 'ERROR'] as const;
  const instances: InstanceView[] = Array.from({ length: 100 }, (_, i) => ({
    id: `inst-${i}`,
    status: statuses[i % statuses.length],
    active: (i * 7) % 13,
    createdAt: new Date(now.getTime() - (i + 1) * 60_000),
    decommissionedAt: statuses[i % statuses.length] === 'DECOMMISSIONED' ? new Date(now.getTime() - (i % 90) * 1000) : null,
  }));
  return {
    endpoint: 'bench',
    state: 'RUNNING',
    scaling: {
      minInstances: 1,
      maxInstances: 200,
      rules: '2 <= instances <= 150, 0 < rate < 20, 10 <= active <= 30, response < 300, queue_depth <= 5',
      rampLimit: 5,
    },
    decommissionedTimeout: 60,
    sample: { instances: 80, metrics: { active: 12.5, rate: 18.3, bytes: 20480, response: 120, pending: 0.4, queue_depth: 2.2 } },
    instances,
  };
}

const bench: Benchmark = async () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const base = endpoint(now);
  // Alternate between two loads so both the up and the down path are measured.
  const up = base;
  const down: DecisionInput = { ...base, sample: { instances: 80, metrics: { ...base.sample!.metrics, rate: 2, active: 1 } } };
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += decide(i & 1 ? up : down, now).target; // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(DURATION_MS) * 1_000_000n;
  let t = start;
  while (t < deadline) {
    for (let i = 0; i < 1_000; i++, n++) sink += decide(n & 1 ? up : down, now).actions.length;
    t = process.hrtime.bigint();
  }
  const seconds = Number(t - start) / 1e9;
  const perSecond = Math.round(n / seconds);
  const result: BenchResult = {
    name: 'scaling decisions/s (5 rules, 100 instances)',
    value: perSecond,
    unit: 'decisions/s',
    goal: `>= ${GOAL}/s`,
    met: perSecond >= GOAL,
    note: `${n} decide() calls in ${seconds.toFixed(2)} s, alternating scale-up and scale-down rounds (checksum ${sink % 1000})`,
  };
  return [result];
};

export default bench;
