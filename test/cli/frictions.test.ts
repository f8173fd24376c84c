// A newcomer's frictions, one test each, through the real CLI against a real server, engine and nginx.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/util/ports.js';
import { reactor } from '../support/cli.js';
import { ensureTestImage } from '../support/images.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { balancedConf as loopConf, type BalancedOptions as LoopConf } from '../support/configs.js';

describe('frictions of the first hour', () => {
  let t: TestServer;
  let api: string[];
  const conf = async (over: Partial<LoopConf> = {}) => loopConf({ port: await freePort(), min: 1, max: 1, ...over });

  before(async () => {
    ensureTestImage();
    t = await startTestServer({ agent: true, name: `frictions-${process.pid}`, interval: 1 });
    api = ['--api', t.url];
  });
  after(async () => {
    await t?.close();
  });

  it('should warn about a rule on a metric nobody reports, on stderr and in the answer, and keep it', async () => {
    assert.equal((await reactor([...api, 'manage', 'typo'], { stdin: await conf() })).code, 0);
    const run = await reactor([...api, 'set', 'typo', 'scaling', 'rules', '0 < rat < 1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^reactor: warning: rule "0 < rat < 1" reads metric "rat", which is not built in \(.*\) and which no instance or endpoint-wide set reports/);
    assert.equal((await reactor([...api, 'get', 'typo', 'scaling', 'rules'])).stdout, '0 < rat < 1\n', 'the rule is kept');
    const answer = await t.gql('mutation { setEndpointOption(name: "typo", section: "scaling", key: "rules", value: "0 < rat < 1") { warnings } }');
    assert.equal(answer.data.setEndpointOption.warnings.length, 1);
    // A custom metric that is reported is no typo.
    const set = await reactor([...api, 'set-metrics', 'typo'], { stdin: '{"rat": [1, 0.5]}' });
    assert.equal(set.code, 0, set.stderr);
    const again = await reactor([...api, 'set', 'typo', 'scaling', 'rules', '0 < rat < 1, rate < 50']);
    assert.equal(again.stderr, '');
  });

  it('should say in a decision that its rule had no data, and not read the missing metric as 0', async () => {
    assert.equal((await reactor([...api, 'manage', 'nodata'], { stdin: await conf({ rules: 'queue < 10' }) })).code, 0);
    const decision = await waitFor(
      async () => {
        const { data } = await t.gql('{ endpoint(name: "nodata") { decisions(limit: 1) { summary notes target rules { metric noData value } } } }');
        return data.endpoint.decisions[0] ?? null;
      },
      { what: 'a decision of nodata' },
    );
    assert.deepEqual(decision.rules, [{ metric: 'queue', noData: true, value: null }]);
    assert.ok(decision.notes.some((n: string) => /^no data for metric "queue" .* left out, not read as 0$/.test(n)), decision.notes.join(' | '));
    assert.match(decision.summary, /queue has no data \(rule left out\)/);
  });

  it('should show a missing image in list and state (running/wanted and why), and log its retries as one event with a count', async () => {
    const missing = (await conf()).replace(/^image=.*$/m, 'image=reactor-test/not-built-anywhere:1');
    assert.equal((await reactor([...api, 'manage', 'noimage'], { stdin: missing })).code, 0);
    assert.equal((await reactor([...api, 'start', 'noimage'])).stdout, 'noimage RUNNING\n');
    // Three attempts (back-off 1 s, then 2 s) make the same events again and again.
    await waitFor(
      async () => {
        const { data } = await t.gql('{ events(endpoint: "noimage", limit: 1000) { kind data } }');
        return data.events.some((e: { kind: string; data: { repeated?: number } }) => e.kind === 'IMAGE_UNAVAILABLE' && (e.data.repeated ?? 1) >= 3);
      },
      { timeoutMs: 20_000, what: 'a third failed attempt' },
    );
    const state = await reactor([...api, 'state', 'noimage']);
    assert.match(state.stdout, /^RUNNING 0\/1 running; waiting: image reactor-test\/not-built-anywhere:1 is not available/);
    const list = await reactor([...api, 'list']);
    assert.match(list.stdout, /^noimage\s+RUNNING\s+0\/1\s+http:\S+\s+image reactor-test\/not-built-anywhere:1 is not available/m);
    const log = await reactor([...api, 'log', 'noimage']);
    const unavailable = log.stdout.split('\n').filter((line) => /IMAGE_UNAVAILABLE/.test(line));
    assert.equal(unavailable.length, 1, log.stdout);
    assert.match(unavailable[0]!, /\(×\d+ since \S+Z\)$/);
    const pending = log.stdout.split('\n').filter((line) => /INSTANCE_PENDING/.test(line));
    assert.equal(pending.length, 1, log.stdout);
    assert.equal((await reactor([...api, 'stop', 'noimage'])).stdout, 'noimage STOPPED\n');
  });

  it("should answer the original walkthrough's first step, unmanage apihttp / apihttps, with a note and exit 0", async () => {
    for (const name of ['apihttp', 'apihttps']) {
      const run = await reactor([...api, 'unmanage', name]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^${name} is not an endpoint here: the original Reactor served its own API through its balancer .* nothing to unmanage\\n$`));
    }
    const other = await reactor([...api, 'unmanage', 'apihttpx']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /endpoint "apihttpx" does not exist/);
  });

  it('should say why get-metrics has no sample yet instead of printing {}', async () => {
    // A server whose first evaluation (and sample) is an hour away.
    const slow = await startTestServer({ agent: true, name: `frictions-slow-${process.pid}`, interval: 3600 });
    try {
      assert.equal((await reactor(['--api', slow.url, 'manage', 'fresh'], { stdin: await conf() })).code, 0);
      const run = await reactor(['--api', slow.url, 'get-metrics', 'fresh']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^no sample yet for fresh; it is PAUSED \(reactor start fresh runs it\), and no instance runs, so there is no traffic to measure yet; the first sample comes with the next evaluation/);
      const json = JSON.parse((await reactor(['--api', slow.url, '--json', 'get-metrics', 'fresh'])).stdout);
      assert.equal(json.at, null);
      assert.match(json.why, /^no sample yet/);
    } finally {
      await slow.close();
    }
  });

  it('should point a plain GET /graphql (curl) to the explorer, POST and the CLI', async () => {
    const response = await fetch(t.url, { headers: { accept: '*/*' } });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /^This is Reactor's GraphQL API\. It answers POST requests/);
    assert.ok(text.includes(`curl -s -H 'content-type: application/json' -d '{"query": "{ endpoints { name state } }"}' ${t.url}`), text);
    assert.ok(text.includes(`Open ${t.url} in a browser for the explorer`));
    assert.ok(text.includes(`open ${new URL(t.url).origin}/ for the live dashboard`), text);
    assert.ok(text.includes(`reactor --api ${t.url} list`));
    assert.doesNotMatch(text, /CSRF/);
    // A GET that carries a query still reaches GraphQL (Apollo's CSRF rule then applies to it).
    const withQuery = await fetch(`${t.url}?query=${encodeURIComponent('{ version }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(withQuery.status, 200);
  });
});
