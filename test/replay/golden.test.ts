// The golden replay: a real run recorded under the walkthrough's load (real Docker, nginx, SQLite), replayed with the policy in force (the same targets round by round) and with a stricter one; `reactor replay` and `reactor explain` on it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/util/ports.js';
import { reactor } from '../support/cli.js';
import { ensureTestImage } from '../support/images.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { balancedConf as loopConf } from '../support/configs.js';
import { decisionsOf, instancesOf, manage, setOption, setState } from '../support/graphql.js';
import { load } from '../support/load.js';

const NAME = 'golden';
/**
 * The walkthrough's load (4 connections, a new connection per request),
 * paced to at most this many requests/s so that the recording does not
 * depend on how fast this machine is (unpaced, it ranges from about 100 to
 * 700 requests/s here).
 */
const LOAD_PER_SECOND = 100;
/**
 * The policy in force: 2 to 7 instances for 50 to 150 requests/s, so
 * max_instances stays out of reach and a lower ceiling changes what happens;
 * both bounds finite keep the range wide enough that the count holds while
 * the load wobbles.
 */
const IN_FORCE = { rules: ['15 < rate < 30'], minInstances: 1, maxInstances: 30 };
const STRICT = { ...IN_FORCE, rules: ['7.5 < rate < 15'] };

const FIGURES = 'instanceSeconds scaleEvents scaleUps scaleDowns launches secondsOutsideBands meanInstances peakInstances bands { rule secondsAbove secondsBelow }';
const REPLAY = `query($e: String!, $p: ScalingPolicyInput!, $from: DateTime, $to: DateTime, $bands: [String!]) {
  replayScaling(endpoint: $e, policy: $p, from: $from, to: $to, bands: $bands) {
    from to rounds compared held differences notes
    launch { seconds source launches }
    inForce { rules minInstances maxInstances rampLimit }
    replayed { ${FIGURES} } recorded { ${FIGURES} }
    timeline { at target instances after serving recordedTarget recordedInstances recordedHeld summary }
  }
}`;

interface Figures {
  instanceSeconds: number;
  scaleEvents: number;
  secondsOutsideBands: number;
  peakInstances: number;
  bands: { rule: string; secondsAbove: number; secondsBelow: number }[];
}
interface Replay {
  from: string;
  to: string;
  rounds: number;
  compared: number;
  held: number;
  differences: number;
  notes: string[];
  launch: { seconds: number; source: string; launches: number };
  inForce: { rules: string; maxInstances: number }[];
  replayed: Figures;
  recorded: Figures;
  timeline: { at: string; target: number; instances: number; after: number; serving: number; recordedTarget: number | null; recordedInstances: number | null; recordedHeld: boolean; summary: string }[];
}

