// Peer-list pushes of the config transaction (real `nginx -t`, a scripted master): names resolved within a timeout, last good addresses kept, dropped peers reported once, and a failed push leaving the served list unknown.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEndpointUrl } from '../../src/config/endpoint.js';
import type { NginxSection } from '../../src/config/model.js';
import { findExecutable } from '../../src/managers/probe.js';
import { ensureControlToken } from '../../src/nginx/control-token.js';
import { findLuaSetup, LUA_MODULE, LUA_SOURCE, PEERS_FILE } from '../../src/nginx/lua-balancer.js';
import { PeerResolver, renderPeerList, type Lookup } from '../../src/nginx/peers.js';
import type { BalancedEndpoint } from '../../src/nginx/render.js';
import type { DriverReport } from '../../src/nginx/report.js';
import { ConfigTransaction } from '../../src/nginx/transaction.js';
import { realTimers, type Timers } from '../../src/time/timers.js';

const NGINX: NginxSection = { stickySessions: false, keepalive: 0, keepaliveTimeout: 4, ssl: false, sslCertificate: '', sslKey: '', redirect: '' };

function web(backends: string[]): BalancedEndpoint[] {
  return [{ name: 'web', url: parseEndpointUrl('http://:18081/'), nginx: NGINX, weight: 1, backends: backends.map((address) => ({ address, instance: address })) }];
}

/** The real timers, but keeping the process alive: here the timeout is all that runs while a lookup hangs. */
const timers: Timers = {
  ...realTimers,
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

/** A lookup that answers from a script, one entry per call: an address, an error, or `hang` (never answers). */
function scripted(answers: (string | Error | 'hang')[]): Lookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (host: string) => {
    const answer = answers[calls.push(host) - 1] ?? 'hang';
    if (answer === 'hang') return new Promise<string>(() => {});
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return Object.assign(lookup, { calls });
}

describe('PeerResolver', () => {
  it('should give up on a late name, keep its last good address, and not ask again while the lookup hangs', async () => {
    const lookup = scripted(['10.0.0.7', 'hang']);
    const resolver = new PeerResolver({ lookup, timeoutMs: 50, timers });
    const first = await resolver.resolve(web(['db.local:5432', '127.0.0.1:1']));
    assert.deepEqual(first.endpoints[0].backends.map((b) => b.address), ['10.0.0.7:5432', '127.0.0.1:1']);
    const second = await resolver.resolve(web(['db.local:5432']));
    assert.equal(second.endpoints[0].backends[0].address, '10.0.0.7:5432', 'the last good address stands in');
    assert.deepEqual(second.stale.get('db.local'), { address: '10.0.0.7', reason: 'no answer within 50 ms' });
    assert.equal(second.unresolved.size, 0);
    await resolver.resolve(web(['db.local:5432']));
    assert.deepEqual(lookup.calls, ['db.local', 'db.local'], 'the hung lookup is waited on again, not started again');
  });

  it('should leave a name never resolved as it is, with the reason, so the list drops it', async () => {
    const resolver = new PeerResolver({ lookup: scripted([new Error('getaddrinfo ENOTFOUND db.invalid')]), timeoutMs: 50, timers });
    const { endpoints, unresolved } = await resolver.resolve(web(['db.invalid:5', '127.0.0.1:1']));
    assert.equal(endpoints[0].backends[0].address, 'db.invalid:5');
    assert.equal(unresolved.get('db.invalid'), 'getaddrinfo ENOTFOUND db.invalid');
    assert.deepEqual(renderPeerList(endpoints).dropped, [{ endpoint: 'web', address: 'db.invalid:5' }]);
  });
});

describe('ConfigTransaction peer pushes', () => {
  const lua = findLuaSetup();
  let prefix: string;
  const outcomes: (true | string)[] = [];
  const pushed: string[] = [];
  const reports: DriverReport[] = [];

  function transaction(lookup: Lookup = scripted([])): ConfigTransaction {
    return new ConfigTransaction({
      binary: findExecutable('nginx')!,
      prefix,
      listenAddress: '127.0.0.1',
      syslogPort: 5514,
      controlPort: () => 18999,
      lua: lua!,
      resolver: new PeerResolver({ lookup, timeoutMs: 50, timers }),
      report: async (report) => void reports.push(report),
      nginx: {
        running: true,
        load: async () => true,
        reload: () => {},
        push: async (text) => (pushed.push(text), outcomes.shift() ?? true),
      },
    });
  }

  before(() => {
    assert.ok(lua, 'libnginx-mod-http-lua and lua-resty-core are installed (scripts/setup.sh)');
    prefix = mkdtempSync(join(tmpdir(), 'reactor-peer-push-'));
    for (const dir of ['logs', 'temp', 'lua']) mkdirSync(join(prefix, dir));
    writeFileSync(join(prefix, 'lua', `${LUA_MODULE}.lua`), LUA_SOURCE);
    ensureControlToken(prefix);
  });
  after(() => rmSync(prefix, { recursive: true, force: true }));

  it('should push again after a push failed, even the list nginx had before it', async () => {
    const tx = transaction();
    assert.equal((await tx.apply(web(['127.0.0.1:1']))).via, 'reload');
    outcomes.push('the control server did not take the peer list: timed out');
    const failed = await tx.apply(web(['127.0.0.1:1', '127.0.0.1:2']));
    assert.deepEqual([failed.status, failed.via], ['refused', 'peers']);
    assert.match(readFileSync(join(prefix, PEERS_FILE), 'utf8'), /peer 127\.0\.0\.1:2 1/, 'the file keeps the new list, for the next start');
    // nginx may have stored the new list before the PUT timed out: the old one is pushed, not called unchanged.
    pushed.length = 0;
    const back = await tx.apply(web(['127.0.0.1:1']));
    assert.deepEqual([back.status, back.via], ['applied', 'peers']);
    assert.deepEqual(pushed, [renderPeerList(web(['127.0.0.1:1'])).text]);
    assert.equal((await tx.apply(web(['127.0.0.1:1']))).status, 'unchanged', 'known again once a push succeeds');
  });

  it('should report a backend whose name does not resolve once, and serve the others', async () => {
    reports.length = 0;
    const tx = transaction(scripted([new Error('getaddrinfo ENOTFOUND db.invalid'), new Error('getaddrinfo ENOTFOUND db.invalid')]));
    await tx.apply(web(['127.0.0.1:1', 'db.invalid:5']));
    assert.deepEqual(
      reports.map((r) => [r.kind, r.endpoints, r.message]),
      [['BALANCER_PEER_DROPPED', ['web'], 'nginx sends no traffic of web to db.invalid:5: db.invalid does not resolve (getaddrinfo ENOTFOUND db.invalid)']],
    );
    assert.equal((await tx.apply(web(['127.0.0.1:2', 'db.invalid:5']))).via, 'peers');
    assert.equal(reports.length, 1, 'still dropped: not reported again');
    assert.equal(readFileSync(join(prefix, PEERS_FILE), 'utf8'), `upstream http://:18081/\npeer 127.0.0.1:2 1\n`);
  });
});
