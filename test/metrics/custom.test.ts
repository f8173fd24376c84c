// Custom metrics over the API and CLI: weighted averages per endpoint and per instance, strict validation, kept across restarts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseCustomMetrics } from '../../src/metrics/custom.js';
import type { InstanceRecord } from '../../src/store/types.js';
import { reactor as runReactor } from '../support/cli.js';
import { staticBackendsConf } from '../support/configs.js';
import { manage } from '../support/graphql.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const reactor = (args: string[], stdin = '') => runReactor(args, { stdin });

function instance(id: string, endpoint: string, address: string): InstanceRecord {
  const now = new Date();
  return { id, endpoint, managerId: null, containerId: null, address, status: 'RUNNING', slots: 1, reason: null, decommissionedAt: null, createdAt: now, updatedAt: now, term: 0 };
}

describe('parseCustomMetrics', () => {
  const cases: { name: string; input: unknown; error?: RegExp; expected?: Record<string, [number, number]> }[] = [
    { name: 'an empty map (clears)', input: {}, expected: {} },
    { name: 'pairs', input: { queue: [1, 40], _x9: [0, -2.5] }, expected: { queue: [1, 40], _x9: [0, -2.5] } },
    { name: 'not an object', input: [1, 2], error: /must be a JSON object/ },
    { name: 'null', input: null, error: /must be a JSON object/ },
    { name: 'a name with a dash', input: { 'queue-depth': [1, 1] }, error: /not an identifier/ },
    { name: 'a name starting with a digit', input: { '1queue': [1, 1] }, error: /not an identifier/ },
    { name: 'a built-in name', input: { rate: [1, 1] }, error: /reserved/ },
    { name: 'instances', input: { instances: [1, 1] }, error: /reserved/ },
    { name: 'a bare number', input: { queue: 5 }, error: /\[weight, value\] pair/ },
    { name: 'a triple', input: { queue: [1, 2, 3] }, error: /\[weight, value\] pair/ },
    { name: 'a negative weight', input: { queue: [-1, 2] }, error: /weight -1/ },
    { name: 'an infinite weight', input: { queue: [Infinity, 2] }, error: /weight/ },
    { name: 'a NaN value', input: { queue: [1, NaN] }, error: /value/ },
    { name: 'a string value', input: { queue: [1, '2'] }, error: /value "2"/ },
    { name: '__proto__, which would replace the map', input: JSON.parse('{"__proto__": [1, 5]}'), error: /"__proto__" is not allowed/ },
    { name: 'constructor', input: { constructor: [1, 5] }, error: /"constructor" is not allowed/ },
    { name: 'a value whose weighted average overflows', input: { q: [1e308, 1e308] }, error: /weight 1e\+308.*from 0 to 1000000000000000/ },
    { name: 'a value beyond the bound', input: { q: [1, -1e16] }, error: /value -10000000000000000.*from -1000000000000000/ },
    { name: 'values at the bound', input: { q: [1e15, -1e15] }, expected: { q: [1e15, -1e15] } },
    { name: 'too many', input: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`m${i}`, [1, 1]])), error: /at most 100/ },
  ];
  for (const c of cases) {
    it(`should ${c.error ? 'refuse' : 'accept'} ${c.name}`, () => {
      if (c.error) assert.throws(() => parseCustomMetrics(c.input), (e: Error & { code?: string }) => e.code === 'BAD_USER_INPUT' && c.error!.test(e.message));
      else assert.deepEqual(parseCustomMetrics(c.input), c.expected);
    });
  }
});

