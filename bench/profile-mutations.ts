// Profiling aid (not a benchmark): setEndpointOption at a fixed rate against a server with no subscribers; run with --cpu-prof.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { operation, paced } from './api-load.js';
import { startFanOutServer } from './fan-out.js';

const target = await startFanOutServer(2);
const MUTATION = operation('mutation Set($value: String!) { setEndpointOption(name: "svc1", section: "cloud:docker", key: "environment", value: $value) { name } }', {
  value: 'RUN=[<id>]',
});
const session = new Session();
session.connect();
const post = (method: string) => new Promise<any>((resolve, reject) => session.post(method, (error, result) => (error ? reject(error) : resolve(result))));
try {
  if (process.env.PROFILE) await post('Profiler.enable').then(() => post('Profiler.start'));
  const cpu = process.cpuUsage();
  const figures = await paced(target.server.url, MUTATION, { seconds: 5, rate: 100, ids: true });
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ ...figures, cpuPerRequestUs: (used.user + used.system) / figures.total }));
  // PROFILE=FILE: a CPU profile of the loaded window only (open it in Chrome's DevTools).
  if (process.env.PROFILE) writeFileSync(process.env.PROFILE, JSON.stringify((await post('Profiler.stop')).profile));
} finally {
  await target.close();
}
