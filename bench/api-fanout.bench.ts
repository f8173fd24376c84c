// Benchmark: metric samples fanned out to 1,000 and 10,000 graphql-ws subscribers, and setEndpointOption latency while 1,000 listen.
import { operation, paced, type LoadFigures } from './api-load.js';
import { fanOut, LOAD_CORE, startFanOutServer, writeFloor, type FanOutFigures } from './fan-out.js';
import type { Benchmark, BenchResult } from './types.js';

const ROUNDS = 10;
const MUTATION_RATE = 100;
// The value in a variable, as clients send it: the document is parsed and validated once, the value is new every time.
const MUTATION = operation('mutation Set($value: String!) { setEndpointOption(name: "svc1", section: "cloud:docker", key: "environment", value: $value) { name } }', {
  value: 'RUN=[<id>]',
});

const SETUP =
  'Reactor on SQLite, no agent (the API plane alone); samples stored in one write per round and published on the bus as the sampler does at --interval 1, ' +
  `${ROUNDS} rounds 1 s apart; subscribers speak graphql-ws (a UUID per subscription, as its client makes them) over a lean WebSocket client (bench/lean-ws.mjs) in client processes of their own, ${LOAD_CORE === null ? 'not pinned (no taskset)' : `pinned to CPU ${LOAD_CORE} (taskset: they stand in for clients on other machines; the server is not pinned)`}; the per-client WebSocket limit raised to 20,000 (all sockets come from 127.0.0.1), every other limit at its default`;

function describe(f: FanOutFigures): string {
  return (
    `lag p50 ${f.lag.p50} ms, p90 ${f.lag.p90} ms, max ${f.lag.max} ms; ${f.received.toLocaleString('en-US')} of ${f.expected.toLocaleString('en-US')} samples received, ` +
    `errors ${f.errors}, sockets that got other bytes past their subscription id for the same sample ${f.differing}; server event-loop delay p99 ${f.loop.p99.toFixed(1)} ms, max ${f.loop.max.toFixed(0)} ms; ` +
    `server CPU ${f.cpuPerDeliveryUs.toFixed(0)} µs per sample delivered to one socket (${f.systemPerDeliveryUs.toFixed(0)} µs of it in the kernel's socket write); ` +
    `the client processes' CPU ${f.clientCpuPerMessageUs.toFixed(0)} µs per sample received (they share the server's 2 cores); ` +
    `server RSS ${f.rssMb.toFixed(0)} MB (${f.rssIdleMb.toFixed(0)} MB before the sockets)`
  );
}

/** The size of one sample's frame as the server sends it (a UUID id, a sample of the benchmark's shape, the 4-byte header of a 126–65,535-byte text frame). */
function sampleFrameBytes(): number {
  const sample = { id: '01JDZ8Q4V6M2XK9T3B7C5N1R0A', endpoint: 'svc42', at: new Date().toISOString(), instances: 3, metrics: { active: 1.5, rate: 25, bytes: 4096, response: 12.5, pending: 0, bench: 5 } };
  const message = { id: '6f1c2b9e-2d4a-4f7e-9a51-0b8c3d2e1f44', type: 'next', payload: { data: { metricSamples: sample } } };
  return Buffer.byteLength(JSON.stringify(message)) + 4;
}

const benchmark: Benchmark = async () => {
  const results: BenchResult[] = [];
  // The baseline first, while no other socket is open: what writing alone costs here.
  const frameBytes = sampleFrameBytes();
  const floor = await writeFloor(10_000, frameBytes);
  results.push({
    name: 'baseline: one bare write of a ready frame to each of 10,000 loopback sockets',
    value: floor.roundMs,
    unit: 'ms',
    goal: '',
    note:
      `median of 5 rounds 1 s apart; a ${frameBytes}-byte frame (a sample's, as sent) written by a bare loop to 10,000 TCP connections from a process of their own that only reads them (on the load generator's core, as below); ` +
      `CPU ${floor.cpuPerWriteUs.toFixed(1)} µs per write, ${floor.systemPerWriteUs.toFixed(1)} µs of it in the kernel; no WebSocket, no GraphQL: the floor under the row below`,
  });
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
      note:
        `${(many.lag.p99 / floor.roundMs).toFixed(2)} × the time a bare loop takes to write once to all 10,000 sockets in the same run (${floor.roundMs.toFixed(0)} ms, the row above; that one is timed in the writing process, this one at the clients); ` +
        `${describe(many)}; two client processes of 5,000 sockets; ${SETUP}`,
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
