// Benchmark: placements per second of the pure slot scheduler over 100 managers.
import type { Benchmark, BenchResult } from './types.js';
import { planPlacements, type ManagerView, type PlacementRequest } from '../src/scheduler/placement.js';

const GOAL = 50_000;
const DURATION_MS = 2_000;
const MANAGERS = 100;
const REQUESTS_PER_PLAN = 1_000;

function snapshot(): { managers: ManagerView[]; requests: PlacementRequest[] } {
  // Hosts of different sizes and loads, a few unhealthy, so every filter and the scorer run.
  const managers: ManagerView[] = Array.from({ length: MANAGERS }, (_, i) => ({
    id: `manager-${String(i).padStart(3, '0')}`,
    name: `host-${i}`,
    slots: 200 + (i % 7) * 100,
    usedSlots: (i * 37) % 150,
    problems: i % 25 === 0 ? ['docker: engine not reachable'] : [],
    clouds: ['docker'],
  }));
  const requests: PlacementRequest[] = Array.from({ length: REQUESTS_PER_PLAN }, (_, i) => ({
    instanceId: `instance-${i}`,
    endpoint: `endpoint-${i % 20}`,
    slots: 1 + (i % 10),
    cloud: 'docker',
  }));
  return { managers, requests };
}

const bench: Benchmark = async () => {
  const input = snapshot();
  let sink = 0;
  for (let i = 0; i < 20; i++) sink += planPlacements(input).placements.length; // warm-up
  let placed = 0;
  let pending = 0;
  let plans = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(DURATION_MS) * 1_000_000n;
  let t = start;
  while (t < deadline) {
    const plan = planPlacements(input);
    placed += plan.placements.length;
    pending += plan.pending.length;
    plans++;
    t = process.hrtime.bigint();
  }
  const seconds = Number(t - start) / 1e9;
  const perSecond = Math.round((placed + pending) / seconds);
  const result: BenchResult = {
    name: `scheduler placements/s (${MANAGERS} managers, ${REQUESTS_PER_PLAN} requests per plan)`,
    value: perSecond,
    unit: 'placements/s',
    goal: `>= ${GOAL}/s`,
    met: perSecond >= GOAL,
    note: `${plans} plans in ${seconds.toFixed(2)} s; per plan ${placed / plans} placed, ${pending / plans} pending (checksum ${sink % 1000})`,
  };
  return [result];
};

export default bench;
