// Scale from zero on a real engine and nginx: requests to an endpoint at 0 instances are held by the activator, launch the first instance at once, and are answered by it; a full hold queue gets 503, a hold timeout 504, each with an event.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/util/ports.js';
import { balancedConf } from '../support/configs.js';
import { decisionsOf, eventsOf, gqlOk, instancesOf, manage, setState } from '../support/graphql.js';
import { request, type Answer } from '../support/http.js';
import { ensureTestImage, TEST_IMAGE } from '../support/images.js';
import { load } from '../support/load.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/**
 * Resolves once nginx serves a configuration that sends the endpoint's
 * requests to the activator, and no worker of an older one is left (with
 * reuseport, an old worker may still take a connection for a moment, until
 * the master has told it to quit, and would answer it 502 from the old
 * configuration).
 */
async function holding(t: TestServer, endpoint: string): Promise<void> {
  const driver = t.server.services.traffic.balancer!.driver;
  await waitFor(() => driver.current.find((e) => e.name === endpoint)?.fallback, { what: `nginx sending ${endpoint} to the activator` });
  // worker_processes auto: one per CPU. More means the old ones still run (told to quit or about to be).
  await waitFor(
    () => {
      const workers = execFileSync('ps', ['--ppid', String(driver.pid), '-o', 'args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('worker process'));
      return workers.length === cpus().length && !workers.some((line) => line.includes('shutting down'));
    },
    { what: 'the old nginx workers gone' },
  );
}

describe('scale from zero', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    // The default interval: nothing but a held request can start the first instance within the test's waits.
    t = await startTestServer({ agent: true, name: 'zero-host', interval: 10, decisionKeepEvery: 1 });
  });
  after(async () => {
    await t?.close();
  });

  const activator = () => t.server.services.traffic.balancer!.activator;

  it('should hold 20 concurrent requests at 0 instances and answer all of them 200 from the first instance', async () => {
    const port = await freePort();
    await manage(t, 'zero', balancedConf({ port, min: 0, max: 2, rules: '0 < rate < 100' }));
    await setState(t, 'zero', 'RUNNING');
    await holding(t, 'zero');
    assert.equal((await instancesOf(t, 'zero')).length, 0, 'min_instances=0 and no traffic: nothing runs');

    const result = await load(`http://127.0.0.1:${port}/`, { concurrency: 20, maxRequests: 20, stop: (p) => p.ok + p.failed >= 20 });
    assert.deepEqual([result.sent, result.ok, result.failures], [20, 20, {}]);
    const hosts = Object.keys(result.hosts);
    assert.equal(hosts.length, 1, `one instance answered all: ${JSON.stringify(result.hosts)}`);
    const instances = await instancesOf(t, 'zero');
    assert.equal(instances.length, 1, 'the held requests asked for one instance, not one each');

    const decisions = await decisionsOf(t, 'zero');
    const launch = decisions.find((d) => d.record.applied?.some((a: { kind: string }) => a.kind === 'launch'));
    assert.ok(launch, 'a decision launched the first instance');
    assert.equal(launch.record.startedBy, 'held', launch.summary);
    const typed = await gqlOk(t, 'query { endpoint(name: "zero") { decisions(limit: 100) { id startedBy } } }');
    assert.equal(typed.endpoint.decisions.find((d: { id: string }) => d.id === launch.id).startedBy, 'HELD');
    const surge = (await eventsOf(t, 'zero')).find((e) => e.kind === 'SURGE');
    assert.ok(surge && surge.data.startedBy === 'held', 'the activator asked for the launch with a SURGE event');
  });

  it('should answer 503 with Retry-After when the hold queue is full and 504 after hold_timeout, recording one event for each', async () => {
    const port = await freePort();
    // An image no engine has: the launch fails, so nothing ever serves and the held requests time out.
    const conf = balancedConf({ port, min: 0, max: 1, holdQueue: 2, holdTimeout: 2 }).replace(`image=${TEST_IMAGE}`, 'image=reactor-test-missing:none');
    await manage(t, 'full', conf);
    await setState(t, 'full', 'RUNNING');
    await holding(t, 'full');

    const url = `http://127.0.0.1:${port}/`;
    const held = [request(url, { timeoutMs: 20_000 }), request(url, { timeoutMs: 20_000 })];
    await waitFor(() => activator().heldCounts().get('full') === 2, { what: 'two requests held' }).catch(async (error: Error) => {
      const answers = await Promise.all(held.map((p) => p.then((a) => `${a.status} ${a.body.trim()}`, (e: Error) => e.message)));
      throw new Error(`${error.message}; the two requests got: ${answers.join(' | ')}`);
    });
    const refused: Answer[] = [];
    for (let i = 0; i < 3; i++) refused.push(await request(url));
    for (const answer of refused) {
      assert.equal(answer.status, 503, answer.body);
      assert.equal(answer.headers['retry-after'], '1');
      assert.match(answer.body, /hold queue \(2\) is full/);
    }
    for (const answer of await Promise.all(held)) {
      assert.equal(answer.status, 504, answer.body);
      assert.match(answer.body, /within hold_timeout \(2 s\)/);
    }
    const events = await waitFor(
      async () => {
        const list = await eventsOf(t, 'full');
        const refusedEvents = list.filter((e) => e.kind === 'HELD_REQUESTS_REFUSED');
        const timedOut = list.filter((e) => e.kind === 'HELD_REQUESTS_TIMED_OUT');
        return refusedEvents.length > 0 && timedOut.length > 0 ? { refusedEvents, timedOut } : null;
      },
      { what: 'the refusal and timeout events' },
    );
    // Folded: one event per second at most, each with its count.
    assert.equal(events.refusedEvents.reduce((n, e) => n + e.data.count, 0), 3);
    assert.equal(events.timedOut.reduce((n, e) => n + e.data.count, 0), 2);
    assert.ok(events.refusedEvents.length <= 2, `${events.refusedEvents.length} refusal events for 3 refusals`);
  });

  it('should refuse a request that does not come through nginx', async () => {
    const answer = await request(`http://${activator().address}/`);
    assert.equal(answer.status, 400);
    assert.match(answer.body, /X-Reactor-Endpoint/i);
  });
});

