// Each hostile repro of issue 15 against a real server over HTTP and WebSocket: a clear refusal, the server still up, its memory bounded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { newId } from '../../src/store/ids.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const RSS_LIMIT = 400 * 1024 * 1024;
const config = (image: string, extra = '') => `[endpoint]\nport=5000\nloadbalancer=none\n[cloud:docker]\nimage=${image}\n${extra}`;

describe('hostile input', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ agent: false });
    for (const name of ['a', 'b', 'c']) {
      const managed = await t.gql('mutation($n: String!, $c: String!) { manageEndpoint(name: $n, config: $c) { name } }', { n: name, c: config('demo/httpd:1') });
      assert.equal(managed.errors, undefined);
    }
  });
  after(async () => t?.close());

  /** The server answers, and this process (which runs it) stays under 400 MB. */
  async function stillUp(): Promise<void> {
    const version = await t.gql('{ version }');
    assert.match(version.data.version, /^\d+\.\d+\.\d+/);
    const rss = process.memoryUsage().rss;
    assert.ok(rss < RSS_LIMIT, `RSS ${Math.round(rss / 1048576)} MB`);
  }
  const code = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;

  it('should refuse a 950 KB image, by manage and by set, naming the key and the limit', async () => {
    const image = 'i'.repeat(950 * 1024);
    const managed = await t.gql('mutation($c: String!) { manageEndpoint(name: "big", config: $c) { name } }', { c: config(image) });
    assert.equal(code(managed), 'BAD_USER_INPUT');
    assert.match(managed.errors![0].message, /\[cloud:docker\] image: .* is longer than 512 characters/);
    assert.ok(JSON.stringify(managed).length < 2000, 'the refusal does not echo the value');
    const set = await t.gql('mutation($v: String!) { setEndpointOption(name: "a", section: "cloud:docker", key: "image", value: $v) { name } }', { v: image });
    assert.equal(code(set), 'BAD_USER_INPUT');
    assert.equal((await t.gql('{ endpoint(name: "big") { name } }')).data.endpoint, null);
    await stillUp();
  });

  it('should refuse the alias bomb (2,000 aliases of endpoints { name }) before running it', async () => {
    const query = `{ ${Array.from({ length: 2000 }, (_, i) => `a${i}: endpoints { name }`).join(' ')} }`;
    const result = await t.gql(query);
    assert.ok(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED'].includes(String(code(result))), JSON.stringify(result).slice(0, 300));
    assert.match(result.errors![0].message, /Aliases limit of 15|contains more th[ae]t? 2000 tokens/);
    const justUnder = await t.gql(`{ ${Array.from({ length: 200 }, (_, i) => `a${i}: version`).join(' ')} }`);
    assert.match(justUnder.errors![0].message, /Aliases limit of 15 exceeded, found 200.*--max-aliases/);
    await stillUp();
  });

  it('should refuse paged events of 10,000 × 20 aliases, and pages over the limit', async () => {
    const bomb = `{ ${Array.from({ length: 20 }, (_, i) => `e${i}: events(limit: 10000) { data }`).join(' ')} }`;
    const result = await t.gql(bomb);
    assert.equal(code(result), 'GRAPHQL_VALIDATION_FAILED');
    const page = await t.gql('{ events(limit: 10000) { data } }');
    assert.equal(code(page), 'BAD_USER_INPUT');
    assert.match(page.errors![0].message, /limit 10000 is larger than the page size limit of 1000.*afterId/);
    const nested = await t.gql('{ endpoint(name: "a") { decisions(limit: 5000) { id } } }');
    assert.equal(code(nested), 'BAD_USER_INPUT');
    await stillUp();
  });

  it('should refuse `&&` in command at manage time', async () => {
    const result = await t.gql('mutation($c: String!) { manageEndpoint(name: "shell", config: $c) { name } }', {
      c: config('demo/httpd:1', 'command=runapp && echo done\n'),
    });
    assert.equal(code(result), 'BAD_USER_INPUT');
    assert.match(result.errors![0].message, /\[cloud:docker\] command: .*shell operator "&&".*sh -c/);
    await stillUp();
  });

  it('should refuse __proto__ as a metric name and keep the metrics that were set', async () => {
    const set = await t.gql('mutation($m: JSON!) { setCustomMetrics(endpoint: "a", metrics: $m) }', { m: { queue: [1, 5] } });
    assert.equal(set.errors, undefined);
    const body = '{"query":"mutation($m: JSON!) { setCustomMetrics(endpoint: \\"a\\", metrics: $m) }","variables":{"m":{"__proto__":[1,5]}}}';
    const response = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const result = (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
    assert.equal(code(result), 'BAD_USER_INPUT');
    assert.match(result.errors![0].message, /"__proto__" is not allowed/);
    assert.deepEqual((await t.server.services.store.customMetrics.list('a'))[0]?.metrics, { queue: [1, 5] });
    await stillUp();
  });

  it('should refuse 1e308 weights and values, whose weighted average would overflow to 0', async () => {
    const result = await t.gql('mutation($m: JSON!) { setCustomMetrics(endpoint: "a", metrics: $m) }', { m: { queue: [1e308, 1e308] } });
    assert.equal(code(result), 'BAD_USER_INPUT');
    assert.match(result.errors![0].message, /weight 1e\+308; expected a finite number from 0 to 1000000000000000/);
    assert.deepEqual((await t.server.services.store.customMetrics.list('a'))[0]?.metrics, { queue: [1, 5] });
    await stillUp();
  });

  it('should give BAD_USER_INPUT for variables 100,000 levels deep, over HTTP and WebSocket', async () => {
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const body = `{"query":"mutation($m: JSON!) { setCustomMetrics(endpoint: \\"a\\", metrics: $m) }","variables":{"m":${deep}}}`;
    const response = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const result = (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
    assert.equal(code(result), 'BAD_USER_INPUT', JSON.stringify(result).slice(0, 300));
    assert.match(result.errors![0].message, /variables nest deeper than 32 levels/);
    const socket = await openSocket(t.wsUrl);
    socket.send(`{"id":"1","type":"subscribe","payload":${body}}`);
    const message = JSON.parse(String(await new Promise((resolve) => socket.once('message', resolve))));
    assert.equal(message.type, 'error');
    assert.equal(message.payload[0].extensions.code, 'BAD_USER_INPUT');
    socket.close();
    await stillUp();
  });

  it('should hold 30 resumed subscriptions on a socket that never reads: 25 replay a page at a time, 5 are refused', async () => {
    // 10,000 stored events of 5 KB: buffered whole per subscription, 25 replays would hold 1.25 GB, three times the
    // limit. (This process runs the server and also writes the filler: more filler would only measure the test's own garbage.)
    const payload = 'x'.repeat(5000);
    const start = Date.now() - 3_600_000;
    for (let batch = 0; batch < 10; batch++) {
      await t.server.services.store.events.appendMany(
        Array.from({ length: 1000 }, (_, i) => ({ id: newId(), endpoint: 'a', kind: 'TEST', message: 'filler', data: { payload }, at: new Date(start + batch * 1000 + i) })),
      );
    }
    const socket = await openSocket(t.wsUrl);
    const received: string[] = [];
    socket.on('message', (data) => received.push(String(data)));
    socket.pause(); // never reads from here on
    for (let i = 0; i < 30; i++) {
      socket.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: 'subscription { endpointEvents(afterId: "0") { id data } }' } }));
    }
    await t.subscribed('endpointEvents', 25);
    // The server went as far as the socket's buffers let it, and no further.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await stillUp();
    assert.equal(t.server.services.bus.subscriberCount('endpointEvents'), 25);
    socket.resume();
    await waitFor(() => received.filter((m) => m.includes('TOO_MANY_REQUESTS')).length === 5, { timeoutMs: 30_000, what: 'five refusals' });
    socket.terminate();
    await waitFor(() => t.server.services.bus.subscriberCount('endpointEvents') === 0, { what: 'the subscriptions ended with the socket' });
    await stillUp();
  });
});

