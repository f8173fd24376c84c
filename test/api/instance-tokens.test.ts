// Instance tokens: each instance's own token sets its own metrics and nothing else, and a real container reaches the API with it on the Docker bridge.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { InstanceRecord } from '../../src/store/types.js';
import { ensureMetricImage, METRIC_IMAGE } from '../support/images.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { SEED_CONFIG } from '../support/configs.js';

function record(id: string, endpoint: string): InstanceRecord {
  const now = new Date();
  return { id, endpoint, managerId: null, containerId: null, address: '127.0.0.1:1', status: 'RUNNING', slots: 1, reason: null, decommissionedAt: null, createdAt: now, updatedAt: now, term: 0 };
}

const SET = 'mutation($i: ID!, $m: JSON!) { setInstanceMetrics(instance: $i, metrics: $m) }';

describe('instance tokens over the API', () => {
  const apiKey = 'instance-token-test-key';
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ apiKey });
    await t.gql('mutation($c: String!) { manageEndpoint(name: "web", config: $c) { name } }', { c: SEED_CONFIG });
    await t.server.services.store.instances.upsert(record('i-1', 'web'));
    await t.server.services.store.instances.upsert(record('i-2', 'web'));
  });
  after(async () => t?.close());
  const bearer = (id: string) => ({ authorization: `Bearer ${t.server.services.tokens.mint(id)}`, 'x-auth-key': '' });
  const code = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;

  it("should let an instance's token set that instance's metrics", async () => {
    const result = await t.gql(SET, { i: 'i-1', m: { queue: [1, 3] } }, bearer('i-1'));
    assert.deepEqual(result.data, { setInstanceMetrics: true });
    assert.deepEqual((await t.server.services.store.customMetrics.list('web')).find((c) => c.instance === 'i-1')?.metrics, { queue: [1, 3] });
  });

  it("should refuse another instance's metrics, every other operation, and subscriptions with a token", async () => {
    assert.equal(code(await t.gql(SET, { i: 'i-2', m: { queue: [1, 3] } }, bearer('i-1'))), 'FORBIDDEN');
    for (const query of ['{ endpoints { name } }', 'mutation { unmanageEndpoint(name: "web") }', 'mutation { setCustomMetrics(endpoint: "web", metrics: {}) }', 'mutation { x: setInstanceMetrics(instance: "i-1", metrics: {}) y: unmanageEndpoint(name: "web") }']) {
      const result = await t.gql(query, {}, bearer('i-1'));
      assert.equal(code(result), 'FORBIDDEN', query);
    }
    assert.ok((await t.gql('{ endpoint(name: "web") { name } }')).data.endpoint, 'nothing was removed');
  });

  it('should refuse forged, foreign and stale tokens, and the API key for an instance', async () => {
    const forged = `rit_i-1.${'A'.repeat(43)}`;
    assert.equal(code(await t.gql(SET, { i: 'i-1', m: {} }, { authorization: `Bearer ${forged}`, 'x-auth-key': '' })), 'UNAUTHENTICATED');
    assert.equal(code(await t.gql(SET, { i: 'gone', m: {} }, bearer('gone'))), 'UNAUTHENTICATED');
    const admin = await t.gql(SET, { i: 'i-1', m: { queue: [1, 9] } });
    assert.equal(code(admin), 'FORBIDDEN', 'the API key cannot forge an instance\'s metrics');
    assert.match(admin.errors![0].message, /takes the token of instance i-1/);
  });
});

describe('a container reporting its own metric', () => {
  const apiKey = 'container-test-admin-key';
  let t: TestServer;
  before(async () => {
    ensureMetricImage();
    t = await startTestServer({ agent: true, name: 'token-host', interval: 1, apiKey });
  });
  after(async () => t?.close());

  it('should reach the API on the bridge gateway with its token, and never see the API key', async () => {
    const config = SEED_CONFIG.replace('image=reactor-test/httpd:1', `image=${METRIC_IMAGE}`).replace('command=/usr/local/bin/runapp', 'command=').replace('loadbalancer=nginx', 'loadbalancer=none');
    const managed = await t.gql('mutation($c: String!) { manageEndpoint(name: "reporter", config: $c) { name } }', { c: config });
    assert.equal(managed.errors, undefined, JSON.stringify(managed.errors));
    await t.gql('mutation { setEndpointState(name: "reporter", state: RUNNING) { state } }');
    const reported = await waitFor(
      async () => (await t.server.services.store.customMetrics.list('reporter')).find((c) => c.instance !== '' && c.metrics.probe?.[1] === 42),
      { timeoutMs: 30_000, what: 'the probe metric the container posted' },
    );
    // The container may post before its host has recorded the container's id: wait for that.
    const instance = await waitFor(async () => {
      const record = await t.server.services.store.instances.get(reported.instance);
      return record?.containerId ? record : null;
    }, { what: 'the container id of the reporting instance' });
    const inspect = await new Docker().getContainer(instance.containerId!).inspect();
    const env = Object.fromEntries(inspect.Config.Env.map((line: string) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    assert.equal(env.REACTOR_API, t.server.instanceUrl);
    assert.doesNotMatch(env.REACTOR_API, /127\.0\.0\.1|0\.0\.0\.0|localhost/, 'an address a container can reach');
    assert.equal(env.REACTOR_INSTANCE, instance.id);
    assert.match(env.REACTOR_TOKEN, /^rit_/);
    assert.ok(!inspect.Config.Env.some((line: string) => line.includes(apiKey)), 'the API key never enters a container');

    // The instance listener takes only instance tokens: not the API key, not other operations.
    const post = (headers: Record<string, string>, query: string, variables: Record<string, unknown> = {}) =>
      fetch(env.REACTOR_API, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
    const withKey = await post({ 'x-auth-key': apiKey }, '{ version }');
    assert.equal(withKey.status, 401);
    const other = await post({ authorization: `Bearer ${env.REACTOR_TOKEN}` }, '{ endpoints { name } }');
    assert.equal(((await other.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code, 'FORBIDDEN');
    const own = await post({ authorization: `Bearer ${env.REACTOR_TOKEN}` }, SET, { i: instance.id, m: { probe: [1, 43] } });
    assert.deepEqual(((await own.json()) as { data: unknown }).data, { setInstanceMetrics: true });
  });
});
