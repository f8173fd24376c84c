// /metrics against a real server, engine and nginx: promtool accepts it, its values agree with the API, and it takes the API's key.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/open.js';
import { countStoreErrors } from '../../src/telemetry/store-errors.js';
import { freePort } from '../../src/util/ports.js';
import { httpGet } from '../support/http.js';
import { ensureTestImage } from '../support/images.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { balancedConf as loopConf } from '../support/configs.js';
import { manage, setState } from '../support/graphql.js';

/** `promtool check metrics` on `text`: its exit code and what it printed. */
function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin!.end(text);
  });
}

type Samples = Map<string, number>;

/** The exposition's samples as `name{a="x",b="y"}` → value (labels sorted by name). */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `an exposition line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

const key = (name: string, labels: Record<string, string> = {}) =>
  `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`;

describe('/metrics', () => {
  let t: TestServer;
  let port = 0;
  const metricsUrl = () => t.url.replace(/\/graphql$/, '/metrics');

  before(async () => {
    ensureTestImage();
    port = await freePort();
    t = await startTestServer({ agent: true, name: `metrics-${process.pid}`, interval: 1 });
    await manage(t, 'watched', loopConf({ port, min: 1, max: 1, rules: 'rate < 50' }));
    await setState(t, 'watched', 'RUNNING');
    const set = await t.gql('mutation { setCustomMetrics(endpoint: "watched", metrics: {queue: [1, 12.5]}) }');
    assert.equal(set.errors, undefined);
    await waitFor(async () => (await httpGet(`127.0.0.1:${port}`)).status === 200, { timeoutMs: 60_000, what: 'the endpoint served through nginx' });
  });

  after(async () => {
    await t?.close();
  });

  it('should pass promtool check metrics', async () => {
    const response = await fetch(metricsUrl());
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const { code, output } = await promtool(await response.text());
    assert.equal(output, '');
    assert.equal(code, 0);
  });

  it('should agree with the API on instances, state, target, the latest sample and the counters', async () => {
    for (let i = 0; i < 20; i++) await httpGet(`127.0.0.1:${port}`);
    const client = t.ws();
    const unsubscribe = client.subscribe({ query: 'subscription { endpointEvents(endpoint: "watched") { id } }' }, { next() {}, error() {}, complete() {} });
    await t.subscribed('endpointEvents', 2); // ours, and the balancer sync's own
    const read = async () => {
      const { data } = await t.gql(`{ endpoint(name: "watched") {
        state instances { status } metrics { id instances metrics } decisions(limit: 1000) { id target } events(limit: 1000) { kind data } } }`);
      return data.endpoint;
    };
    // Samples and decisions come every second: compare a scrape taken between two equal reads of the API.
    const { api, samples } = await waitFor(
      async () => {
        const before = await read();
        const text = await (await fetch(metricsUrl())).text();
        const after = await read();
        if (JSON.stringify(before) !== JSON.stringify(after) || !before.metrics || before.decisions.length === 0) return null;
        return { api: before, samples: parse(text) };
      },
      { timeoutMs: 30_000, what: 'a scrape between two equal reads of the API' },
    );
    const endpoint = 'watched';
    for (const status of ['PENDING', 'STARTING', 'RUNNING', 'DECOMMISSIONED', 'REMOVING', 'ERROR', 'LOST']) {
      const count = api.instances.filter((i: { status: string }) => i.status === status).length;
      assert.equal(samples.get(key('reactor_endpoint_instances', { endpoint, status })), count, status);
    }
    assert.equal(samples.get(key('reactor_endpoint_state', { endpoint, state: 'RUNNING' })), 1);
    assert.equal(samples.get(key('reactor_endpoint_state', { endpoint, state: 'PAUSED' })), 0);
    assert.equal(samples.get(key('reactor_endpoint_target', { endpoint })), api.decisions.at(-1).target);
    assert.equal(samples.get(key('reactor_endpoint_sample_instances', { endpoint })), api.metrics.instances);
    assert.ok(Object.keys(api.metrics.metrics).includes('queue'), 'the custom metric is in the sample');
    for (const [metric, value] of Object.entries(api.metrics.metrics)) {
      assert.equal(samples.get(key('reactor_endpoint_metric', { endpoint, metric })), value, metric);
    }
    const decisions = ['evaluate', 'trigger'].reduce((n, round) => n + (samples.get(key('reactor_decisions_total', { endpoint, round })) ?? 0), 0);
    assert.equal(decisions, api.decisions.length);
    const started = api.events.filter((e: { kind: string }) => e.kind === 'INSTANCE_STARTED').length;
    assert.ok(started >= 1);
    assert.equal(samples.get(key('reactor_instance_launches_total', { endpoint })), started);
    assert.equal(samples.get(key('reactor_api_subscriptions_open', { topic: 'endpointEvents' })), 1);
    assert.ok((samples.get(key('reactor_nginx_reloads_total')) ?? 0) >= 1, 'nginx was reloaded for the new endpoint');
    assert.ok((samples.get(key('reactor_nginx_peer_updates_total')) ?? 0) >= 1, 'the instance joined the Lua balancer without a reload');
    assert.ok((samples.get(key('reactor_api_request_duration_seconds_count', { operation: 'query', outcome: 'ok' })) ?? 0) >= 1, 'the read before the scrape');
    assert.ok((samples.get(key('reactor_api_request_duration_seconds_count', { operation: 'mutation', outcome: 'ok' })) ?? 0) >= 3);
    unsubscribe();
  });

  it('should count launch failures by reason as the API records them', async () => {
    await manage(t, 'missing', loopConf({ port: await freePort(), min: 1, max: 1 }).replace(/^image=.*$/m, 'image=reactor-test/no-such-image:1'));
    await setState(t, 'missing', 'RUNNING');
    const failed = await waitFor(
      async () => {
        const { data } = await t.gql('{ events(endpoint: "missing", limit: 1000) { data } }');
        const count = data.events.filter((e: { data: { failure?: string } }) => e.data.failure === 'IMAGE_UNAVAILABLE').length;
        return count >= 1 ? count : null;
      },
      { timeoutMs: 30_000, what: 'a failed launch' },
    );
    const samples = parse(await (await fetch(metricsUrl())).text());
    assert.equal(samples.get(key('reactor_instance_launch_failures_total', { endpoint: 'missing', reason: 'IMAGE_UNAVAILABLE' })), failed);
    await setState(t, 'missing', 'STOPPED');
  });
});

describe('/metrics behind the API key', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ apiKey: 'sesame' });
  });
  after(async () => {
    await t?.close();
  });

  it('should refuse a scrape without the key, and take it as X-Auth-Key or a bearer token', async () => {
    const url = t.url.replace(/\/graphql$/, '/metrics');
    const missing = await fetch(url);
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).errors[0].extensions.code, 'UNAUTHENTICATED');
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(url, { headers: { 'x-auth-key': 'sesame' } })).status, 200);
    const bearer = await fetch(url, { headers: { authorization: 'Bearer sesame' } });
    assert.equal(bearer.status, 200);
    assert.match(await bearer.text(), /^# HELP reactor_/m);
  });
});

describe('store errors', () => {
  it('should count failed store calls by operation, and not the answers the contract defines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reactor-store-errors-'));
    const failures: string[] = [];
    const store = countStoreErrors(await openStore(`sqlite:${join(dir, 'store.db')}`), (operation) => failures.push(operation));
    try {
      await assert.rejects(store.endpoints.update('ghost', 1, { state: 'PAUSED' }), /does not exist/);
      await assert.rejects(store.events.list(undefined, { limit: 0 }), /limit/);
      assert.deepEqual(failures, [], 'NOT_FOUND and a bad limit are answers, not store errors');
      await store.close();
      await assert.rejects(store.instances.list());
      assert.deepEqual(failures, ['instances.list']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
