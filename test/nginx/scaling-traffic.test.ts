// What clients see while an endpoint scales, for real: keep-alive and fresh-connection clients (GET and POST) lose nothing while it goes 1 → 5 → 1 twice, and nginx is reloaded only for a new endpoint.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markedProcesses } from '../../src/nginx/supervisor.js';
import { freePort } from '../../src/util/ports.js';
import { staticBackendsConf } from '../support/configs.js';
import { instancesOf, manage, manageAndStart, setOption } from '../support/graphql.js';
import { request } from '../support/http.js';
import { ensureTestImage } from '../support/images.js';
import { load, type LoadResult, type LoadShape } from '../support/load.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** The test image plus /cgi-bin/echo, which answers its host name and then the request body. */
const ECHO_IMAGE = 'reactor-test/httpd-echo:1';
const CGI_ECHO = `#!/bin/sh
echo "Content-Type: text/plain"
echo
hostname
cat
`;

/**
 * No evaluation round runs during the test (interval 60 s): scaling is
 * driven by min/max changes (trigger rounds), so a drained instance that is
 * gone within the wait was removed by the drain watch, not by a round.
 */
function wavesConf(port: number): string {
  return `[endpoint]
url=http://:${port}/
loadbalancer=nginx
port=5000
decommissioned_timeout=60

[scaling]
min_instances=1
max_instances=5

[cloud:docker]
image=${ECHO_IMAGE}
command=/usr/local/bin/runapp

[loadbalancer:nginx]
keepalive=16
`;
}

