// Helpers of the control loop tests: endpoint configs, held-open connections, bounded HTTP load (the CLI runs through test/support/cli.ts).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { TEST_IMAGE } from '../support/images.js';
import type { TestServer } from '../support/server.js';

export interface LoopConf {
  port: number;
  min?: number;
  max?: number;
  rules?: string;
  decommissionedTimeout?: number;
  unregisteredTimeout?: number;
  errorMarks?: number;
  healthPath?: string;
  command?: string;
}

/** An nginx-balanced endpoint on the test image, served at http://127.0.0.1:PORT/. */
export function loopConf(c: LoopConf): string {
  return `[endpoint]
url=http://:${c.port}/
loadbalancer=nginx
port=5000
decommissioned_timeout=${c.decommissionedTimeout ?? 60}
unregistered_timeout=${c.unregisteredTimeout ?? 120}
error_marks=${c.errorMarks ?? 3}
health_path=${c.healthPath ?? ''}

[scaling]
min_instances=${c.min ?? 1}
max_instances=${c.max ?? 5}
rules=${c.rules ?? ''}

[cloud:docker]
image=${TEST_IMAGE}
command=${c.command ?? '/usr/local/bin/runapp'}
`;
}

/**
 * A connection held open to `address` (an instance's published port): a CGI
 * request that sleeps `seconds`. It counts as one active connection of that
 * instance until `close()`.
 */
export async function holdConnection(address: string, seconds = 60): Promise<{ close(): void }> {
  const colon = address.lastIndexOf(':');
  const socket = net.connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  socket.write(`GET /cgi-bin/slow?${seconds} HTTP/1.0\r\n\r\n`);
  // Wait for the first bytes: the request is being served, not just queued.
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.on('data', () => {});
  return { close: () => socket.destroy() };
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** Index page bodies (container host names) and how often each answered. */
  hosts: Record<string, number>;
  /** Why requests failed (`HTTP 502`, `ECONNRESET`, …) and how often. */
  failures: Record<string, number>;
}

/**
 * The load generator runs as its own process, so it neither starves the
 * control plane's event loop (which shares this test's process) nor is
 * starved by it. One connection per request, `concurrency` requests in flight
 * (each worker at most `perSecond / concurrency` a second when `perSecond` is
 * set), a progress line every 100 ms, and it stops at `maxRequests` or when
 * its standard input closes.
 */
const GENERATOR = `
const [url, concurrency, maxRequests, perSecond] = process.argv.slice(1);
const gapMs = Number(perSecond) > 0 ? (1000 * Number(concurrency)) / Number(perSecond) : 0;
// A new connection per request, as \`while true; do curl …; done\` makes (and no keep-alive race with nginx reloads).
const agent = new http.Agent({ keepAlive: false, maxSockets: Number(concurrency) });
const r = { sent: 0, ok: 0, failed: 0, hosts: {}, failures: {} };
const fail = (why) => { r.failed++; r.failures[why] = (r.failures[why] ?? 0) + 1; };
let stopping = false;
process.stdin.on('data', () => {}).on('end', () => (stopping = true)).on('close', () => (stopping = true));
const progress = setInterval(() => process.stdout.write(JSON.stringify(r) + '\\n'), 100);
function one() {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 10000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        if (res.statusCode === 200) { r.ok++; const h = body.trim(); r.hosts[h] = (r.hosts[h] ?? 0) + 1; } else fail('HTTP ' + res.statusCode);
        resolve();
      });
      res.on('error', (e) => { fail(e.code ?? e.message); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { fail(e.code ?? e.message); resolve(); });
  });
}
async function worker() {
  while (!stopping && r.sent < Number(maxRequests)) {
    const started = Date.now();
    r.sent++;
    await one();
    if (gapMs > 0) await new Promise((done) => setTimeout(done, Math.max(0, gapMs - (Date.now() - started))));
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
clearInterval(progress);
agent.destroy();
process.stdout.write(JSON.stringify(r) + '\\n');
`;

/** Sends GETs to `url` from a child process until `stop(progress)` says so or `maxRequests` were sent (at most `perSecond` a second if given); resolves with the totals. */
export function load(
  url: string,
  { concurrency, maxRequests, perSecond = 0, stop }: { concurrency: number; maxRequests: number; perSecond?: number; stop: (progress: LoadResult) => boolean },
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', GENERATOR, url, String(concurrency), String(maxRequests), String(perSecond)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let last: LoadResult | undefined;
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        last = JSON.parse(line) as LoadResult;
        if (!child.stdin.writableEnded && stop(last)) child.stdin.end();
      }
    });
    child.on('error', reject);
    child.on('close', () => (last ? resolve(last) : reject(new Error('the load generator reported nothing'))));
  });
}

export interface InstanceRow {
  id: string;
  status: string;
  address: string | null;
  containerId: string | null;
}

export async function instancesOf(t: TestServer, endpoint: string): Promise<InstanceRow[]> {
  const { data, errors } = await t.gql('query($n: String!) { endpoint(name: $n) { instances { id status address containerId } } }', { n: endpoint });
  if (errors) throw new Error(errors.map((e) => e.message).join('; '));
  return data.endpoint?.instances ?? [];
}

export async function eventsOf(t: TestServer, endpoint: string): Promise<{ id: string; kind: string; message: string; data: any }[]> {
  const { data } = await t.gql('query($e: String) { events(endpoint: $e, limit: 10000) { id kind message data } }', { e: endpoint });
  return data.events;
}

export async function decisionsOf(t: TestServer, endpoint: string): Promise<{ id: string; current: number; target: number; summary: string; record: any }[]> {
  const { data, errors } = await t.gql('query($n: String!) { endpoint(name: $n) { decisions(limit: 10000) { id current target summary record } } }', { n: endpoint });
  if (errors) throw new Error(errors.map((e) => e.message).join('; '));
  return data.endpoint.decisions;
}

export async function setOption(t: TestServer, name: string, section: string, key: string, value: string): Promise<void> {
  const result = await t.gql(
    'mutation($n: String!, $s: String!, $k: String!, $v: String!) { setEndpointOption(name: $n, section: $s, key: $k, value: $v) { version } }',
    { n: name, s: section, k: key, v: value },
  );
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('; '));
}

export async function setState(t: TestServer, name: string, state: 'RUNNING' | 'PAUSED' | 'STOPPED'): Promise<void> {
  const result = await t.gql('mutation($n: String!, $s: EndpointState!) { setEndpointState(name: $n, state: $s) { state } }', { n: name, s: state });
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('; '));
}

export async function manage(t: TestServer, name: string, config: string): Promise<void> {
  const result = await t.gql('mutation($n: String!, $c: String!) { manageEndpoint(name: $n, config: $c) { name } }', { n: name, c: config });
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('; '));
}
