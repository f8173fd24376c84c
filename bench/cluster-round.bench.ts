// Benchmark (SIMULATION): the 1,000-endpoint round on the cluster store path with three simulated hosts, beside the one-host round in the same process. Pure CPU, so bench/run.ts runs it before the Docker benchmarks, which leave the engines and nginx busy for a while.
import { holdingMedian, median, simulatedRound } from './simulation.js';
import type { Benchmark, BenchResult } from './types.js';

/** Holding rounds of the simulation timed role by role. */
const SPLIT_ROUNDS = 5;
const ms = (value: number) => `${Math.round(value)} ms`;

const bench: Benchmark = async () => {
  const results: BenchResult[] = [];
  const sim = await simulatedRound({ hosts: 3, storeFeed: true, splitRounds: SPLIT_ROUNDS });
  const { median: hold, rounds } = holdingMedian(sim);
  // The one-host round of control.bench.ts, again in this process: on a shared machine, what the cluster path adds shows only side by side.
  const single = holdingMedian(await simulatedRound());
  const alone = `run apart (median of ${SPLIT_ROUNDS}): the controller's evaluation ${ms(median(sim.split.controller))}, each host's sweep ${sim.split.hosts.map((h) => ms(median(h))).join(', ')}`;
  const simulation =
    'SIMULATION: in-memory store and three in-memory hosts (agents sim1–3, each with its own engine sync); the real controller, sampler, scaling policy and scheduler; ' +
    'the cluster store path: the bus is fed only by the store feed reading the logs by sequence number (polled at once after each step, not every 100 ms), as on MongoDB; ' +
    'the controller and all three hosts share one thread here, where a cluster gives each host its own machine';
  results.push(
    {
      name: 'evaluation round, 1,000 endpoints × 10 instances on 3 hosts, all holding, cluster store path (simulation)',
      value: hold,
      unit: 'ms',
      goal: '< 100 ms',
      met: hold < 100,
      note: `${simulation}; median of ${rounds} rounds, every role at once; ${alone}; ${sim.fed} items fed over ${sim.steady.length + 1} rounds; one host on the direct bus, same run: ${ms(single.median)}`,
    },
    {
      name: 'evaluation round, 1,000 endpoints on 3 hosts, 100 of them scaling up by 5, cluster store path (simulation)',
      value: sim.first,
      unit: 'ms',
      goal: '',
      note: `${simulation}; 900 hold, 100 launch 5 each, placed across the hosts (${Object.entries(sim.perHost).map(([h, n]) => `${h} ${n}`).join(', ')} instances at the end)`,
    },
  );

  return results;
};

export default bench;
