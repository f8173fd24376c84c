// Cross-site control and credentials over real HTTP and WebSocket: Origin and Host checks, short keys off loopback, slowed wrong keys, connection limits, clean close reasons.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServer } from '../../src/server/server.js';
import { startTestServer, take, type TestServer } from '../support/server.js';
import { silentLogger } from '../../src/log/logger.js';

/** POST { version } with the given headers (Host and Origin included), through node:http so Host can be anything. */
function post(url: string, headers: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query: '{ version }' }));
  });
}

/** Opens a graphql-ws socket with these headers (from `localAddress`, default 127.0.0.1); resolves with the HTTP status (and body) of a refused upgrade, or 101. */
function upgrade(wsUrl: string, headers: Record<string, string>, localAddress?: string): Promise<{ status: number; socket?: WebSocket; body?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers, localAddress });
    socket.once('open', () => resolve({ status: 101, socket }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}

describe('Origin and Host checks', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ allowOrigins: ['https://ops.example.com'], allowHosts: ['reactor.lan'] });
  });
  after(async () => t?.close());

  it('should refuse a WebSocket from another site, which could otherwise send mutations', async () => {
    const refused = await upgrade(t.wsUrl, { origin: 'http://evil.example' });
    assert.equal(refused.status, 403);
    assert.ok(t.logs.some((line) => /guard: refused .*Origin "http:\/\/evil.example"/.test(String(line.msg))), 'the refusal is logged');
  });

  it('should refuse a foreign Host (DNS rebinding), on HTTP and WebSocket', async () => {
    const http = await post(t.url, { host: 'rebind.evil.example:8080', origin: 'http://rebind.evil.example:8080' });
    assert.equal(http.status, 421);
    assert.equal(http.body.errors[0].extensions.code, 'FORBIDDEN');
    assert.match(http.body.errors[0].message, /Host "rebind.evil.example:8080" is not a name this server listens as.*--allow-host/);
    assert.equal((await upgrade(t.wsUrl, { host: 'rebind.evil.example' })).status, 421);
  });

  it('should refuse a foreign Origin on HTTP with a message that says how to allow one', async () => {
    const http = await post(t.url, { origin: 'https://evil.example' });
    assert.equal(http.status, 403);
    assert.match(http.body.errors[0].message, /Origin "https:\/\/evil.example" may not use this API.*--allow-origin/);
    assert.equal((await post(t.url, { origin: 'null' })).status, 403);
  });

  it('should serve same-origin pages, clients without an Origin, and the configured origins and hosts', async () => {
    const port = new URL(t.url).port;
    const cases: Record<string, string>[] = [{}, { origin: `http://127.0.0.1:${port}` }, { origin: 'https://ops.example.com' }, { host: `localhost:${port}`, origin: `http://localhost:${port}` }, { host: 'reactor.lan' }];
    for (const headers of cases) {
      const answer = await post(t.url, headers);
      assert.equal(answer.status, 200, JSON.stringify({ headers, answer }));
      assert.match(answer.body.data.version, /^\d/);
    }
    const same = await upgrade(t.wsUrl, { origin: `http://127.0.0.1:${port}` });
    assert.equal(same.status, 101);
    same.socket!.close();
  });
});

describe('credentials', () => {
  it('should refuse a key shorter than 16 characters off loopback, and no key at all', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reactor-test-'));
    try {
      await assert.rejects(startServer({ listen: '0.0.0.0:0', dataDir, agent: false, apiKey: 'x', log: silentLogger }), /API key of 1 characters: off loopback it must have at least 16/);
      await assert.rejects(startServer({ listen: '0.0.0.0:0', dataDir, agent: false, log: silentLogger }), /without an API key.*--api-key-file/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('should slow down wrong keys: a few free tries, then 429 with Retry-After for every attempt, logged', async () => {
    const apiKey = 'a-long-enough-test-key';
    const t = await startTestServer({ apiKey });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await post(t.url, { 'x-auth-key': `wrong-${i}` })).status);
      assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401], statuses.join(','));
      assert.deepEqual(statuses.slice(6), [429, 429], 'blocked after the sixth failure');
      const blocked = await post(t.url, { 'x-auth-key': apiKey });
      assert.equal(blocked.status, 429, 'even the right key waits while blocked');
      assert.equal(blocked.body.errors[0].extensions.code, 'TOO_MANY_REQUESTS');
      assert.ok(Number(blocked.headers['retry-after']) >= 1);
      assert.equal((await upgrade(t.wsUrl, {})).status, 429, 'the WebSocket too');
      assert.ok(t.logs.filter((line) => String(line.msg).startsWith('auth: refused 127.0.0.1: wrong API key')).length >= 6);
    } finally {
      await t.close();
    }
  });

  it('should close graphql-ws without internal details in the close reason', async () => {
    const t = await startTestServer();
    try {
      const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
      const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init' }));
      await new Promise((resolve) => socket.once('message', resolve));
      socket.send(JSON.stringify({ type: 'no_such_type', id: '1' }));
      const { code, reason } = await closed;
      assert.equal(code, 4400);
      assert.doesNotMatch(reason, /at |Error:|\.ts|node_modules/);
    } finally {
      await t.close();
    }
  });
});