describe('custom metrics over the API', () => {
  let t: TestServer;
  let dataDir: string;

  /** The headers an instance sends: its own token, as its container gets it in REACTOR_TOKEN. */
  const asInstance = (id: string) => ({ authorization: `Bearer ${t.server.services.tokens.mint(id)}` });

  const latest = async () => (await t.server.services.store.samples.latest('app'))?.metrics;

  before(async () => {
    t = await startTestServer({ agent: false, interval: 0.2, keepDataDir: true });
    dataDir = t.dataDir;
    await manage(t, 'app', staticBackendsConf('http://:1/', []));
    await t.server.services.store.instances.upsert(instance('i-1', 'app', '127.0.0.1:1001'));
    await t.server.services.store.instances.upsert(instance('i-2', 'app', '127.0.0.1:1002'));
  });

  after(async () => {
    await t?.close();
  });

  it('should average instance metrics weighted, with endpoint-wide values joining without counting as an instance', async () => {
    const set = (id: string, metrics: unknown) =>
      t.gql('mutation($i: ID!, $m: JSON!) { setInstanceMetrics(instance: $i, metrics: $m) }', { i: id, m: metrics }, asInstance(id));
    assert.deepEqual((await set('i-1', { queue: [1, 10] })).data, { setInstanceMetrics: true });
    await set('i-2', { queue: [3, 50] });
    // (1·10 + 3·50) / 4 = 40
    await waitFor(async () => (await latest())?.queue === 40, { what: 'queue = 40' });
    const sample = await t.server.services.store.samples.latest('app');
    assert.equal(sample?.instances, 2);
    const wide = await t.gql('mutation($m: JSON!) { setCustomMetrics(endpoint: "app", metrics: $m) }', { m: { queue: [4, 0], cost: [1, 7] } });
    assert.deepEqual(wide.data, { setCustomMetrics: true });
    // (10 + 150 + 0) / 8 = 20; cost only endpoint-wide = 7
    await waitFor(async () => (await latest())?.queue === 20 && (await latest())?.cost === 7, { what: 'queue = 20, cost = 7' });
    const events = await t.gql('{ events(endpoint: "app") { kind message } }');
    assert.ok(events.data.events.some((e: { kind: string }) => e.kind === 'CUSTOM_METRICS_SET'));
  });

  it('should set endpoint-wide metrics with `reactor set-metrics` and print them with `get-metrics`', async () => {
    const run = await reactor(['--api', t.url, 'set-metrics', 'app'], JSON.stringify({ queue: [4, 20], cost: [1, 3] }));
    assert.equal(run.code, 0, run.stderr);
    // (10 + 150 + 80) / 8 = 30
    await waitFor(async () => (await latest())?.queue === 30, { what: 'queue = 30' });
    const shown = await reactor(['--api', t.url, 'get-metrics', 'app']);
    assert.equal(shown.code, 0, shown.stderr);
    const printed = JSON.parse(shown.stdout);
    assert.equal(printed.queue, 30);
    assert.equal(printed.cost, 3);
    const bad = await reactor(['--api', t.url, 'set-metrics', 'app'], 'not json');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not valid JSON/);
  });

  it('should refuse bad custom metrics with BAD_USER_INPUT and store nothing', async () => {
    const before = await t.server.services.store.customMetrics.list('app');
    for (const metrics of [{ 'bad-name': [1, 1] }, { rate: [1, 1] }, { q: [-1, 1] }, { q: [1, 'x'] }, { q: 3 }, [1, 2], 'text', { ok: [1, 1], bad: [1] }]) {
      for (const [query, variables, headers] of [
        ['mutation($m: JSON!) { setCustomMetrics(endpoint: "app", metrics: $m) }', { m: metrics }, {}],
        ['mutation($m: JSON!) { setInstanceMetrics(instance: "i-1", metrics: $m) }', { m: metrics }, asInstance('i-1')],
      ] as const) {
        const result = await t.gql(query, variables, headers);
        assert.equal(result.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${JSON.stringify(metrics)}: ${JSON.stringify(result)}`);
      }
    }
    const cli = await reactor(['--api', t.url, 'set-metrics', 'app'], JSON.stringify({ q: [1e15, -1], 'x y': [1, 1] }));
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /not an identifier/);
    assert.deepEqual(await t.server.services.store.customMetrics.list('app'), before);
    const missing = await t.gql('mutation { setCustomMetrics(endpoint: "nope", metrics: {}) }');
    assert.equal(missing.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const noInstance = await t.gql('mutation { setInstanceMetrics(instance: "nope", metrics: {}) }', {}, asInstance('nope'));
    assert.equal(noInstance.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'the token of an instance that does not exist is refused');
  });

  it('should keep custom metrics across a restart, and drop those of an instance that is gone', async () => {
    await t.close();
    t = await startTestServer({ agent: false, interval: 0.2, dataDir });
    const afterId = (await t.server.services.store.samples.latest('app'))?.id ?? '';
    await waitFor(async () => {
      const sample = await t.server.services.store.samples.latest('app');
      return sample && sample.id > afterId && sample.metrics.queue === 30;
    }, { what: 'queue = 30 after the restart' });
    await t.server.services.store.instances.delete('i-2');
    // (10 + 80) / 5 = 18
    await waitFor(async () => (await latest())?.queue === 18, { what: 'queue = 18 without i-2' });
    await waitFor(async () => (await t.server.services.store.customMetrics.list('app')).every((c) => c.instance !== 'i-2'), {
      what: 'i-2 forgotten',
    });
  });
});
