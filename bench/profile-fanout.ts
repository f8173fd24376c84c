// Profiling aid (not a benchmark): one fan-out run, e.g. `node --cpu-prof --import tsx bench/profile-fanout.ts 10000 100 2` (sockets, endpoints, client processes); prints the figures as JSON.
import { fanOut, startFanOutServer } from './fan-out.js';

const [sockets, endpoints, processes] = process.argv.slice(2).map(Number);
const target = await startFanOutServer(endpoints ?? 1);
try {
  console.log(JSON.stringify(await fanOut(target, { sockets: sockets ?? 1000, endpoints: endpoints ?? 1, rounds: 8, processes: processes ?? 1 })));
} finally {
  await target.close();
}
