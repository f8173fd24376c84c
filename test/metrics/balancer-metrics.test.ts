// Metrics measured at the balancer, for real: a known load through nginx against the samples, the API and the CLI.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { MetricSampleRecord } from '../../src/store/types.js';
import { freePort } from '../../src/util/ports.js';
import { reactor as runReactor } from '../support/cli.js';
import { staticBackendsConf } from '../support/configs.js';
import { removeBackends, startBackends, type TestContainer } from '../support/containers.js';
import { manage } from '../support/graphql.js';
import { request } from '../support/http.js';
import { startTestServer, take, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const reactor = (args: string[], stdin = '') => runReactor(args, { stdin });

const LABEL = 'metrics-pipeline';


/** `total` GETs over `concurrency` keep-alive connections; returns how many got a 200. */
async function load(url: string, total: number, concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let ok = 0;
  const worker = async () => {
    while (next < total) {
      next += 1;
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get(url, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject);
      });
      if (status === 200) ok += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return ok;
}

describe('metrics from the balancer', () => {
  let t: TestServer;
  let backends: TestContainer[];
  let port: number;

  const samples = (endpoint: string) => t.server.services.store.samples.list(endpoint, { limit: 10_000 });

  before(async () => {
    await removeBackends(LABEL);
    backends = await startBackends(2, LABEL);
    port = await freePort();
    t = await startTestServer({ agent: true, name: 'metrics-host', interval: 1 });
    await manage(t, 'load', staticBackendsConf(`http://:${port}/`, backends.map((b) => b.address)));
    await waitFor(async () => (await request(`http://127.0.0.1:${port}/`)).status === 200, { what: 'load served' });
  });

  after(async () => {
    await t?.close();
    await removeBackends(LABEL);
  });

  it('should measure the rate of a known load within 10 %, with bytes, response time and instances', async () => {
    // Start counting at a sample boundary: everything after this sample is the test's load.
    const mark = await waitFor(async () => {
      const list = await samples('load');
      return list.length > 0 ? list[list.length - 1] : null;
    }, { what: 'a first sample' });
    const sent = 600;
    const answered = await load(`http://127.0.0.1:${port}/`, sent, 6);
    assert.equal(answered, sent);
    const loadEnded = Date.now();
    // Two whole intervals after the load, every line has been counted.
    const after = await waitFor(async () => {
      const list = (await samples('load')).filter((s) => s.id > mark.id);
      return list.filter((s) => s.at.getTime() > loadEnded).length >= 2 ? list : null;
    }, { what: 'samples after the load' });
    let previous = mark.at.getTime();
    let counted = 0;
    for (const sample of after) {
      const seconds = (sample.at.getTime() - previous) / 1000;
      previous = sample.at.getTime();
      counted += sample.metrics.rate * sample.instances * seconds;
    }
    assert.ok(Math.abs(counted - sent) <= sent * 0.1, `counted ${counted.toFixed(1)} requests of ${sent}`);
    const busy = after.reduce((a, b) => (b.metrics.rate > a.metrics.rate ? b : a));
    assert.equal(busy.instances, 2);
    assert.ok(busy.metrics.bytes > 0, 'bytes/s');
    assert.ok(busy.metrics.response >= 0, 'response time in ms');
    assert.ok(busy.metrics.active >= 0, 'active connections');
    assert.equal(busy.metrics.pending, 0);
  });

  it('should expose the latest sample as Endpoint.metrics and metricHistory, and print it with get-metrics', async () => {
    const result = await t.gql('{ endpoint(name: "load") { metrics { instances metrics at } metricHistory(limit: 3) { id at } } }');
    const endpoint = result.data.endpoint;
    assert.equal(endpoint.metrics.instances, 2);
    assert.ok(endpoint.metricHistory.length > 0 && endpoint.metricHistory.length <= 3);
    for (const key of ['active', 'rate', 'bytes', 'pending']) assert.equal(typeof endpoint.metrics.metrics[key], 'number', key);
    const run = await reactor(['--api', t.url, 'get-metrics', 'load']);
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout);
    assert.equal(typeof printed.rate, 'number');
    assert.equal(typeof printed.active, 'number');
    assert.match(run.stdout.trim(), /^\{"active": [\d.]+, "rate": [\d.]+, "bytes": [\d.]+/);
  });

  it('should stream samples on the metricSamples subscription', async () => {
    const client = t.ws();
    const stream = take<{ metricSamples: { endpoint: string; instances: number; metrics: Record<string, number> } }>(
      client,
      'subscription { metricSamples(endpoint: "load") { endpoint instances metrics } }',
      {},
      1,
    );
    const [item] = await stream.done;
    assert.equal(item.metricSamples.endpoint, 'load');
    assert.equal(item.metricSamples.instances, 2);
  });

  it('should count requests that find no instance as pending', async () => {
    const emptyPort = await freePort();
    await manage(t, 'nobody', staticBackendsConf(`http://:${emptyPort}/`, []));
    await waitFor(async () => (await request(`http://127.0.0.1:${emptyPort}/`)).status === 502, { what: 'nobody answering 502' });
    for (let i = 0; i < 20; i++) await request(`http://127.0.0.1:${emptyPort}/`);
    const sample = await waitFor(async () => (await samples('nobody')).find((s: MetricSampleRecord) => s.metrics.pending > 0), {
      what: 'a sample with pending requests',
    });
    assert.equal(sample.instances, 0);
  });
});