describe('scale to zero and back', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    // A short interval, so the idle evaluation that takes the endpoint to 0 comes quickly.
    t = await startTestServer({ agent: true, name: 'zero-back-host', interval: 1, decisionKeepEvery: 1 });
  });
  after(async () => {
    await t?.close();
  });

  it('should go to 0 at an idle evaluation, then hold the next request and serve it from a new instance', async () => {
    const port = await freePort();
    await manage(t, 'idle', balancedConf({ port, min: 0, max: 1, rules: '0 < rate < 100', decommissionedTimeout: 1 }));
    await setState(t, 'idle', 'RUNNING');
    const url = `http://127.0.0.1:${port}/`;
    await holding(t, 'idle');
    const first = await request(url, { timeoutMs: 20_000 });
    assert.equal(first.status, 200, first.body);
    // No traffic: an evaluation takes it to 0 (the rules and min_instances allow it), and the instance goes once drained.
    await waitFor(async () => (await instancesOf(t, 'idle')).length === 0, { timeoutMs: 30_000, what: 'idle at 0 instances' });
    const down = (await decisionsOf(t, 'idle')).find((d) => d.current === 1 && d.target === 0);
    assert.ok(down, 'a decision took it to 0');
    assert.equal(down.record.startedBy, 'interval', 'only an evaluation scales down');
    await holding(t, 'idle');
    const again = await request(url, { timeoutMs: 20_000 });
    assert.equal(again.status, 200, again.body);
    assert.notEqual(again.body.trim(), first.body.trim(), 'a new instance answered');
  });
});
