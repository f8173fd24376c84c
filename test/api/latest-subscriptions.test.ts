// Tests `latest: true` on metricSamples and scalingDecisions: the current value at once, then live items, over a real graphql-ws connection.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/store/ids.js';
import type { MetricSampleRecord } from '../../src/store/types.js';
import { SEED_CONFIG } from '../support/configs.js';
import { startTestServer, take, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const MANAGE = 'mutation($name: String!, $config: String!) { manageEndpoint(name: $name, config: $config) { name } }';
const SAMPLES = 'subscription($e: String, $latest: Boolean) { metricSamples(endpoint: $e, latest: $latest) { id endpoint metrics } }';

function sample(endpoint: string, rate: number): MetricSampleRecord {
  return { id: newId(), endpoint, at: new Date(), instances: 1, metrics: { rate } };
}

describe('subscriptions with latest: true', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    for (const name of ['web', 'api', 'idle']) await t.gql(MANAGE, { name, config: SEED_CONFIG });
    const { samples } = t.server.services.store;
    await samples.append(sample('web', 1));
    await samples.append(sample('web', 2));
    await samples.append(sample('api', 7));
  });
  after(async () => {
    await t?.close();
  });

  it("should send an endpoint's latest sample at once, then the next live one", async () => {
    const sub = take(t.ws(), SAMPLES, { e: 'web', latest: true }, 2);
    await t.subscribed('metricSamples');
    await waitForItems(sub.items, 1);
    assert.deepEqual(sub.items[0].metricSamples.metrics, { rate: 2 });
    const live = sample('web', 3);
    await t.server.services.store.samples.append(live);
    t.server.services.bus.publish('metricSamples', live);
    const items = await sub.done;
    assert.equal(items[1].metricSamples.id, live.id);
  });

  it('should send the latest sample of every endpoint that has one when no endpoint is named', async () => {
    const sub = take(t.ws(), SAMPLES, { latest: true }, 2);
    const items = await sub.done;
    assert.deepEqual(
      items.map((i) => [i.metricSamples.endpoint, i.metricSamples.metrics.rate]).sort(),
      [['api', 7], ['web', 3]],
    );
  });

  it('should send nothing first without latest', async () => {
    await idle('metricSamples'); // the earlier tests' subscriptions are gone, so subscribed() below counts this one
    const sub = take(t.ws(), SAMPLES, { e: 'web' }, 1);
    await t.subscribed('metricSamples');
    const live = sample('web', 4);
    await t.server.services.store.samples.append(live);
    t.server.services.bus.publish('metricSamples', live);
    const items = await sub.done;
    assert.equal(items[0].metricSamples.id, live.id, 'the first item is the live one, not a stored one');
  });

  it('should start scalingDecisions with the latest decision of the endpoint', async () => {
    const decisions = t.server.services.store.decisions;
    await decisions.append({ id: newId(), endpoint: 'api', at: new Date(), record: {} });
    const newest = { id: newId(), endpoint: 'api', at: new Date(), record: {} };
    await decisions.append(newest);
    const sub = take(t.ws(), 'subscription { scalingDecisions(endpoint: "api", latest: true) { id endpoint } }', {}, 1);
    const items = await sub.done;
    assert.deepEqual(items[0].scalingDecisions, { id: newest.id, endpoint: 'api' });
  });

  async function idle(topic: 'metricSamples'): Promise<void> {
    await waitFor(() => t.server.services.bus.subscriberCount(topic) === 0, { what: `no ${topic} subscriber left` });
  }
});

async function waitForItems(items: unknown[], count: number): Promise<void> {
  await waitFor(() => items.length >= count, { what: `${count} subscription item(s)` });
}
