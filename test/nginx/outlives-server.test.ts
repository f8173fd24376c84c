// Traffic never stops because the control plane stops: a steady load through a real nginx and real containers while `reactor server` is stopped, killed -9 and restarted; then `reactor shutdown --all` stops everything.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readBalancerState } from '../../src/nginx/state-file.js';
import { endPrefixProcesses, markedProcesses, masterProcesses } from '../../src/nginx/supervisor.js';
import { freePort } from '../../src/util/ports.js';
import { reactor } from '../support/cli.js';
import { removeContainersWithLabel } from '../support/containers.js';
import { httpGet } from '../support/http.js';
import { ensureTestImage } from '../support/images.js';
import { kill9, startServerProcess, terminate, type SpawnedServer as ServerProcess } from '../support/spawned-server.js';
import { waitFor } from '../support/wait.js';
import { balancedConf as loopConf } from '../support/configs.js';
import { load, type LoadResult } from '../support/load.js';

describe('nginx outlives reactor server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-outlives-'));
  const prefix = join(dataDir, 'nginx');
  const servers: ServerProcess[] = [];
  let port = 0;
  let managerId = '';

  const start = async () => {
    const server = await startServerProcess(['--data-dir', dataDir, '--name', `outlives-${process.pid}`, '--interval', '1']);
    servers.push(server);
    return server;
  };

  before(async () => {
    ensureTestImage();
    port = await freePort();
  });

  after(async () => {
    for (const server of servers) await kill9(server);
    // Only what this test's servers ran: the nginx of its own prefix, and the containers of its own manager.
    await endPrefixProcesses(prefix, (ms) => new Promise((r) => setTimeout(r, ms)), Date.now);
    if (managerId) await removeContainersWithLabel('reactor.manager', managerId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('should fail no request of a steady load through SIGTERM + restart and kill -9 + restart, adopting the same nginx', async (t) => {
    let server = await start();
    managerId = readFileSync(join(dataDir, 'manager-id'), 'utf8').trim();
    await server.gql('mutation($c: String!) { manageEndpoint(name: "steady", config: $c) { name } }', { c: loopConf({ port, min: 2, max: 2 }) });
    await server.gql('mutation { setEndpointState(name: "steady", state: RUNNING) { state } }');
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(
      async () => {
        const { endpoint } = await server.gql('{ endpoint(name: "steady") { instances { status } } }');
        return endpoint.instances.filter((i: { status: string }) => i.status === 'RUNNING').length === 2 && (await httpGet(`127.0.0.1:${port}`)).status === 200;
      },
      { timeoutMs: 60_000, what: 'two instances serving through nginx' },
    );
    const [master] = masterProcesses(prefix);
    assert.ok(master, 'an nginx master runs');
    // nginx serves both (the second may have joined the store a moment before nginx).
    const generation = await waitFor(() => {
      const state = readBalancerState(prefix);
      return state?.model[0]?.backends.length === 2 ? state.generation : null;
    }, { what: 'nginx serving both instances' });

    let progress: LoadResult = { sent: 0, ok: 0, failed: 0, hosts: {}, failures: {} };
    let stopLoad = false;
    const finished = load(url, {
      concurrency: 2,
      perSecond: 50,
      maxRequests: 20_000,
      stop: (p) => {
        progress = p;
        return stopLoad;
      },
    });
    /** Waits until `count` more requests have been answered. */
    const served = async (count: number, what: string) => {
      const from = progress.ok;
      await waitFor(() => progress.ok >= from + count, { timeoutMs: 30_000, what: `${count} requests answered ${what}` });
    };
    try {
      await served(50, 'before any restart');

      await terminate(server);
      assert.equal(server.child.exitCode, 0, `a clean shutdown, not killed by ${server.child.signalCode}`);
      assert.deepEqual(masterProcesses(prefix), [master], 'SIGTERM left nginx running');
      await served(50, 'while no server runs (after SIGTERM)');
      server = await start();
      await waitFor(() => /adopted/.test(server.stderr()), { what: 'the restarted server to adopt nginx' });
      await served(50, 'after the restart');

      await kill9(server);
      assert.deepEqual(masterProcesses(prefix), [master], 'kill -9 left nginx running');
      await served(50, 'while no server runs (after kill -9)');
      server = await start();
      await waitFor(() => /adopted/.test(server.stderr()), { what: 'the server restarted after kill -9 to adopt nginx' });
      await served(50, 'after the second restart');
    } finally {
      stopLoad = true;
    }
    const result = await finished;
    t.diagnostic(`load: ${JSON.stringify(result)}`);
    for (const line of servers.flatMap((s) => s.stderr().split('\n')).filter((l) => /"component":"nginx"/.test(l))) t.diagnostic(line);
    assert.equal(result.failed, 0, `failures: ${JSON.stringify(result.failures)}`);
    assert.ok(result.ok >= 250);
    assert.equal(Object.keys(result.hosts).length, 2, 'both instances answered');
    assert.deepEqual(masterProcesses(prefix), [master], 'the same master all along: adopted, never replaced');
    assert.equal(readBalancerState(prefix)!.generation, generation, 'nothing changed, so nginx was never reloaded');
  });

  it('should stop the server and nginx with reactor shutdown --all', async () => {
    const run = await reactor(['shutdown', '--all', '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^stopped reactor server \(pid \d+\); stopped nginx \(pid \d+\): endpoints no longer answer\n$/);
    assert.ok(servers.every((s) => s.child.exitCode !== null || s.child.signalCode !== null), 'the server exited');
    assert.deepEqual(markedProcesses(prefix), []);
    await assert.rejects(httpGet(`127.0.0.1:${port}`));
    const again = await reactor(['shutdown', '--all', '--data-dir', dataDir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^nothing of reactor runs on data directory /);
  });
});

describe('reactor server --stop-balancer-on-exit', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-stop-balancer-'));
  const prefix = join(dataDir, 'nginx');
  let server: ServerProcess | undefined;
  after(async () => {
    if (server) await kill9(server);
    await endPrefixProcesses(prefix, (ms) => new Promise((r) => setTimeout(r, ms)), Date.now);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('should stop nginx too on SIGTERM, and refuse a second server on the same data directory meanwhile', async () => {
    server = await startServerProcess(['--data-dir', dataDir, '--name', `stop-balancer-${process.pid}`, '--stop-balancer-on-exit']);
    await waitFor(() => masterProcesses(prefix).length === 1, { what: 'nginx running' });
    const second = await reactor(['server', '--listen', '127.0.0.1:0', '--data-dir', dataDir]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^reactor: data directory .* is in use by another reactor server \(pid \d+\); stop it first \(reactor shutdown --data-dir /);
    await terminate(server);
    assert.equal(server.child.exitCode, 0, `exit signal ${server.child.signalCode}`);
    assert.deepEqual(markedProcesses(prefix), []);
  });
});
