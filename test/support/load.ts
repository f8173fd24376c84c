// Traffic for tests: bounded HTTP load from a child process, and connections held open to an instance.
import { spawn } from 'node:child_process';
import net from 'node:net';

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
const [url, concurrency, maxRequests, perSecond, how] = process.argv.slice(1);
// keepAlive: pooled connections, reused request after request; method/body: a POST whose answer must echo the body.
const { keepAlive = false, method = 'GET', body: payload = '' } = JSON.parse(how || '{}');
// Paced when perSecond > 0: requests start no faster than that, across all connections.
const gap = Number(perSecond) > 0 ? 1000 / Number(perSecond) : 0;
let next = Date.now();
function slot() {
  if (!gap) return;
  const now = Date.now();
  const wait = next - now;
  next = Math.max(next, now) + gap;
  return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : undefined;
}
// By default a new connection per request, as \`while true; do curl …; done\` makes.
const agent = new http.Agent({ keepAlive, maxSockets: Number(concurrency) });
const r = { sent: 0, ok: 0, failed: 0, hosts: {}, failures: {} };
const fail = (why) => { r.failed++; r.failures[why] = (r.failures[why] ?? 0) + 1; };
let stopping = false;
process.stdin.on('data', () => {}).on('end', () => (stopping = true)).on('close', () => (stopping = true));
const progress = setInterval(() => process.stdout.write(JSON.stringify(r) + '\\n'), 100);
function one() {
  return new Promise((resolve) => {
    const headers = payload ? { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(payload) } : {};
    const req = http.request(url, { agent, method, headers, timeout: 10000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) fail('HTTP ' + res.statusCode);
        else if (payload && !body.includes(payload)) fail('body not echoed');
        else { r.ok++; const h = body.trim().split('\\n')[0]; r.hosts[h] = (r.hosts[h] ?? 0) + 1; }
        resolve();
      });
      res.on('error', (e) => { fail(e.code ?? e.message); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { fail(e.code ?? e.message); resolve(); });
    req.end(payload || undefined);
  });
}
async function worker() { while (!stopping && r.sent < Number(maxRequests)) { await slot(); if (stopping) break; r.sent++; await one(); } }
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
clearInterval(progress);
agent.destroy();
process.stdout.write(JSON.stringify(r) + '\\n');
`;

/** How each request is made: pooled keep-alive connections or a new one per request; GET, or a method with a body the answer must echo. */
export interface LoadShape {
  keepAlive?: boolean;
  method?: string;
  body?: string;
}

/**
 * Sends requests (GETs unless `shape` says otherwise) to `url` from a child
 * process until `stop(progress)` says so or `maxRequests` were sent;
 * resolves with the totals. `perSecond` paces the requests (all connections
 * together), so a recording does not depend on how fast the machine is;
 * unpaced by default.
 */
export function load(
  url: string,
  {
    concurrency,
    maxRequests,
    stop,
    perSecond = 0,
    shape = {},
  }: { concurrency: number; maxRequests: number; stop: (progress: LoadResult) => boolean; perSecond?: number; shape?: LoadShape },
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const args = [url, String(concurrency), String(maxRequests), String(perSecond), JSON.stringify(shape)];
    const child = spawn(process.execPath, ['--input-type=module', '-e', GENERATOR, ...args], {
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
