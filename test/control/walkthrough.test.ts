// The seed's walkthrough, step by step with the CLI, against the real engine and nginx: manage, start, curl, rules, metrics, load → scale up → idle → back to min.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { freePort } from '../../src/util/ports.js';
import { CLI_ENTRY, reactor } from '../support/cli.js';
import { seedConfig } from '../support/configs.js';
import { containersOf } from '../support/containers.js';
import { decisionsOf, eventsOf, instancesOf, type DecisionView } from '../support/graphql.js';
import { httpGet } from '../support/http.js';
import { ensureTestImage } from '../support/images.js';
import { load, type LoadResult } from '../support/load.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const docker = new Docker();

/** Port 80 when it is free (the seed's `url=http://`), otherwise a free port so a busy machine still runs the walkthrough. */
async function balancerPort(): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(80, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  return free ? 80 : freePort();
}

interface Sample {
  id: string;
  at: string;
  instances: number;
  metrics: Record<string, number>;
}
type Decision = Omit<DecisionView, 'record'>;

describe('the walkthrough', () => {
  let t: TestServer;
  let api: string[];
  let port: number;
  let base: string;
  const samples: Sample[] = [];
  const decisions: Decision[] = [];

  before(async () => {
    ensureTestImage();
    port = await balancerPort();
    base = `127.0.0.1:${port}`;
    // Every evaluation kept (no thinning of identical holding decisions, which would otherwise come once a minute):
    // the walkthrough follows decisions live with `reactor watch`.
    t = await startTestServer({ agent: true, name: 'walkthrough-host', interval: 1, decisionKeepEvery: 1 });
    api = ['--api', t.url];
  });
  after(async () => {
    if (process.env.WALK_DEBUG) {
      const { readFileSync, readdirSync } = await import('node:fs');
      for (const f of readdirSync(`${t.dataDir}/nginx/logs`)) console.log(f, readFileSync(`${t.dataDir}/nginx/logs/${f}`, 'utf8').split('\n').filter((l) => !/notice/.test(l)).slice(-30).join('\n'));
      for (const d of await decisionsOf(t, 'pyex')) console.log(d.record.at, d.record.round, d.summary, JSON.stringify(d.record.inputs.metrics));
      console.log(t.logs.map((line) => JSON.stringify(line)).join('\n'));
    }
    await t?.close();
  });

  const cli = async (args: string[], stdin = '') => {
    const run = await reactor([...api, ...args], { stdin });
    assert.equal(run.code, 0, `reactor ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  const containers = () => containersOf(t, 'pyex');

  it('should manage pyex from docker.conf and start it', async () => {
    assert.equal((await cli(['manage', 'pyex'], seedConfig({ port, decommissionedTimeout: 5 }))).trim(), 'pyex PAUSED');
    assert.equal((await cli(['start', 'pyex'])).trim(), 'pyex RUNNING');
    // The state, then instances running of those wanted (the first one may still be starting).
    assert.match((await cli(['state', 'pyex'])).trim(), /^RUNNING [01]\/1 running/);
  });

  it('should answer `curl http://127.0.0.1` from the container, through nginx', async () => {
    const answer = await waitFor(async () => {
      const a = await httpGet(base, '/');
      return a.status === 200 ? a : null;
    }, { timeoutMs: 20_000, what: `pyex served at ${base}` });
    const [instance] = await instancesOf(t, 'pyex');
    const container = await docker.getContainer(instance!.containerId!).inspect();
    assert.equal(answer.body.trim(), container.Config.Hostname);
  });

  it("should take `set pyex scaling rules '0 < rate < 1'` and print the rule back", async () => {
    // The curl above is traffic too (1 request/s is not < 1): let a quiet interval pass, as a reader would before the next step.
    const curled = Date.now();
    await waitFor(async () => {
      const latest = await t.server.services.store.samples.latest('pyex');
      return latest && latest.at.getTime() > curled + 200 && latest.metrics.rate === 0;
    }, { what: 'a quiet sample after the curl' });
    await cli(['set', 'pyex', 'scaling', 'rules', '0 < rate < 1']);
    assert.equal(await cli(['get', 'pyex', 'scaling', 'rules']), '0 < rate < 1\n');
    // From here on the subscriptions collect what the loop produces.
    const client = t.ws();
    client.subscribe<{ metricSamples: Sample }>(
      { query: 'subscription { metricSamples(endpoint: "pyex") { id at instances metrics } }' },
      { next: (v) => v.data && samples.push(v.data.metricSamples), error: () => {}, complete: () => {} },
    );
    client.subscribe<{ scalingDecisions: Decision }>(
      { query: 'subscription { scalingDecisions(endpoint: "pyex") { id current target summary } }' },
      { next: (v) => v.data && decisions.push(v.data.scalingDecisions), error: () => {}, complete: () => {} },
    );
    await t.subscribed('metricSamples');
    await t.subscribed('scalingDecisions');
  });

  it('should print an idle sample with get-metrics', async () => {
    await waitFor(() => samples.some((s) => s.metrics.rate === 0 && s.metrics.active === 0), { what: 'an idle sample' });
    const printed = JSON.parse(await cli(['get-metrics', 'pyex']));
    assert.equal(printed.active, 0);
    assert.equal(printed.rate, 0);
  });

  it('should start more instances under load, serve from them, and fail no more than 1 % of requests', async () => {
    let scaled = false;
    const poll = setInterval(() => {
      void instancesOf(t, 'pyex').then((list) => (scaled = list.filter((i) => i.status === 'RUNNING').length === 5), () => {});
    }, 200);
    let metricsDuringLoad: Record<string, number> | undefined;
    const watcher = (async () => {
      await waitFor(() => samples.some((s) => s.metrics.rate > 1), { timeoutMs: 20_000, what: 'a busy sample' });
      metricsDuringLoad = JSON.parse(await cli(['get-metrics', 'pyex']));
    })();
    let result: LoadResult;
    try {
      // Bounded: stops once five instances run and three of them have answered, or after 8,000 requests.
      result = await load(`http://${base}/`, {
        concurrency: 4,
        maxRequests: 8000,
        stop: (r) => scaled && Object.keys(r.hosts).length >= 3 && r.sent >= 300,
      });
    } finally {
      clearInterval(poll);
    }
    await watcher;
    assert.ok(result.failed <= result.sent * 0.01, `${result.failed} of ${result.sent} requests failed: ${JSON.stringify(result.failures)}`);
    assert.ok(Object.keys(result.hosts).length >= 3, `answers came from ${Object.keys(result.hosts).length} instances`);
    assert.ok(metricsDuringLoad!.rate > 1, `get-metrics under load: ${JSON.stringify(metricsDuringLoad)}`);
    assert.ok(metricsDuringLoad!.bytes > 0);
    const up = decisions.find((d) => d.target === 5);
    assert.ok(up, `a decision for 5 instances among ${decisions.map((d) => d.summary).join(' | ')}`);
    // A burst round (within a second of the load), unless the 1 s interval came first: either way the rules decided.
    assert.match(up.summary, /^(burst: )?rate [\d.]+\/instance over 1 instance needs \d+\.\.∞ → clamped to 5\.\.5 → target 5; launching 4 \(ramp limit 5 cut 0\)/);
  });

  it('should drain and remove the extra instances once the load stops, back to min_instances', async () => {
    const back = await waitFor(async () => {
      const list = await instancesOf(t, 'pyex');
      return list.length === 1 && list[0]!.status === 'RUNNING' && (await containers()).length === 1 ? list : null;
    }, { timeoutMs: 25_000, what: 'pyex back to one instance' });
    assert.equal((await httpGet(base, '/')).status, 200);
    const events = await eventsOf(t, 'pyex');
    assert.equal(events.filter((e) => e.kind === 'INSTANCE_DECOMMISSIONED').length, 4);
    const removed = events.filter((e) => e.kind === 'INSTANCE_REMOVED');
    assert.equal(removed.length, 4);
    for (const event of removed) assert.match(event.message, /decommissioned and drained|decommissioned_timeout 5 s passed/);
    const down = (await decisionsOf(t, 'pyex')).find((d) => d.record.actions.some((a: any) => a.kind === 'decommission'));
    assert.match(down!.summary, /rate 0\/instance over 5 instances needs 0\.\.0 → clamped to 1\.\.1 → target 1; decommissioning 4/);
    assert.ok(!back.some((i) => removed.some((e) => e.data.instanceId === i.id)));
  });

  it('should have streamed the samples and the decisions to the subscribers', async () => {
    // One a second: the scale-up no longer waits for rounds (bursts), so the steps above may all fit in fewer.
    await waitFor(() => samples.length >= 5, { what: 'five samples streamed' });
    const busy = samples.findIndex((s) => s.metrics.rate > 1);
    assert.ok(busy >= 0 && samples.slice(busy).some((s) => s.metrics.rate === 0), 'busy samples, then idle ones');
    const up = decisions.findIndex((d) => d.target === 5);
    assert.ok(up >= 0 && decisions.slice(up).some((d) => d.target === 1), 'a decision for 5, then one for 1');
    const stored = await decisionsOf(t, 'pyex');
    for (const decision of decisions) assert.ok(stored.some((s) => s.id === decision.id), 'every streamed decision is in the history');
  });

  it('should print the event log with `reactor log pyex`', async () => {
    const log = await cli(['log', 'pyex', '--limit', '1000']);
    const kinds = log.trim().split('\n').map((line) => line.split(/\s+/)[1]);
    for (const kind of ['ENDPOINT_MANAGED', 'STATE_CHANGED', 'CONFIG_CHANGED', 'INSTANCE_RUNNING', 'SCALED', 'INSTANCE_DECOMMISSIONED', 'INSTANCE_REMOVED']) {
      assert.ok(kinds.includes(kind), `${kind} in the log`);
    }
    // The scale-up is a burst round (a SURGE event, then SCALED "burst: …"), unless the 1 s interval came first.
    assert.match(log, /SCALED\s+(burst: )?rate [\d.]+\/instance over 1 instance needs/);
  });

  it('should follow pyex live with `reactor watch pyex`, one line per update off a terminal, and stop on SIGINT', async () => {
    for (const json of [false, true]) {
      const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...api, ...(json ? ['--json'] : []), 'watch', 'pyex'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        const lines = await waitFor(() => {
          const list = stdout.split('\n').filter(Boolean);
          const kinds = json ? list.map((l) => JSON.parse(l).type) : list.map((l) => l.split(/\s+/)[1]);
          return kinds.includes('sample') && kinds.includes('decision') && list.length >= 4 ? list : null;
        }, { timeoutMs: 20_000, what: `watch output (${stdout}${stderr})` });
        if (json) {
          const first = JSON.parse(lines[0]!);
          assert.equal(first.type, 'snapshot');
          assert.equal(first.endpoint, 'pyex');
          assert.ok(first.instances.length >= 1);
          const sample = lines.map((l) => JSON.parse(l)).find((u) => u.type === 'sample');
          assert.equal(typeof sample.sample.metrics.rate, 'number');
        } else {
          // (A single curl in one 1 s interval is a rate of 1, which `rate < 1` answers with more instances: the count may vary here.)
          assert.match(lines[0]!, /^\S+Z\s+watching\s+pyex RUNNING, \d+ instances?: \S+ (RUNNING|STARTING|DECOMMISSIONED)/);
          assert.ok(lines.some((l) => /^\S+Z\s+sample\s+\d+ reporting \{"active": /.test(l)), stdout);
          assert.ok(lines.some((l) => /^\S+Z\s+decision\s+\d+ → \d+: /.test(l)), stdout);
        }
      } finally {
        child.kill('SIGINT');
      }
      assert.equal(await exited, 0, stderr);
    }
  });
});
