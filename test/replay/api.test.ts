// replayScaling and ScalingDecision lookups over real HTTP: every bad argument is a BAD_USER_INPUT naming the field, a window past retention says what is kept, and a replay of nothing says so.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SEED_CONFIG } from '../support/configs.js';
import { reactor } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

const REPLAY = `query($e: String!, $p: ScalingPolicyInput!, $from: DateTime, $to: DateTime, $launch: Float, $bands: [String!], $undivided: [String!]) {
  replayScaling(endpoint: $e, policy: $p, from: $from, to: $to, launchSeconds: $launch, bands: $bands, undivided: $undivided) {
    rounds from to notes retention { samplesSeconds decisionsSeconds } launch { source seconds } timeline { at }
    replayed { instanceSeconds scaleEvents secondsOutsideBands } recorded { instanceSeconds scaleEvents secondsOutsideBands }
  }
}`;

const POLICY = { rules: ['0 < rate < 1'], minInstances: 1, maxInstances: 5 };
const HOUR_MS = 3_600_000;

describe('replayScaling over GraphQL', () => {
  let t: TestServer;
  before(async () => {
    // An API with no host (no samples to wait for) and samples kept one hour.
    t = await startTestServer({ agent: false, metricsRetention: 3600, retention: { decisions: 3600 } });
    const managed = await t.gql('mutation($c: String!) { manageEndpoint(name: "pyex", config: $c) { name } }', { c: SEED_CONFIG });
    assert.equal(managed.errors, undefined, JSON.stringify(managed.errors));
  });
  after(async () => t?.close());

  const replay = (variables: Record<string, unknown>) => t.gql(REPLAY, { e: 'pyex', p: POLICY, ...variables });

  const bad: { name: string; variables: Record<string, unknown>; field: string; message: RegExp }[] = [
    { name: 'a rule that does not parse', variables: { p: { ...POLICY, rules: ['0 < rate < 1', 'rate <'] } }, field: 'policy.rules[1]', message: /^policy\.rules\[1\]: rule "rate <"/ },
    { name: 'min above max', variables: { p: { ...POLICY, minInstances: 6 } }, field: 'policy.minInstances', message: /policy\.minInstances \(6\) must not be greater than policy\.maxInstances \(5\)/ },
    { name: 'a negative bound', variables: { p: { ...POLICY, maxInstances: -1 } }, field: 'policy.maxInstances', message: /policy\.maxInstances must be a non-negative integer, got -1/ },
    { name: 'a negative ramp limit', variables: { p: { ...POLICY, rampLimit: -2 } }, field: 'policy.rampLimit', message: /policy\.rampLimit must be a non-negative integer/ },
    { name: 'a band rule that does not parse', variables: { bands: ['rate'] }, field: 'bands[0]', message: /^bands\[0\]: rule "rate": no bound/ },
    { name: 'a negative launch time', variables: { launch: -1 }, field: 'launchSeconds', message: /launchSeconds must be a number of seconds from 0 to 86400, got -1/ },
    { name: 'a metric name that is not one', variables: { undivided: ['p 99'] }, field: 'undivided[0]', message: /undivided\[0\] must be a metric name/ },
    {
      name: 'from after to',
      variables: { from: new Date(Date.now() - 60_000).toISOString(), to: new Date(Date.now() - 120_000).toISOString() },
      field: 'to',
      message: /^from \S+ must be before to \S+/,
    },
    {
      name: 'from before what is retained',
      variables: { from: new Date(Date.now() - 2 * HOUR_MS).toISOString() },
      field: 'from',
      message: /^from \S+ is before what is retained: metric samples are kept 1 h \(the oldest now from \S+\); replay from \S+ on, or leave out from/,
    },
    {
      name: 'to before what is retained',
      variables: { to: new Date(Date.now() - 3 * HOUR_MS).toISOString() },
      field: 'to',
      message: /^to \S+ is before what is retained: metric samples are kept 1 h/,
    },
  ];
  for (const c of bad) {
    it(`should refuse ${c.name}, naming ${c.field}`, async () => {
      const { data, errors } = await replay(c.variables);
      assert.equal(data, null);
      assert.equal(errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(errors));
      assert.equal(errors?.[0]?.extensions?.field, c.field);
      assert.match(errors![0]!.message, c.message);
    });
  }

  it('should say NOT_FOUND for an endpoint that is not managed', async () => {
    const { errors } = await t.gql(REPLAY, { e: 'nope', p: POLICY });
    assert.equal(errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.equal(errors?.[0]?.message, 'endpoint "nope" does not exist');
  });

  it('should answer a window with no samples with no rounds, the retention, and a note', async () => {
    // A window that closed before the server started: no sample can be in it.
    const { data, errors } = await replay({ from: new Date(Date.now() - 30 * 60_000).toISOString(), to: new Date(Date.now() - 20 * 60_000).toISOString() });
    assert.equal(errors, undefined, JSON.stringify(errors));
    const report = data.replayScaling;
    assert.equal(report.rounds, 0);
    assert.deepEqual(report.timeline, []);
    assert.deepEqual(report.retention, { samplesSeconds: 3600, decisionsSeconds: 3600 });
    assert.equal(report.launch.source, 'NONE');
    assert.ok(report.notes.includes('no metric samples in this period: nothing to replay'), report.notes.join(' | '));
    assert.deepEqual(report.replayed, { instanceSeconds: 0, scaleEvents: 0, secondsOutsideBands: 0 });
  });

  it('should find no decision for an id that is not one, and explain nothing', async () => {
    const { data, errors } = await t.gql('{ endpoint(name: "pyex") { a: decision(id: "not-an-id") { id } b: decision(id: "01900000-0000-7000-8000-000000000000") { id } } }');
    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.deepEqual(data.endpoint, { a: null, b: null });
    const cli = await reactor(['--api', t.url, 'explain', 'pyex']);
    assert.equal(cli.code, 1);
    assert.equal(cli.stderr, 'reactor: pyex has no decisions yet\n');
  });

  it('should refuse a bad --since in the CLI before asking the server', async () => {
    const cli = await reactor(['--api', t.url, 'replay', 'pyex', '--since', 'yesterday']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^reactor: --since takes a duration back from now \(90s, 15m, 1h, 2d, 1h30m\) or an ISO time, not "yesterday"\n$/);
    const far = await reactor(['--api', t.url, 'replay', 'pyex', '--since', '2h']);
    assert.equal(far.code, 1);
    assert.match(far.stderr, /^reactor: from \S+ is before what is retained: metric samples are kept 1 h/);
  });
});
