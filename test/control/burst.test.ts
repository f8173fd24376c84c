// Burst reaction on a real engine and nginx: with --interval 10, a jump in traffic gets its second instance serving before the next interval would have come, from a BURST round.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/util/ports.js';
import { balancedConf } from '../support/configs.js';
import { decisionsOf, instancesOf, manage, setState } from '../support/graphql.js';
import { request } from '../support/http.js';
import { ensureTestImage } from '../support/images.js';
import { load } from '../support/load.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const INTERVAL_SECONDS = 10;

describe('burst reaction', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    t = await startTestServer({ agent: true, name: 'burst-host', interval: INTERVAL_SECONDS, decisionKeepEvery: 1 });
  });
  after(async () => {
    await t?.close();
  });

  it('should have a second instance serving a burst before the next interval, started by a BURST round', async (ctx) => {
    const port = await freePort();
    await manage(t, 'burst', balancedConf({ port, min: 1, max: 2, rules: '0 < rate < 5' }));
    await setState(t, 'burst', 'RUNNING');
    const url = `http://127.0.0.1:${port}/`;
    // No traffic before the burst: a request now would be held (and count) while the first instance starts.
    await waitFor(async () => (await instancesOf(t, 'burst')).some((i) => i.status === 'RUNNING'), { timeoutMs: 30_000, what: 'the first instance RUNNING' });
    assert.equal((await request(url)).status, 200);

    // Start right after an evaluation: the next interval is then about 10 s away.
    const intervalRound = async () => (await decisionsOf(t, 'burst')).filter((d) => d.record.startedBy === 'interval').length;
    const seen = await intervalRound();
    await waitFor(async () => (await intervalRound()) > seen, { timeoutMs: 2 * INTERVAL_SECONDS * 1000, what: 'an interval round' });
    const onset = Date.now();
    let secondAt = 0;
    // 40 requests a second, 8 times what the rule allows one instance: bounded in requests and time.
    const result = await load(url, {
      concurrency: 4,
      perSecond: 40,
      maxRequests: 40 * INTERVAL_SECONDS,
      stop: (progress) => {
        if (Object.keys(progress.hosts).length >= 2 && secondAt === 0) secondAt = Date.now();
        return secondAt > 0;
      },
    });
    assert.ok(secondAt > 0, `two instances answered: ${JSON.stringify(result)}`);
    assert.ok(secondAt - onset < INTERVAL_SECONDS * 1000, `second instance serving ${secondAt - onset} ms after the onset, within the interval`);
    ctx.diagnostic(`second instance serving ${secondAt - onset} ms after the load began`);
    assert.equal((await instancesOf(t, 'burst')).length, 2);
    const launch = (await decisionsOf(t, 'burst')).find(
      (d) => new Date(d.record.at).getTime() >= onset && d.record.applied?.some((a: { kind: string }) => a.kind === 'launch'),
    );
    assert.ok(launch, 'a decision launched the second instance');
    assert.equal(launch.record.startedBy, 'burst', launch.summary);
    assert.ok(new Date(launch.record.at).getTime() - onset < INTERVAL_SECONDS * 1000);
  });
});
