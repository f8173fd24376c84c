// The nginx driver with the Lua balancer, against a real nginx and local HTTP backends: membership, weights and the activator fallback change with no reload, and every worker serves the same peers.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEndpointUrl } from '../../src/config/endpoint.js';
import { defaultEndpointConfig } from '../../src/config/index.js';
import type { NginxSection } from '../../src/config/model.js';
import { findExecutable } from '../../src/managers/probe.js';
import { CONTROL_TOKEN_FILE, CONTROL_TOKEN_HEADER } from '../../src/nginx/control-token.js';
import { NginxDriver } from '../../src/nginx/driver.js';
import { renderPeerList } from '../../src/nginx/peers.js';
import type { BalancedEndpoint } from '../../src/nginx/render.js';
import { readBalancerState } from '../../src/nginx/state-file.js';
import { markedProcesses } from '../../src/nginx/supervisor.js';
import { freePort } from '../../src/util/ports.js';
import { request } from '../support/http.js';
import { waitFor } from '../support/wait.js';

/** A local HTTP backend that answers its name. */
async function backend(name: string): Promise<{ name: string; address: string; close(): void }> {
  const server = http.createServer((_req, res) => res.end(`${name}\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { name, address: `127.0.0.1:${port}`, close: () => (server.closeAllConnections(), server.close()) };
}

describe('nginx driver with the Lua balancer', () => {
  let prefix: string;
  let driver: NginxDriver;
  let sink: dgram.Socket;
  let port: number;
  let backends: Awaited<ReturnType<typeof backend>>[];
  const nginx: NginxSection = { ...defaultEndpointConfig().nginx, keepalive: 8 };
  const url = () => `http://127.0.0.1:${port}/`;

  function model(addresses: string[], extra: Partial<BalancedEndpoint> = {}, weight = 1): BalancedEndpoint[] {
    return [{ name: 'web', url: parseEndpointUrl(`http://:${port}/`), nginx, weight, backends: addresses.map((address) => ({ address, instance: address })), ...extra }];
  }

  async function answers(count: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const answer = await request(url());
      const key = answer.status === 200 ? answer.body.trim() : `HTTP ${answer.status}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return seen;
  }

  before(async () => {
    prefix = mkdtempSync(join(tmpdir(), 'reactor-lua-driver-'));
    sink = dgram.createSocket('udp4').on('message', () => {});
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    backends = await Promise.all(['a', 'b', 'c', 'activator'].map(backend));
    port = await freePort();
    driver = new NginxDriver({ binary: findExecutable('nginx')!, prefix, listenAddress: '127.0.0.1', syslogPort: sink.address().port });
    await driver.start();
    assert.ok(driver.lua, 'the Lua modules are installed');
  });

  after(async () => {
    await driver?.stop();
    sink?.close();
    for (const b of backends ?? []) b.close();
    rmSync(prefix, { recursive: true, force: true });
  });

  it('should serve a new endpoint after one reload, then take every membership change without one, in every worker', async () => {
    const [a, b, c] = backends;
    assert.equal((await driver.apply(model([a.address]))).via, 'reload');
    const reloads = driver.stats.reloads;
    // The workers of the generation before the reload finish and exit first.
    const workers = await waitFor(() => {
      const found = markedProcesses(prefix).filter((pid) => pid !== driver.pid);
      return found.every((pid) => !title(pid).includes('shutting down')) ? found : null;
    }, { what: 'only the workers of the new generation' });
    assert.ok(workers.length >= 2, `several workers share the peers (${workers.length})`);
    assert.deepEqual([...(await answers(6)).keys()], ['a']);
    assert.equal((await driver.apply(model([a.address, b.address, c.address]))).via, 'peers');
    // Fresh connections land on any worker: every one of them must know all three peers.
    assert.deepEqual([...(await answers(30)).keys()].sort(), ['a', 'b', 'c']);
    assert.equal((await driver.apply(model([c.address]))).via, 'peers');
    assert.deepEqual([...(await answers(10)).keys()], ['c']);
    assert.equal(driver.stats.reloads, reloads, 'no reload');
    assert.deepEqual(markedProcesses(prefix).filter((pid) => pid !== driver.pid).sort(), workers.sort(), 'the same workers throughout');
  });

  it('should weigh the endpoints that share a URL', async () => {
    const [a, b] = backends;
    const heavy: BalancedEndpoint = { ...model([a.address])[0], name: 'heavy', weight: 3 };
    const light: BalancedEndpoint = { ...model([b.address])[0], name: 'light', weight: 1 };
    await driver.apply([heavy, light]);
    const seen = await answers(80);
    // Smooth weighted round robin per worker: 3 of every 4 requests go to a, in each worker.
    assert.ok((seen.get('a') ?? 0) >= 50 && (seen.get('b') ?? 0) >= 10, JSON.stringify([...seen]));
    const reloads = driver.stats.reloads;
    assert.equal((await driver.apply([{ ...heavy, weight: 1 }, { ...light, weight: 3 }])).via, 'peers', 'a weight is in the peer list');
    const swapped = await answers(80);
    assert.ok((swapped.get('b') ?? 0) >= 50, JSON.stringify([...swapped]));
    assert.equal(driver.stats.reloads, reloads);
    await driver.apply(model([a.address]));
  });

  it('should send requests to the activator while the endpoint has no instance, and to instances again once it has', async () => {
    const [a, , , activator] = backends;
    const reloads = driver.stats.reloads;
    await driver.apply(model([], { fallback: activator.address }));
    assert.deepEqual([...(await answers(6)).keys()], ['activator']);
    await driver.apply(model([a.address], { fallback: activator.address }));
    assert.deepEqual([...(await answers(6)).keys()], ['a']);
    await driver.apply(model([]));
    const empty = await request(url());
    assert.equal(empty.status, 502);
    assert.match(empty.body, /no instance of web is available/);
    assert.equal(driver.stats.reloads, reloads, 'the fallback is membership too');
  });

  it('should retry a request on another peer when one refuses connections', async () => {
    const [a, b] = backends;
    const gone = await backend('gone');
    gone.close();
    await driver.apply(model([gone.address, a.address, b.address]));
    const seen = await answers(30);
    assert.deepEqual([...seen.keys()].sort(), ['a', 'b'], JSON.stringify([...seen]));
  });

  it('should close an idle upstream keep-alive connection itself, before the backend would', async () => {
    // The backend keeps idle connections 60 s; nginx must close its own after keepalive_timeout (1 s here).
    const server = http.createServer((req, res) => req.resume().on('end', () => res.end('patient\n')));
    server.keepAliveTimeout = 60_000;
    const closed: string[] = [];
    server.on('connection', (socket) => socket.on('close', () => closed.push(`${socket.remotePort}`)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
      await driver.apply([{ ...model([address])[0], nginx: { ...nginx, keepaliveTimeout: 1 } }]);
      assert.equal((await request(url())).body.trim(), 'patient');
      await waitFor(() => closed.length > 0, { what: 'nginx closing its idle connection to the backend (the backend waits 60 s)' });
      const post = await fetch(url(), { method: 'POST', body: 'again' });
      assert.equal((await post.text()).trim(), 'patient', 'a POST after it goes on a new connection');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('should refuse a peer list without the control token, change nothing, and take the pushes of the driver', async () => {
    const [a, b, c] = backends;
    await driver.apply(model([a.address]));
    const peers = `http://127.0.0.1:${readBalancerState(prefix)!.controlPort}/reactor/peers`;
    const hijack = renderPeerList(model([b.address])).text;
    const token = readFileSync(join(prefix, CONTROL_TOKEN_FILE), 'utf8').trim();
    assert.equal(statSync(join(prefix, CONTROL_TOKEN_FILE)).mode & 0o777, 0o600, 'only the owner reads the token');
    const put = (body: string, headers: Record<string, string>) => fetch(peers, { method: 'PUT', body, headers });
    for (const [what, headers] of [
      ['no token', {}],
      ['a wrong token of the same length', { [CONTROL_TOKEN_HEADER]: token.replace(/^./, (ch) => (ch === '0' ? '1' : '0')) }],
      ['a prefix of the token', { [CONTROL_TOKEN_HEADER]: token.slice(0, 32) }],
    ] as const) {
      assert.equal((await put(hijack, headers)).status, 403, what);
      assert.equal((await put('', headers)).status, 403, `${what}, empty list`);
    }
    assert.deepEqual([...(await answers(10)).keys()], ['a'], 'the refused lists changed nothing');
    assert.equal((await put('x'.repeat(5 << 20), { [CONTROL_TOKEN_HEADER]: token })).status, 413, 'a body above 4 MB is refused');
    // The check is the token, not something else about these requests: with it, the same list is taken.
    assert.equal((await put(hijack, { [CONTROL_TOKEN_HEADER]: token })).status, 200);
    assert.deepEqual([...(await answers(10)).keys()], ['b']);
    assert.equal((await driver.apply(model([c.address]))).via, 'peers');
    assert.deepEqual([...(await answers(10)).keys()], ['c']);
  });

  it('should load the last peer list when nginx starts again', async () => {
    const [, b] = backends;
    await driver.apply(model([b.address]));
    const before = driver.pid!;
    process.kill(before, 'SIGKILL');
    await waitFor(() => driver.running && driver.pid !== before, { what: 'a new master' });
    await waitFor(() => !markedProcesses(prefix).some((pid) => pid !== driver.pid && !isChildOf(pid, driver.pid!)), { what: 'only the new master and its workers' });
    assert.deepEqual([...(await answers(10)).keys()], ['b']);
  });

  it('should push peers to the master it adopts after a server restart (the token is read from the prefix)', async () => {
    const [a] = backends;
    const pid = driver.pid;
    await driver.detach();
    driver = new NginxDriver({ binary: findExecutable('nginx')!, prefix, listenAddress: '127.0.0.1', syslogPort: sink.address().port });
    await driver.start();
    assert.ok(driver.adopted && driver.pid === pid, 'the same master, adopted');
    const result = await driver.apply(model([a.address]));
    assert.deepEqual([result.status, result.via], ['applied', 'peers']);
    assert.deepEqual([...(await answers(10)).keys()], ['a']);
  });
});

function isChildOf(pid: number, parent: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
  } catch {
    return false;
  }
}

function title(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
