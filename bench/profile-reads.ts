// Profiling aid (not a benchmark): Reactor and bare Apollo under the read load, one after the other; run with --cpu-prof to see where Reactor's time goes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/log/logger.js';
import { startServer } from '../src/server/server.js';
import { autocannon, ENDPOINTS_QUERY, ENDPOINT_QUERY, operation, seedEndpoints, startBareApollo } from './api-load.js';

const server = await startServer({ listen: '127.0.0.1:0', dataDir: mkdtempSync(join(tmpdir(), 'reactor-prof-')), agent: false, log: silentLogger });
const data = await seedEndpoints(server, 10, 3);
const bare = await startBareApollo(data);
const seconds = Number(process.env.SECONDS_EACH ?? 5);
for (const [label, body] of [['endpoints', operation(ENDPOINTS_QUERY)], ['endpoint', operation(ENDPOINT_QUERY, { name: 'svc3' })]] as const) {
  const b = process.env.ONLY === 'reactor' ? { rps: 1 } : await autocannon(bare.url, body, { connections: 50, seconds });
  const r = await autocannon(server.url, body, { connections: 50, seconds });
  console.log(label, 'bare', b, 'reactor', r, 'ratio', (r.rps / b.rps).toFixed(2));
}
await bare.close();
await server.close();
