// A MongoDB store that goes away does not hold the API: reads and writes answer STORE_UNAVAILABLE within a second, { version } keeps answering, and everything resumes when the store is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes } from '../../src/errors/codes.js';
import { openStore } from '../../src/store/open.js';
import { freePort } from '../../src/util/ports.js';
import { SEED_CONFIG } from '../support/configs.js';
import { rejectsWithCode } from '../support/errors.js';
import { startFerretDB, type Restartable, type RunningFerretDB } from '../support/ferretdb.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** The acceptance point's bound, "within a second". */
const ANSWER_BOUND_MS = 1000;

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await call();
  return { value, ms: performance.now() - started };
}

describe('a MongoDB store that goes away and comes back', () => {
  let ferret: RunningFerretDB & Restartable;
  let t: TestServer;
  let storeUrl: string;
  before(async () => {
    ferret = await startFerretDB();
    storeUrl = `${ferret.url}reactor_gone`;
    t = await startTestServer({ agent: false, interval: 0.5, store: storeUrl });
    const managed = await t.gql('mutation($c: String!) { manageEndpoint(name: "gone", config: $c) { name } }', { c: SEED_CONFIG });
    assert.equal(managed.errors, undefined, JSON.stringify(managed.errors));
  });
  after(async () => {
    await t?.close();
    await ferret?.stop();
  });

  it('should answer reads and writes with STORE_UNAVAILABLE within a second, keep { version } answering, keep the loop trying, and resume', async () => {
    await waitFor(async () => await t.server.services.store.samples.latest('gone'), { what: 'a first sample (the loop runs)' });
    await ferret.halt();
    const haltedAt = t.logs.length;

    const refusals: { message: string; extensions?: Record<string, unknown> }[] = [];
    for (let round = 0; round < 4; round++) {
      const version = await timed(() => t.gql('{ version }'));
      assert.match(version.value.data.version, /^\d+\.\d+\.\d+/);
      assert.ok(version.ms < ANSWER_BOUND_MS, `{ version } took ${version.ms.toFixed(0)} ms`);
      for (const operation of ['{ endpoint(name: "gone") { state } }', 'mutation { setEndpointState(name: "gone", state: STOPPED) { state } }']) {
        const answer = await timed(() => t.gql(operation));
        assert.ok(answer.ms < ANSWER_BOUND_MS, `${operation} took ${answer.ms.toFixed(0)} ms while the store was down`);
        const error = answer.value.errors?.[0];
        assert.equal(error?.extensions?.code, ErrorCodes.STORE_UNAVAILABLE, JSON.stringify(answer.value));
        refusals.push(error!);
      }
    }
    for (const refusal of refusals) {
      assert.ok(refusal.message.includes(storeUrl), `the message names the store: ${refusal.message}`);
      assert.match(refusal.message, /cannot be reached|connection to the store .* broke/);
    }
    // Once the first calls have met the closed connections, a store that is not there "cannot be reached" (the driver's
    // last word on it in brackets: refused, or the connection it saw close); a write says nothing changed.
    assert.match(refusals.at(-1)!.message, /cannot be reached \(.*127\.0\.0\.1:\d+.*\), so it could not read; try again shortly$/);
    const write = await timed(() =>
      rejectsWithCode(t.server.services.store.events.append({ id: 'x', endpoint: 'gone', kind: 'K', message: 'm', data: {}, at: new Date() }), ErrorCodes.STORE_UNAVAILABLE, [
        'so it could not write; nothing was changed, try again shortly',
      ]),
    );
    assert.ok(write.ms < ANSWER_BOUND_MS, `a store write took ${write.ms.toFixed(0)} ms to fail`);

    // The control loop keeps trying, round after round, and says why.
    await waitFor(() => t.logs.slice(haltedAt).filter((line) => /sampling failed: .*(cannot be reached|broke)/.test(String(line.msg))).length >= 2, {
      what: 'two sampling rounds that failed on the unreachable store',
    });
    // The store feed says so once, not ten times a second.
    const feedFailures = t.logs.slice(haltedAt).filter((line) => /reading the store failed/.test(String(line.msg)));
    assert.ok(feedFailures.length <= 2, `${feedFailures.length} feed failure lines`);

    await ferret.resume();
    const resumedAt = new Date();
    let lastRefusal = '';
    const resumed = await waitFor(
      async () => {
        const answer = await t.gql('mutation { setEndpointState(name: "gone", state: STOPPED) { state } }');
        lastRefusal = JSON.stringify(answer.errors);
        return answer.errors ? undefined : answer;
      },
      { what: 'a write that works once the store is back' },
    ).catch((error: Error) => assert.fail(`${error.message}; the last answer: ${lastRefusal}`));
    assert.equal(resumed.data.setEndpointState.state, 'STOPPED');
    // Samples are the controller's; an outage longer than its lease minus a renewal period (4 s here) makes it step down,
    // and it takes the lease again once the store shows it unrenewed for a whole lease (6 s): allow for that.
    await waitFor(async () => ((await t.server.services.store.samples.latest('gone'))?.at ?? new Date(0)) > resumedAt, {
      what: 'a sample stored after the store came back',
      timeoutMs: 30_000,
    });
    assert.ok(t.logs.some((line) => line.msg === 'reading the store works again'), 'the feed said it reads again');
  });
});

describe('opening a MongoDB store that is not up yet', () => {
  it('should wait for it (a store starting a moment after the server) and open once it answers', async () => {
    const port = await freePort(); // nobody listens there yet
    const waits: string[] = [];
    const opening = openStore(`mongodb://127.0.0.1:${port}/reactor_late`, { onWait: (cause, waitMs) => waits.push(`${cause} ${waitMs}`) });
    await waitFor(() => waits.length > 0, { what: 'opening to say it waits' });
    let settled = false;
    void opening.then(
      () => (settled = true),
      () => (settled = true),
    );
    const late = await startFerretDB({ port });
    try {
      assert.equal(settled, false, 'opening gave up before the store was up');
      assert.deepEqual(waits, [`connect ECONNREFUSED 127.0.0.1:${port} 10000`], 'said once, with the cause and how long it tries');
      const store = await opening;
      await store.endpoints.create({ name: 'late', state: 'PAUSED', configText: '' });
      assert.equal((await store.endpoints.get('late'))?.name, 'late');
      await store.close();
    } finally {
      await late.stop();
    }
  });
});
