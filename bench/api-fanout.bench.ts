// Benchmark: metric samples fanned out to 1,000 and 10,000 graphql-ws subscribers, and setEndpointOption latency while 1,000 listen.
import { operation, paced, type LoadFigures } from './api-load.js';
import { fanOut, startFanOutServer, type FanOutFigures } from './fan-out.js';
import type { Benchmark, BenchResult } from './types.js';

const ROUNDS = 10;
const MUTATION_RATE = 100;
// The value in a variable, as clients send it: the document is parsed and validated once, the value is new every time.
const MUTATION = operation('mutation Set($value: String!) { setEndpointOption(name: "svc1", section: "cloud:docker", key: "environment", value: $value) { name } }', {
  value: 'RUN=[<id>]',
});

const SETUP =
  'Reactor on SQLite, no agent (the API plane alone); samples stored in one write per round and published on the bus as the sampler does at --interval 1, ' +
  `${ROUNDS} rounds 1 s apart; subscribers speak graphql-ws (a UUID per subscription, as its client makes them) over a lean WebSocket client (bench/lean-ws.mjs) in client processes of their own; the per-client WebSocket limit raised to 20,000 (all sockets come from 127.0.0.1), every other limit at its default`;

function describe(f: FanOutFigures): string {
  return (
    `lag p50 ${f.lag.p50} ms, p90 ${f.lag.p90} ms, max ${f.lag.max} ms; ${f.received.toLocaleString('en-US')} of ${f.expected.toLocaleString('en-US')} samples received, ` +
    `errors ${f.errors}, sockets that got other bytes past their subscription id for the same sample ${f.differing}; server event-loop delay p99 ${f.loop.p99.toFixed(1)} ms, max ${f.loop.max.toFixed(0)} ms; ` +
    `server CPU ${f.cpuPerDeliveryUs.toFixed(0)} µs per sample delivered to one socket (${f.systemPerDeliveryUs.toFixed(0)} µs of it in the kernel's socket write); ` +
    `the client processes' CPU ${f.clientCpuPerMessageUs.toFixed(0)} µs per sample received (they share the server's 2 cores); ` +
    `server RSS ${f.rssMb.toFixed(0)} MB (${f.rssIdleMb.toFixed(0)} MB before the sockets)`
  );
}

const benchmark: Benchmark = async () => {
  const results: BenchResult[] = [];
  const target = await startFanOutServer(100);
  try {
    // The 10,000 first: its RSS is then not raised by what the earlier runs left on the heap.
    const many = await fanOut(target, { sockets: 10_000, endpoints: 100, rounds: ROUNDS, processes: 2 });
    results.push({
      name: '10,000 subscribers over 100 endpoints (100 each): sample → client lag p99',
      value: many.lag.p99,
      unit: 'ms',
      goal: '< 250 ms',
      met: many.lag.p99 < 250,
      note: `${describe(many)}; two client processes of 5,000 sockets; ${SETUP}`,
    });
    results.push({
      name: '10,000 subscribers over 100 endpoints: server RSS',
      value: many.rssMb,
      unit: 'MB',
      goal: '< 500 MB',
      met: many.rssMb < 500,
      note: `highest resident memory of the server process during the rounds (it also holds the benchmark's own code); ${many.rssIdleMb.toFixed(0)} MB before the sockets opened`,
    });
    results.push({
      name: '10,000 subscribers over 100 endpoints: samples lost',
      value: many.expected - many.received,
      unit: 'samples',
      goal: '0',
      met: many.expected === many.received && many.errors === 0,
      note: `${many.received.toLocaleString('en-US')} of ${many.expected.toLocaleString('en-US')} received, errors ${many.errors}, none cut off as a slow consumer`,
    });
    const one = await fanOut(target, { sockets: 1000, endpoints: 1, rounds: ROUNDS, processes: 1 });
    results.push({
      name: '1,000 subscribers of one endpoint\'s metricSamples: sample → client lag p99',
      value: one.lag.p99,
      unit: 'ms',
      goal: '< 100 ms, none lost',
      met: one.lag.p99 < 100 && one.received === one.expected && one.errors === 0,
      note: `${describe(one)}; ${SETUP}`,
    });

    let mutations: LoadFigures | undefined;
    const busy = await fanOut(target, {
      sockets: 1000,
      endpoints: 1,
      rounds: ROUNDS,
      processes: 1,
      during: async () => (mutations = await paced(target.server.url, MUTATION, { seconds: ROUNDS - 2, rate: MUTATION_RATE, ids: true })),
    });
    results.push({
      name: `setEndpointOption p99 at ${MUTATION_RATE} requests/s while 1,000 subscribers receive samples`,
      value: mutations!.p99,
      unit: 'ms',
      goal: '< 30 ms',
      met: mutations!.p99 < 30 && mutations!.errors === 0,
      note:
        `each mutation a new value (stored, an event recorded, the cache forgotten); ${Math.round(mutations!.rps)} req/s served, p50 ${mutations!.p50} ms, errors ${mutations!.errors}, requests evenly spaced from a process of their own (bench/paced.mjs); ` +
        `meanwhile the 1,000 subscribers: lag p99 ${busy.lag.p99} ms, ${busy.received} of ${busy.expected} received`,
    });

  } finally {
    await target.close();
  }
  return results;
};

export default benchmark;