describe('replaying a recorded run', () => {
  let t: TestServer;
  let port: number;
  let from: string;
  let to: string;

  before(async () => {
    ensureTestImage();
    port = await freePort();
    // The default thinning (an identical holding decision kept once every 60 rounds): the rounds it let go count as held.
    t = await startTestServer({ agent: true, name: 'replay-host', interval: 1 });
  });
  after(async () => {
    await t?.close();
  });

  async function replay(policy: typeof IN_FORCE, bands?: string[]): Promise<Replay> {
    const { data, errors } = await t.gql(REPLAY, { e: NAME, p: policy, from, to, bands });
    assert.equal(errors, undefined, JSON.stringify(errors));
    return data.replayScaling;
  }

  it('should record a run under the walkthrough load: idle, scaled up, back to one', async () => {
    // A replay decides once per recorded sample, as interval rounds do: burst rounds (a host's last-second reading) are left off so the recording can be matched round by round.
    await manage(t, NAME, loopConf({ port, min: 1, max: IN_FORCE.maxInstances, decommissionedTimeout: 3, burstReaction: false }));
    await setState(t, NAME, 'RUNNING');
    await waitFor(async () => (await instancesOf(t, NAME)).some((i) => i.status === 'RUNNING'), { timeoutMs: 30_000, what: 'the first instance running' });
    await setOption(t, NAME, 'scaling', 'rules', IN_FORCE.rules[0]);
    // The recording starts with the rules in force and a quiet interval.
    const rulesSet = Date.now();
    const quiet = await waitFor(async () => {
      const latest = await t.server.services.store.samples.latest(NAME);
      return latest && latest.at.getTime() > rulesSet + 1500 && latest.metrics.rate === 0 ? latest : null;
    }, { what: 'a quiet sample with the rules in force' });
    from = quiet.at.toISOString();

    // The walkthrough's load in a process of its own. Bounded: it stops 5 s after a second instance serves, after 40 s,
    // or after 6,000 requests.
    const started = Date.now();
    let scaledAt = 0;
    const poll = setInterval(() => {
      void instancesOf(t, NAME).then((list) => {
        if (!scaledAt && list.filter((i) => i.status === 'RUNNING').length >= 2) scaledAt = Date.now();
      }, () => {});
    }, 200);
    let result;
    try {
      result = await load(`http://127.0.0.1:${port}/`, { concurrency: 4, maxRequests: 6000, perSecond: LOAD_PER_SECOND, stop: () => (scaledAt > 0 && Date.now() - scaledAt > 5000) || Date.now() - started > 40_000 });
    } finally {
      clearInterval(poll);
    }
    assert.ok(scaledAt > 0, `the load scaled the endpoint up (${result.ok} requests answered)`);

    await waitFor(async () => {
      const list = await instancesOf(t, NAME);
      return list.length === 1 && list[0]!.status === 'RUNNING';
    }, { timeoutMs: 30_000, what: 'back to one instance' });
    // A few idle rounds at one instance end the recording (their evaluations repeat one holding decision, so most are
    // thinned: the rounds are counted by their samples).
    const backAt = Date.now();
    await waitFor(async () => ((await t.server.services.store.samples.latest(NAME))?.at.getTime() ?? 0) > backAt + 2500, {
      what: 'an idle round after the scale-down',
    });
    to = new Date().toISOString();
  });

  it('should make the recorded decisions when the policy in force is replayed (the same targets, round by round)', async () => {
    const report = await replay(IN_FORCE);
    assert.ok(report.rounds >= 10, `${report.rounds} rounds`);
    assert.equal(report.launch.source, 'RECORDED');
    assert.ok(report.launch.launches >= 1 && report.launch.seconds > 0, JSON.stringify(report.launch));
    assert.deepEqual(report.inForce.map((p) => [p.rules, p.maxInstances]), [['15 < rate < 30', 30]]);

    // Every round but perhaps the last (its evaluation may not be stored yet) is compared with a recorded evaluation, stored or
    // held: the quiet stretches repeat one holding decision, which the controller keeps only once every 60 rounds.
    assert.ok(report.compared >= report.rounds - 1, `${report.compared} of ${report.rounds} rounds compared: ${report.notes.join(' | ')}`);
    assert.ok(report.held > 0, `rounds held as the last one kept: ${report.held}`);
    assert.equal(report.timeline.filter((p) => p.recordedHeld).length, report.held);
    const compared = report.timeline.filter((p) => p.recordedTarget !== null);
    const mismatches = compared.filter((p) => p.target !== p.recordedTarget || p.instances !== p.recordedInstances);
    assert.deepEqual(mismatches, [], 'replayed and recorded targets and counts differ');
    assert.equal(report.differences, 0);

    // The comparison holds against the store itself, not only the replay's own pairing.
    const stored = (await decisionsOf(t, NAME))
      .map((d) => d.record)
      .filter((r) => r.round === 'evaluate' && r.at >= report.from && r.at <= report.to);
    const kept = compared.filter((p) => !p.recordedHeld);
    assert.deepEqual(kept.slice(0, stored.length).map((p) => p.recordedTarget), stored.map((r) => r.target));
    assert.ok(stored.length < report.rounds - 1, `${stored.length} evaluations stored for ${report.rounds} rounds: thinned`);
    // It scaled up under load and came back to one.
    assert.ok(report.timeline.some((p) => p.target > 1), 'a scale-up in the recording');
    assert.equal(report.timeline.at(-1)!.target, 1);
    assert.ok(report.recorded.scaleEvents >= 2, `${report.recorded.scaleEvents} recorded scale events`);
    assert.equal(report.replayed.instanceSeconds, report.recorded.instanceSeconds);
    assert.equal(report.replayed.peakInstances, report.recorded.peakInstances);
  });

  it('should show a stricter policy (a lower rate ceiling) using more instance-seconds and less time over the band', async () => {
    const band = STRICT.rules;
    const strict = await replay(STRICT, band);
    const inForce = await replay(IN_FORCE, band);
    assert.ok(strict.differences > 0, 'the stricter policy decides differently');
    assert.ok(strict.replayed.peakInstances > inForce.replayed.peakInstances, `${strict.replayed.peakInstances} > ${inForce.replayed.peakInstances} at the peak`);
    assert.ok(
      strict.replayed.instanceSeconds > inForce.replayed.instanceSeconds,
      `instance-seconds: strict ${strict.replayed.instanceSeconds} > in force ${inForce.replayed.instanceSeconds}`,
    );
    const above = (r: Replay['replayed']) => r.bands[0]!.secondsAbove; // over 15/instance
    assert.ok(above(strict.replayed) < above(inForce.replayed), `seconds over 15/instance: strict ${above(strict.replayed)} < in force ${above(inForce.replayed)}`);
    // Side by side with what happened (timed against the same band), the same holds.
    assert.ok(strict.replayed.instanceSeconds > strict.recorded.instanceSeconds);
    assert.ok(above(strict.replayed) < above(strict.recorded));
  });

  it('should print the comparison with `reactor replay`, and all of it with --json', async () => {
    const api = ['--api', t.url];
    const window = ['--since', from, '--until', to];
    const text = await reactor([...api, 'replay', NAME, '--rules', STRICT.rules[0]!, '--min', '1', '--max', '30', ...window]);
    assert.equal(text.code, 0, text.stderr);
    if (process.env.REPLAY_DEBUG) console.log(text.stdout);
    assert.match(text.stdout, new RegExp(`^${NAME}: \\S+Z … \\S+Z, \\d+ rounds every 1(\\.0)? s; launches serve after [\\d.]+ s \\(median of \\d+ recorded\\)`));
    assert.match(text.stdout, /\nreplayed: rules "7\.5 < rate < 15", min 1, max 30, ramp 5\n/);
    assert.match(text.stdout, /\nrecorded: rules "15 < rate < 30", min 1, max 30, ramp 5 \(from \S+Z\)\n/);
    assert.match(text.stdout, /\n\s+REPLAYED\s+RECORDED\s+CHANGE\ninstance-seconds\s+[\d.]+\s+[\d.]+\s+\+[\d.]+ %\n/);
    assert.match(text.stdout, /\n  7\.5 < rate < 15: above\s+[\d.]+\s+[\d.]+\s+-[\d.]+ %\n/);
    assert.match(text.stdout, /\ntargets differ in [1-9]\d* of \d+ rounds with a recorded evaluation \(\d+ of them held as the last one kept\)\n/);

    const json = await reactor([...api, '--json', 'replay', NAME, ...window]);
    assert.equal(json.code, 0, json.stderr);
    const whole = JSON.parse(json.stdout);
    assert.equal(whole.differences, 0, 'the endpoint’s own policy when none is given');
    assert.equal(whole.timeline.length, whole.rounds);
    assert.deepEqual(Object.keys(whole.replayed).sort(), Object.keys(whole.recorded).sort());
  });

  it('should explain the scale-up in plain words, over GraphQL and with `reactor explain`', async () => {
    const decisions = await decisionsOf(t, NAME);
    const up = decisions.find((d) => d.record.round === 'evaluate' && d.record.applied?.some((a: any) => a.kind === 'launch' && a.outcome === 'done'));
    assert.ok(up, 'a recorded scale-up');
    const { data, errors } = await t.gql('query($n: String!, $id: ID!) { endpoint(name: $n) { decision(id: $id) { id summary explanation record } } }', { n: NAME, id: up.id });
    assert.equal(errors, undefined, JSON.stringify(errors));
    const explained = data.endpoint.decision;
    assert.equal(explained.id, up.id);
    const text: string = explained.explanation;
    assert.match(text, new RegExp(`^Decision ${up.id} of ${NAME} at \\S+: an evaluation round`));
    assert.match(text, /\nRules:\n- 15 < rate < 30: rate [\d.]+ per instance × \d+ reporting = [\d.]+ in total; < 30 per instance needs at least \d+/);
    assert.match(text, /\nClamp: \d+\.\.\d+ (lies within|within) min_instances 1\.\.max_instances 30/);
    for (const action of up.record.applied.filter((a: any) => a.kind === 'launch')) {
      assert.ok(text.includes(`- launched ${action.instanceId} on manager ${action.managerId}: `), `the launch of ${action.instanceId} is named`);
    }
    assert.match(text, new RegExp(`\\nIn one line: ${up.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));

    const cli = await reactor(['--api', t.url, 'explain', NAME, up.id]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, `${text}\n`);
    const latest = await reactor(['--api', t.url, 'explain', NAME]);
    assert.equal(latest.code, 0, latest.stderr);
    assert.match(latest.stdout, new RegExp(`^Decision \\S+ of ${NAME} at `));
    const missing = await reactor(['--api', t.url, 'explain', NAME, '01900000-0000-7000-8000-000000000000']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^reactor: decision 01900000-0000-7000-8000-000000000000 of golden does not exist/);
  });
});
