// The `reactor` CLI against a real server: the seed walkthrough's commands, exit codes and one-line errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { reactor } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { SEED_CONFIG } from '../support/configs.js';
import { freePort } from '../../src/util/ports.js';


describe('reactor CLI', () => {
  let t: TestServer;
  let api: string[];
  // The seed's endpoint on a free port: port 80 is not ours to take on a shared machine.
  let seed = '';
  let url = '';
  before(async () => {
    t = await startTestServer({ agent: true, name: 'cli-host' });
    api = ['--api', t.url];
    url = `http://:${await freePort()}/`;
    seed = SEED_CONFIG.replace('url=http://\n', `url=${url}\n`);
  });
  after(async () => {
    await t.close();
  });

  it('should print the version', async () => {
    const run = await reactor([...api, 'version']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  it('should manage an endpoint from standard input, PAUSED', async () => {
    const run = await reactor([...api, 'manage', 'pyex'], { stdin: seed });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'pyex PAUSED');
    const state = await reactor([...api, 'state', 'pyex']);
    assert.equal(state.stdout.trim(), 'PAUSED 0/0 running');
  });

  it('should start, pause and stop, printing the new state', async () => {
    for (const [command, state] of [['start', 'RUNNING'], ['pause', 'PAUSED'], ['stop', 'STOPPED'], ['start', 'RUNNING']]) {
      const run = await reactor([...api, command!, 'pyex']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `pyex ${state}\n`);
      assert.match((await reactor([...api, 'state', 'pyex'])).stdout, new RegExp(`^${state} \\d+/\\d+ running`));
    }
  });

  it('should set the scaling rules and get the bare value back', async () => {
    const set = await reactor([...api, 'set', 'pyex', 'scaling', 'rules', '0 < rate < 1']);
    assert.equal(set.code, 0, set.stderr);
    const get = await reactor([...api, 'get', 'pyex', 'scaling', 'rules']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, '0 < rate < 1\n');
  });

  it('should list endpoints as a table and as JSON', async () => {
    const text = await reactor([...api, 'list']);
    assert.match(text.stdout, /^NAME\s+STATE\s+RUNNING\s+URL\s+WAITING\npyex\s+RUNNING\s+\d+\/\d+\s+(\S+)\s+\S.*\n$/);
    assert.equal(/^pyex\s+\S+\s+\S+\s+(\S+)/m.exec(text.stdout)?.[1], url);
    const json = await reactor([...api, '--json', 'list']);
    assert.equal(JSON.parse(json.stdout)[0].name, 'pyex');
  });

  it('should show the configuration as INI that manage accepts again', async () => {
    const show = await reactor([...api, 'show', 'pyex']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /rules=0 < rate < 1/);
    const again = await reactor([...api, 'manage', 'copy'], { stdin: show.stdout });
    assert.equal(again.code, 0, again.stderr);
  });

  it('should print the event log', async () => {
    const run = await reactor([...api, 'log', 'pyex']);
    assert.equal(run.code, 0, run.stderr);
    const kinds = run.stdout.trim().split('\n').map((line) => line.split(/\s+/)[1]);
    assert.deepEqual(kinds.slice(0, 2), ['ENDPOINT_MANAGED', 'STATE_CHANGED']);
    assert.ok(kinds.includes('CONFIG_CHANGED'));
  });

  it('should evaluate what the autoscaler would do', async () => {
    const run = await reactor([...api, 'evaluate', '--rules', '0 < rate < 1', '--metrics', '{"rate": 33.01}', '--instances', '1', '--min', '1', '--max', '5']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /0 < rate < 1\s+34\.\.∞/);
    assert.match(run.stdout, /clamped 5\.\.5 → target 5/);
  });

  it('should list managers with their status, and name the controller', async () => {
    const run = await reactor([...api, 'managers']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /cli-host \(controller\)\s+127\.0\.0\.1\s+READY\s+1000/);
    assert.match(run.stdout, /^controller: cli-host \(term \d+\)$/m);
    const json = JSON.parse((await reactor([...api, '--json', 'managers'])).stdout) as { name: string; status: string; controller: boolean }[];
    assert.deepEqual(json.map((m) => [m.name, m.status, m.controller]), [['cli-host', 'READY', true]]);
  });

  it('should unmanage', async () => {
    assert.equal((await reactor([...api, 'unmanage', 'copy'])).code, 0);
    const gone = await reactor([...api, 'state', 'copy']);
    assert.notEqual(gone.code, 0);
  });

  const failures: { name: string; args: string[]; stdin?: string; message: RegExp }[] = [
    { name: 'an unknown endpoint', args: ['state', 'ghost'], message: /endpoint "ghost" does not exist/ },
    { name: 'an invalid rule', args: ['set', 'pyex', 'scaling', 'rules', 'rate == 4'], message: /rate == 4/ },
    { name: 'bad INI', args: ['manage', 'bad'], stdin: '[endpoint]\nport=nope\n[cloud:docker]\nimage=x\n', message: /port/ },
    { name: 'an unknown option key', args: ['get', 'pyex', 'scaling', 'colour'], message: /colour/ },
    { name: 'an unreachable API', args: ['--api', 'http://127.0.0.1:9/graphql', 'list'], message: /cannot reach/ },
  ];
  for (const f of failures) {
    it(`should exit non-zero with one line on stderr for ${f.name}`, async () => {
      const args = f.args[0] === '--api' ? f.args : [...api, ...f.args];
      const run = await reactor(args, { stdin: f.stdin });
      assert.notEqual(run.code, 0);
      assert.equal(run.stdout, '');
      const lines = run.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, f.message);
    });
  }

  it('should take the API address from REACTOR_API', async () => {
    const run = await reactor(['state', 'pyex'], { env: { REACTOR_API: t.url } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^RUNNING /);
  });

  it('should print help for every command', async () => {
    for (const command of ['manage', 'set', 'get', 'log', 'managers', 'server']) {
      const run = await reactor([command, '--help']);
      assert.equal(run.code, 0);
      assert.match(run.stdout, new RegExp(`Usage: reactor ${command}`));
    }
  });
});