describe('connection limits', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ limits: { maxConnectionsPerClient: 3 } });
  });
  after(async () => t?.close());

  it('should refuse WebSockets beyond the limit per client, and take new ones once others close', async () => {
    const open = await Promise.all([1, 2, 3].map(() => upgrade(t.wsUrl, {})));
    assert.deepEqual(open.map((o) => o.status), [101, 101, 101]);
    assert.equal((await upgrade(t.wsUrl, {})).status, 429);
    const closed = new Promise((resolve) => open[0].socket!.once('close', resolve));
    open[0].socket!.close();
    await closed;
    let again: { status: number; socket?: WebSocket } | undefined;
    for (let i = 0; i < 50 && again?.status !== 101; i++) {
      again = await upgrade(t.wsUrl, {});
      if (again.status !== 101) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(again!.status, 101);
    await Promise.all(
      [...open.slice(1), again!].map((o) => new Promise((resolve) => {
        o.socket!.once('close', resolve);
        o.socket!.close();
      })),
    );
  });

  it('should count each address apart, and give the addresses an operator names their own budget or none', async () => {
    const u = await startTestServer({ limits: { maxConnectionsPerClient: 2 }, maxConnectionsFrom: ['127.0.0.2=4', '127.0.0.0/30=unlimited'] });
    const opened: WebSocket[] = [];
    const open = async (from: string, count: number) => {
      const results = await Promise.all(Array.from({ length: count }, () => upgrade(u.wsUrl, {}, from)));
      for (const result of results) if (result.socket) opened.push(result.socket);
      return results.map((result) => result.status);
    };
    try {
      // 127.0.0.5 has the server's --max-connections, whatever other addresses hold.
      assert.deepEqual(await open('127.0.0.5', 2), [101, 101]);
      const refused = await upgrade(u.wsUrl, {}, '127.0.0.5');
      assert.equal(refused.status, 429);
      assert.match(refused.body!, /127\.0\.0\.5 has 2 WebSockets open, the server's limit per client address \(--max-connections; --max-connections-from 127\.0\.0\.5=N raises it/);
      assert.deepEqual(await open('127.0.0.6', 2), [101, 101], 'another address, its own budget');
      // 127.0.0.2: the narrowest range that holds it (its own, 4) wins over 127.0.0.0/30 (unlimited).
      assert.deepEqual(await open('127.0.0.2', 4), [101, 101, 101, 101]);
      const over = await upgrade(u.wsUrl, {}, '127.0.0.2');
      assert.equal(over.status, 429);
      assert.match(over.body!, /the limit per address of 127\.0\.0\.2 \(--max-connections-from\)/);
      // 127.0.0.3 is in 127.0.0.0/30: not counted.
      assert.deepEqual(await open('127.0.0.3', 12), Array(12).fill(101));
    } finally {
      await Promise.all(opened.map((socket) => new Promise((resolve) => {
        socket.once('close', resolve);
        socket.close();
      })));
      await u.close();
    }
  });

  it('should refuse a budget it cannot read, naming it, before the server starts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reactor-budget-'));
    try {
      for (const [item, why] of [
        ['127.0.0.2', /"127\.0\.0\.2": no "=" between the address and the number/],
        ['host.lan=4', /"host\.lan" is not an IP address/],
        ['10.0.0.0/33=4', /the prefix length must be 0 to 32, not "33"/],
        ['10.0.0.1=0', /"0" is not a whole number of at least 1 or unlimited/],
      ] as const) {
        await assert.rejects(startServer({ listen: '127.0.0.1:0', dataDir, agent: false, log: silentLogger, maxConnectionsFrom: [item] }), (error: Error) => {
          assert.match(error.message, /^--max-connections-from /);
          assert.match(error.message, why);
          return true;
        });
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('should refuse operations beyond the limit per connection with TOO_MANY_REQUESTS', async () => {
    const u = await startTestServer({ limits: { maxSubscriptionsPerConnection: 2 } });
    try {
      const client = u.ws();
      const first = take(client, 'subscription { endpointEvents { id } }', {}, 1, 60_000);
      const second = take(client, 'subscription { metricSamples { id } }', {}, 1, 60_000);
      await u.subscribed('endpointEvents');
      await u.subscribed('metricSamples');
      const third = take(client, 'subscription { scalingDecisions { id } }', {}, 1);
      await assert.rejects(third.done, /operations open, the server's limit \(--max-subscriptions\)/);
      first.stop();
      second.stop();
    } finally {
      await u.close();
    }
  });
});
