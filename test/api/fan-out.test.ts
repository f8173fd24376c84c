// Execute once per event: many subscribers with one selection share one execution and receive the same bytes; other selections and other arguments get their own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { newId } from '../../src/store/ids.js';
import { executionCounts } from '../../src/server/fan-out.js';
import { SEED_CONFIG } from '../support/configs.js';
import { manage } from '../support/graphql.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** One raw graphql-ws socket: its subscriptions by id, and the text of every `next` message it got. */
interface RawSocket {
  texts: Map<string, string[]>;
  /** Frames that came as binary (graphql-ws speaks in text frames: there must be none). */
  binary: number;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  close(): void;
}

async function rawSocket(wsUrl: string): Promise<RawSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const texts = new Map<string, string[]>();
  const raw = { binary: 0 };
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('error', reject);
    socket.on('message', (data, binary) => {
      if (binary) raw.binary += 1;
      const text = data.toString();
      const message = JSON.parse(text) as { type: string; id?: string };
      if (message.type === 'connection_ack') resolve();
      if (message.type === 'next' || message.type === 'error') {
        // The message without its id: what every subscriber of the same selection must get alike.
        texts.get(message.id!)!.push(text.replace(`"id":${JSON.stringify(message.id)},`, ''));
      }
    });
  });
  return {
    texts,
    get binary() {
      return raw.binary;
    },
    subscribe(id, query, variables = {}) {
      texts.set(id, []);
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    },
    close: () => socket.terminate(),
  };
}

const METRICS = 'subscription M($e: String) { metricSamples(endpoint: $e) { id at metrics } }';
const COUNTS = 'subscription C($e: String) { metricSamples(endpoint: $e) { id endpoint instances } }';

describe('subscriptions executed once per event', () => {
  let t: TestServer;
  const sockets: RawSocket[] = [];

  before(async () => {
    // 200 subscribers at the default 25 operations per socket: 8 sockets of one client, within its 32.
    t = await startTestServer({ agent: false });
    await manage(t, 'alpha', SEED_CONFIG);
    await manage(t, 'beta', SEED_CONFIG);
    for (let n = 0; n < 12; n++) sockets.push(await rawSocket(t.wsUrl));
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await t.close();
  });

  /** Stores one sample of `endpoint` and publishes it, as the sampler does. */
  async function publishSample(endpoint: string, rate: number) {
    const sample = { id: newId(), endpoint, at: new Date(), instances: 2, metrics: { rate, active: 1 } };
    await t.server.services.store.samples.append(sample);
    t.server.services.bus.publish('metricSamples', sample);
    return sample;
  }

  it('should give 200 subscribers of one selection identical payloads from a single execution', async () => {
    for (let n = 0; n < 200; n++) sockets[n % 8]!.subscribe(`m${n}`, METRICS, { e: 'alpha' });
    await t.subscribed('metricSamples', 200);
    const before = { ...executionCounts };
    const sample = await publishSample('alpha', 42.5);
    const all = () => sockets.slice(0, 8).flatMap((socket) => [...socket.texts.values()]);
    await waitFor(() => all().every((texts) => texts.length === 1), { what: 'every subscriber got the sample' });
    const texts = all().map((got) => got[0]!);
    assert.equal(texts.length, 200);
    assert.equal(new Set(texts).size, 1, 'all 200 got the same bytes');
    assert.equal(sockets.reduce((sum, socket) => sum + socket.binary, 0), 0, 'as text frames');
    assert.deepEqual(JSON.parse(texts[0]!), {
      type: 'next',
      payload: { data: { metricSamples: { id: sample.id, at: sample.at.toISOString(), metrics: { rate: 42.5, active: 1 } } } },
    });
    assert.equal(executionCounts.run - before.run, 1, 'executed once');
    assert.equal(executionCounts.shared - before.shared, 199, 'shared by the other 199');
  });

  it('should execute each other selection, and each other argument, on its own', async () => {
    const counts = sockets[8]!;
    const otherEndpoint = sockets[9]!;
    const all = sockets[10]!;
    for (let n = 0; n < 10; n++) counts.subscribe(`c${n}`, COUNTS, { e: 'alpha' });
    for (let n = 0; n < 10; n++) otherEndpoint.subscribe(`b${n}`, METRICS, { e: 'beta' });
    for (let n = 0; n < 10; n++) all.subscribe(`a${n}`, METRICS, {});
    await t.subscribed('metricSamples', 230);
    const before = { ...executionCounts };
    const alpha = await publishSample('alpha', 7);
    const beta = await publishSample('beta', 9);
    await waitFor(() => [...all.texts.values()].every((texts) => texts.length === 2), { what: 'the all-endpoints subscribers got both' });
    await waitFor(() => [...counts.texts.values(), ...otherEndpoint.texts.values()].every((texts) => texts.length === 1), { what: 'the others got theirs' });

    const one = (socket: RawSocket) => new Set([...socket.texts.values()].map((texts) => texts.join('\n')));
    assert.equal(one(counts).size, 1);
    assert.deepEqual(JSON.parse([...one(counts)][0]!).payload.data.metricSamples, { id: alpha.id, endpoint: 'alpha', instances: 2 });
    assert.equal(one(otherEndpoint).size, 1);
    assert.deepEqual(JSON.parse([...one(otherEndpoint)][0]!).payload.data.metricSamples.id, beta.id);
    assert.equal(one(all).size, 1);
    assert.deepEqual(
      [...all.texts.values()][0]!.map((text) => JSON.parse(text).payload.data.metricSamples.metrics.rate),
      [7, 9],
    );
    // alpha: the 200 of the first test (one execution), the counts selection (one), the all-endpoints subscribers (one);
    // beta: the beta subscribers (one) and the all-endpoints subscribers (one).
    assert.equal(executionCounts.run - before.run, 5);
  });

  it('should execute an item replayed from history for its subscriber alone', async () => {
    const replaying = sockets[11]!;
    const first = await publishSample('beta', 1);
    await publishSample('beta', 2);
    // The live subscribers of beta from the test before take both first.
    await waitFor(() => [...sockets[9]!.texts.values()].every((texts) => texts.length === 3), { what: 'live delivery done' });
    await waitFor(() => [...sockets[10]!.texts.values()].every((texts) => texts.length === 4), { what: 'live delivery done' });
    const before = { ...executionCounts };
    replaying.subscribe('r', METRICS, { e: 'beta' });
    replaying.subscribe('r2', 'subscription R($e: String, $after: ID) { metricSamples(endpoint: $e, afterId: $after) { id metrics } }', { e: 'beta', after: first.id });
    await waitFor(() => replaying.texts.get('r2')!.length === 1, { what: 'the replayed sample' });
    assert.equal(JSON.parse(replaying.texts.get('r2')![0]!).payload.data.metricSamples.metrics.rate, 2);
    assert.deepEqual({ run: executionCounts.run - before.run, shared: executionCounts.shared - before.shared }, { run: 1, shared: 0 });
    assert.equal(replaying.texts.get('r')!.length, 0, 'no history without afterId');
  });
});