describe('scaling under traffic (Lua balancer)', () => {
  let t: TestServer;
  let port: number;
  const driver = () => t.server.services.traffic.balancer!.driver;

  before(async () => {
    ensureTestImage(ECHO_IMAGE, { scripts: [['www/cgi-bin/echo', CGI_ECHO]] });
    port = await freePort();
    t = await startTestServer({ agent: true, name: 'lua-scaling', interval: 60 });
    assert.ok(driver().lua, 'the Lua balancer is in use (libnginx-mod-http-lua installed)');
    await manageAndStart(t, 'waves', wavesConf(port));
    await waitFor(async () => (await request(`http://127.0.0.1:${port}/`)).status === 200, { what: 'waves served by its first instance', timeoutMs: 60_000 });
  });

  after(async () => {
    await t?.close();
  });

  /** Waits until the endpoint has exactly `count` instances, all RUNNING (the drained ones removed, not merely out of rotation). */
  async function settle(count: number, what: string): Promise<void> {
    let seen = '';
    try {
      await waitFor(
        async () => {
          const instances = await instancesOf(t, 'waves');
          const open = await t.server.services.traffic.sampler!.connectionsNow();
          seen = instances.map((i) => `${i.status} ${i.address} (${open.get(i.address ?? '') ?? 0} open)`).join(', ');
          return instances.length === count && instances.every((i) => i.status === 'RUNNING');
        },
        { what, timeoutMs: 120_000, intervalMs: 100 },
      );
    } catch (error) {
      const rounds = t.logs.filter((line) => line.component === 'controller').slice(-8).map((line) => `${String(line.time)} ${String(line.msg)}`);
      throw new Error(`${(error as Error).message}; last seen: ${seen}; the controller's last lines:\n${rounds.join('\n')}`);
    }
  }

  it('should lose no request of keep-alive or fresh-connection clients while scaling 1 → 5 → 1 twice, with no reload', async (test) => {
    const reloads = driver().stats.reloads;
    let done = false;
    const url = `http://127.0.0.1:${port}/`;
    const echo = `http://127.0.0.1:${port}/cgi-bin/echo`;
    const body = 'reactor-'.repeat(64);
    const clients: [string, string, LoadShape][] = [
      ['keep-alive GET', url, { keepAlive: true }],
      ['keep-alive POST', echo, { keepAlive: true, method: 'POST', body }],
      ['fresh GET', url, {}],
      ['fresh POST', echo, { method: 'POST', body }],
    ];
    // 8 clients each: 16 on pooled keep-alive connections, 16 opening one per request; bounded in requests and by `done`.
    const running = clients.map(([, target, shape]) => load(target, { concurrency: 8, maxRequests: 100_000, perSecond: 60, shape, stop: () => done }));
    let results: LoadResult[];
    try {
      for (const round of [1, 2]) {
        await setOption(t, 'waves', 'scaling', 'min_instances', '5');
        await settle(5, `round ${round}: 5 instances serving`);
        await setOption(t, 'waves', 'scaling', 'min_instances', '1');
        await setOption(t, 'waves', 'scaling', 'max_instances', '1');
        await settle(1, `round ${round}: back to 1 instance, the other 4 drained and removed`);
        await setOption(t, 'waves', 'scaling', 'max_instances', '5');
      }
    } finally {
      done = true;
      results = await Promise.all(running);
    }
    const report = results.map((r, i) => `${clients[i][0]}: ${r.sent} sent, ${r.ok} ok, ${r.failed} failed ${JSON.stringify(r.failures)}`).join('\n');
    test.diagnostic(report);
    for (const [i, result] of results.entries()) {
      assert.equal(result.failed, 0, `${clients[i][0]} lost requests:\n${report}`);
      assert.ok(result.ok >= 100, `${clients[i][0]} sent enough to mean something:\n${report}`);
    }
    const hosts = new Set(results.flatMap((r) => Object.keys(r.hosts)));
    assert.ok(hosts.size >= 9, `requests reached the instances of both waves (${hosts.size} hosts)`);
    assert.equal(driver().stats.reloads, reloads, 'scaling changed membership only: no nginx reload');
    assert.ok(driver().stats.peerUpdates >= 4, 'each change was pushed to the Lua balancer');
  });

  it('should reload nginx exactly once for a new endpoint', async () => {
    const reloads = driver().stats.reloads;
    const [first] = await instancesOf(t, 'waves');
    const other = await freePort();
    await manage(t, 'another', staticBackendsConf(`http://:${other}/`, [first.address!]));
    await waitFor(async () => (await request(`http://127.0.0.1:${other}/`)).status === 200, { what: 'the new endpoint served' });
    // Its instances changing is membership again: a backend more, then none.
    await setOption(t, 'another', 'endpoint', 'static_instances', '');
    await waitFor(async () => (await request(`http://127.0.0.1:${other}/`)).status === 502, { what: 'the new endpoint without backends' });
    assert.equal(driver().stats.reloads, reloads + 1);
  });

  it('should serve the pushed peers after a worker dies and after the master is restarted', async () => {
    const prefix = join(t.dataDir, 'nginx');
    const url = `http://127.0.0.1:${port}/`;
    const served = async (what: string) => {
      for (let i = 0; i < 10; i++) assert.equal((await request(url)).status, 200, what);
    };
    // A worker that dies is replaced by the master; the shared dict (in the master's shared memory) still holds the peers.
    const master = driver().pid!;
    // The workers of the generation before the last reload finish and exit first: a worker of the current one dies.
    const workers = await waitFor(() => {
      const found = markedProcesses(prefix).filter((pid) => pid !== master);
      return found.every((pid) => !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down')) ? found : null;
    }, { what: 'only the current workers' });
    process.kill(workers[0], 'SIGKILL');
    await waitFor(() => markedProcesses(prefix).some((pid) => pid !== master && !workers.includes(pid)), { what: 'a new worker' });
    await served('after a worker died');
    // A new master loads the last peer list from its file when it starts.
    const old = markedProcesses(prefix);
    process.kill(master, 'SIGKILL');
    await waitFor(() => driver().running && driver().pid !== master, { what: 'a new nginx master' });
    await waitFor(() => !markedProcesses(prefix).some((pid) => old.includes(pid)), { what: 'the old master and its workers gone' });
    await waitFor(async () => (await request(url)).status === 200, { what: 'served by the new master' });
    await served('after the master restarted');
  });
});
