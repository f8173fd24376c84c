// The nginx balancer for real: our own nginx master, real containers behind it, config refusals, restarts and shutdown.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { markedProcesses } from '../../src/nginx/supervisor.js';
import { STICKY_COOKIE } from '../../src/nginx/render.js';
import { freePort } from '../../src/util/ports.js';
import { staticBackendsConf } from '../support/configs.js';
import { removeBackends, startBackends, type TestContainer } from '../support/containers.js';
import { eventsOf, manage, setOption } from '../support/graphql.js';
import { request } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const LABEL = 'nginx-balancer';

describe('nginx balancer', () => {
  let t: TestServer;
  let backends: TestContainer[];
  let prefix: string;
  const ports: Record<string, number> = {};

  const balancer = () => t.server.services.traffic.balancer!;

  before(async () => {
    await removeBackends(LABEL);
    backends = await startBackends(3, LABEL);
    for (const name of ['spread', 'sticky', 'secure', 'empty', 'redirect']) ports[name] = await freePort();
    t = await startTestServer({ agent: true, name: 'nginx-host', interval: 1 });
    assert.ok(balancer(), 'the local balancer should be running');
    prefix = join(t.dataDir, 'nginx');
  });

  after(async () => {
    await t?.close();
    await removeBackends(LABEL);
  });

  it('should run its own nginx master under the data directory, never /etc/nginx', async () => {
    const pid = balancer().driver.pid!;
    assert.ok(pid > 0);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    assert.ok(cmdline.includes(`-c ${prefix}/nginx.conf`), cmdline);
    assert.equal(Number(readFileSync(join(prefix, 'nginx.pid'), 'utf8').trim()), pid);
    assert.ok(!readFileSync(join(prefix, 'nginx.conf'), 'utf8').includes('/etc/nginx'));
  });

  it('should spread requests over every instance', async () => {
    await manage(t, 'spread', staticBackendsConf(`http://:${ports.spread}`, backends.map((b) => b.address)));
    const url = `http://127.0.0.1:${ports.spread}/`;
    await waitFor(async () => (await request(url)).status === 200, { what: 'spread served' });
    const seen = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const answer = await request(url);
      assert.equal(answer.status, 200);
      const host = answer.body.trim();
      seen.set(host, (seen.get(host) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), backends.map((b) => b.hostname).sort());
  });

  it('should keep a client on one instance with sticky sessions, and spread new clients', async () => {
    await manage(t, 'sticky', staticBackendsConf(`http://localhost:${ports.sticky}/`, backends.map((b) => b.address), { sticky_sessions: 'true' }));
    const url = `http://127.0.0.1:${ports.sticky}/`;
    const headers = { host: `localhost:${ports.sticky}` };
    await waitFor(async () => (await request(url, { headers })).status === 200, { what: 'sticky served' });
    const first = await request(url, { headers });
    const cookie = String(first.headers['set-cookie']?.[0] ?? '').split(';')[0];
    assert.match(cookie, new RegExp(`^${STICKY_COOKIE}=[0-9a-f]+$`));
    for (let i = 0; i < 20; i++) {
      const again = await request(url, { headers: { ...headers, cookie } });
      assert.equal(again.body, first.body, 'a client with its cookie stays on its instance');
      assert.equal(again.headers['set-cookie'], undefined, 'the cookie is set once');
    }
    const clients = new Set<string>();
    for (let i = 0; i < 30; i++) clients.add((await request(url, { headers: { ...headers, cookie: `${STICKY_COOKIE}=client${i}` } })).body);
    assert.ok(clients.size > 1, 'different clients land on different instances');
    // Another host name on the same port is not this endpoint.
    assert.equal((await request(url, { headers: { host: 'elsewhere.example' } })).status, 404);
  });

  it('should serve TLS with a generated self-signed pair, with upstream keepalive', async () => {
    await manage(t, 'secure', staticBackendsConf(`https://:${ports.secure}/`, [backends[0].address], { keepalive: '4' }));
    const url = `https://127.0.0.1:${ports.secure}/`;
    await waitFor(async () => (await request(url)).status === 200, { what: 'secure served' });
    assert.equal((await request(url)).body.trim(), backends[0].hostname);
    const conf = readFileSync(join(prefix, 'nginx.conf'), 'utf8');
    assert.match(conf, /listen 127\.0\.0\.1:\d+ ssl default_server reuseport;/);
    assert.match(conf, /keepalive 4;/);
    assert.match(conf, /self-signed\.crt/);
  });

  it('should answer 502 with no instance, and 301 to `redirect` when set', async () => {
    await manage(t, 'empty', staticBackendsConf(`http://:${ports.empty}/`, []));
    await manage(t, 'redirect', staticBackendsConf(`http://:${ports.redirect}/app`, [], { redirect: 'http://example.com/sorry' }));
    const empty = await waitFor(async () => {
      const answer = await request(`http://127.0.0.1:${ports.empty}/`);
      return answer.status === 502 ? answer : null;
    }, { what: 'empty endpoint answering 502' });
    assert.match(empty.body, /no instance of empty is available/);
    const moved = await waitFor(async () => {
      const answer = await request(`http://127.0.0.1:${ports.redirect}/app/x`);
      return answer.status === 301 ? answer : null;
    }, { what: 'redirect endpoint answering 301' });
    assert.equal(moved.headers.location, 'http://example.com/sorry');
    // /apiary is not under /app: the path is matched as a path, not a prefix of characters.
    assert.equal((await request(`http://127.0.0.1:${ports.redirect}/apple`)).status, 404);
  });

  it('should serve a backend change within a second or so', async () => {
    const started = Date.now();
    await setOption(t, 'empty', 'endpoint', 'static_instances', backends[1].address);
    const answer = await waitFor(async () => {
      const a = await request(`http://127.0.0.1:${ports.empty}/`);
      return a.status === 200 ? a : null;
    }, { what: 'empty endpoint served by its new backend', intervalMs: 5 });
    const elapsed = Date.now() - started;
    assert.equal(answer.body.trim(), backends[1].hostname);
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  });

  it('should refuse a config nginx rejects, record why, keep serving the old one, and let other endpoints move on', async () => {
    const generation = balancer().driver.generation;
    await setOption(t, 'spread', 'loadbalancer:nginx', 'ssl_certificate', '/nonexistent/reactor-test.crt');
    await setOption(t, 'spread', 'loadbalancer:nginx', 'ssl_key', '/nonexistent/reactor-test.key');
    await setOption(t, 'spread', 'loadbalancer:nginx', 'ssl', 'true');
    const refused = await waitFor(
      async () => (await eventsOf(t, 'spread')).find((e) => e.kind === 'BALANCER_CONFIG_REFUSED'),
      { what: 'a BALANCER_CONFIG_REFUSED event on spread' },
    );
    assert.match(refused.message, /reactor-test\.crt/);
    // The last good form of `spread` keeps serving plain HTTP.
    const answer = await request(`http://127.0.0.1:${ports.spread}/`);
    assert.equal(answer.status, 200);
    assert.ok(backends.some((b) => b.hostname === answer.body.trim()));
    assert.ok(!readFileSync(join(prefix, 'nginx.conf'), 'utf8').includes('/nonexistent/'));
    // Other endpoints still change while spread is held.
    await setOption(t, 'redirect', 'loadbalancer:nginx', 'redirect', 'http://example.com/later');
    await waitFor(async () => (await request(`http://127.0.0.1:${ports.redirect}/app`)).headers.location === 'http://example.com/later', {
      what: 'redirect changed while spread is refused',
    });
    assert.ok(balancer().driver.generation > generation);
    // Fixing the endpoint brings it back in.
    await setOption(t, 'spread', 'loadbalancer:nginx', 'ssl', 'false');
    await setOption(t, 'spread', 'loadbalancer:nginx', 'ssl_certificate', '');
    await setOption(t, 'spread', 'loadbalancer:nginx', 'ssl_key', '');
    await waitFor(async () => (await request(`http://127.0.0.1:${ports.spread}/`)).status === 200, { what: 'spread served again' });
  });

  it('should start nginx again when it is killed, its workers serving until the new master does', async () => {
    const before = balancer().driver.pid!;
    const generation = balancer().driver.generation;
    process.kill(before, 'SIGKILL');
    // The dead master's workers still serve: nothing waits for the restart.
    assert.equal((await request(`http://127.0.0.1:${ports.spread}/`)).status, 200);
    const after = await waitFor(() => {
      const { pid, running } = balancer().driver;
      return pid && pid !== before && running && balancer().driver.generation > generation ? pid : null;
    }, { what: 'a new nginx master serving' });
    await waitFor(async () => (await request(`http://127.0.0.1:${ports.spread}/`)).status === 200, { what: 'spread served after the restart' });
    const restarted = await waitFor(async () => (await eventsOf(t, 'spread')).find((e) => e.kind === 'BALANCER_RESTARTED'), {
      what: 'a BALANCER_RESTARTED event',
    });
    assert.match(restarted.message, /SIGKILL/);
    // Once the new master serves, the killed master's workers are ended, not left holding the ports.
    const parent = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    };
    const marked = await waitFor(() => {
      const found = markedProcesses(prefix);
      return found.every((pid) => pid === after || parent(pid) === after) ? found : null;
    }, { what: 'only the new master and its workers' });
    assert.ok(marked.includes(after), `the new master ${after} is among ${marked.join(', ')}`);
  });

  it('should stop nginx when the server closes', async () => {
    await t.close();
    assert.deepEqual(markedProcesses(prefix), []);
    await assert.rejects(request(`http://127.0.0.1:${ports.spread}/`, { timeoutMs: 1000 }));
  });
});