describe('response size', () => {
  it('should refuse a response over the cap with RESPONSE_TOO_LARGE, on HTTP and WebSocket, without building it', async () => {
    const t = await startTestServer({ agent: false, limits: { maxResponseBytes: 4000 } });
    try {
      for (const name of ['a', 'b', 'c']) {
        await t.gql('mutation($n: String!, $c: String!) { manageEndpoint(name: $n, config: $c) { name } }', { n: name, c: config('demo/httpd:1', `environment=X=${'v'.repeat(2000)}\n`) });
      }
      const small = await t.gql('{ endpoints { name } }');
      assert.equal(small.data.endpoints.length, 3);
      const big = await t.gql('{ endpoints { configText } }');
      assert.equal(big.errors?.[0]?.extensions?.code, 'RESPONSE_TOO_LARGE');
      assert.match(big.errors![0].message, /larger than 4000 bytes.*--max-response-bytes/);
      const socket = await openSocket(t.wsUrl);
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ endpoints { configText } }' } }));
      const message = JSON.parse(String(await new Promise((resolve) => socket.once('message', resolve))));
      assert.equal(message.payload.errors[0].extensions.code, 'RESPONSE_TOO_LARGE');
      socket.close();
    } finally {
      await t.close();
    }
  });
});

async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init' }));
  const ack = JSON.parse(String(await new Promise((resolve) => socket.once('message', resolve))));
  assert.equal(ack.type, 'connection_ack');
  return socket;
}
