// The Lua balancer's side of rendering: the config with a Lua upstream per URL group (checked by the real `nginx -t`), the peer list, and what counts as membership only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEndpointUrl } from '../../src/config/endpoint.js';
import type { NginxSection } from '../../src/config/model.js';
import { CONTROL_TOKEN_FILE, ensureControlToken } from '../../src/nginx/control-token.js';
import { findLuaSetup, LUA_MODULE, LUA_SOURCE, PEERS_FILE } from '../../src/nginx/lua-balancer.js';
import { PeerResolver, renderPeerList, structureKey } from '../../src/nginx/peers.js';
import { renderNginxConfig, type BalancedEndpoint, type RenderOptions } from '../../src/nginx/render.js';

const NGINX: NginxSection = { stickySessions: false, keepalive: 0, keepaliveTimeout: 4, ssl: false, sslCertificate: '', sslKey: '', redirect: '' };

function endpoint(name: string, url: string, backends: string[], nginx: Partial<NginxSection> = {}, extra: Partial<BalancedEndpoint> = {}): BalancedEndpoint {
  return {
    name,
    url: parseEndpointUrl(url),
    nginx: { ...NGINX, ...nginx },
    weight: 1,
    backends: backends.map((address) => ({ address, instance: `${name}@${address}` })),
    ...extra,
  };
}

const lua = findLuaSetup();
let prefix: string;
const options = (): RenderOptions => ({ prefix, listenAddress: '127.0.0.1', syslogPort: 5514, controlPort: 18999, generation: 3, lua: lua! });

before(() => {
  assert.ok(lua, 'libnginx-mod-http-lua and lua-resty-core are installed (scripts/setup.sh)');
  prefix = mkdtempSync(join(tmpdir(), 'reactor-lua-render-'));
  for (const dir of ['logs', 'temp', 'lua']) mkdirSync(join(prefix, dir));
  writeFileSync(join(prefix, 'lua', `${LUA_MODULE}.lua`), LUA_SOURCE);
  ensureControlToken(prefix);
});
after(() => rmSync(prefix, { recursive: true, force: true }));

function nginxCheck(text: string): void {
  const file = join(prefix, 'check.conf');
  writeFileSync(file, text);
  execFileSync('nginx', ['-t', '-q', '-p', `${prefix}/`, '-c', file], { stdio: 'pipe' });
}

describe('renderNginxConfig with the Lua balancer', () => {
  const cases: { name: string; endpoints: BalancedEndpoint[]; has: (string | RegExp)[]; hasNot?: (string | RegExp)[] }[] = [
    {
      name: 'the modules, the shared dict, the peer list loaded at start and reload, and the control location',
      endpoints: [endpoint('web', 'http://:81/', ['127.0.0.1:1'])],
      has: [
        /^load_module \/.*ndk_http_module\.so;\nload_module \/.*ngx_http_lua_module\.so;$/m,
        'lua_shared_dict reactor_peers',
        new RegExp(
          `init_by_lua_block \\{ local reactor = require\\("${LUA_MODULE}"\\); reactor\\.load_token\\("/[^"]+/${CONTROL_TOKEN_FILE.replace('.', '\\.')}"\\); ` +
            `reactor\\.load_file\\("/[^"]+/${PEERS_FILE.replace('.', '\\.')}"\\) \\}`,
        ),
        'client_max_body_size 4m;',
        'location = /reactor/peers {',
      ],
    },
    {
      name: 'an upstream with a placeholder and the Lua balancer, no server line per backend',
      endpoints: [endpoint('web', 'http://:81/', ['127.0.0.1:1', '127.0.0.1:2'])],
      has: ['server 0.0.0.1;', 'balance("http://:81/")'],
      hasNot: ['server 127.0.0.1:1', 'hash $reactor_sticky_key'],
    },
    {
      name: 'keepalive after the balancer, with its idle timeout',
      endpoints: [endpoint('web', 'http://:81/', ['127.0.0.1:1'], { keepalive: 16, keepaliveTimeout: 3 })],
      has: [/balancer_by_lua_block[^\n]*\n\s+keepalive 16;\n\s+keepalive_timeout 3s;/],
    },
    {
      name: 'an endpoint with no instance still proxies (the Lua side answers 502 or 301)',
      endpoints: [endpoint('web', 'http://:81/app', [], { redirect: 'http://example.com/sorry' })],
      has: ['admit("http://:81/app", "http://example.com/sorry", "no instance of web is available")', 'proxy_pass http://reactor_1;'],
      hasNot: ['return 301', 'return 502'],
    },
    {
      name: 'sticky sessions: the cookie, the key hashed in Lua',
      endpoints: [endpoint('web', 'http://:81/', ['127.0.0.1:1'], { stickySessions: true })],
      has: ['add_header Set-Cookie $reactor_sticky_cookie;'],
      hasNot: ['hash $reactor_sticky_key consistent;'],
    },
  ];
  for (const c of cases) {
    it(`should render ${c.name}`, () => {
      const { text } = renderNginxConfig(c.endpoints, options());
      for (const expected of c.has) {
        if (typeof expected === 'string') assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in\n${text}`);
        else assert.match(text, expected);
      }
      for (const unexpected of c.hasNot ?? []) {
        if (typeof unexpected === 'string') assert.ok(!text.includes(unexpected), `unexpected ${JSON.stringify(unexpected)}`);
        else assert.doesNotMatch(text, unexpected);
      }
      nginxCheck(text);
    });
  }

  it('should render the same text whatever the backends are: membership is no reload', () => {
    const one = renderNginxConfig([endpoint('web', 'http://:81/', ['127.0.0.1:1'])], options()).text;
    const five = renderNginxConfig([endpoint('web', 'http://:81/', ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'])], options()).text;
    const none = renderNginxConfig([endpoint('web', 'http://:81/', [], {}, { fallback: '127.0.0.1:9' })], options()).text;
    assert.equal(one, five);
    assert.equal(one, none);
  });
});

describe('structureKey', () => {
  it('should ignore backends and the fallback, and see everything else', () => {
    const base = endpoint('web', 'http://:81/', ['127.0.0.1:1']);
    assert.equal(structureKey([base]), structureKey([endpoint('web', 'http://:81/', [], {}, { fallback: '127.0.0.1:9' })]));
    assert.notEqual(structureKey([base]), structureKey([endpoint('web', 'http://:82/', ['127.0.0.1:1'])]));
    assert.notEqual(structureKey([base]), structureKey([endpoint('web', 'http://:81/', ['127.0.0.1:1'], { redirect: 'http://x.example/' })]));
    assert.notEqual(structureKey([base]), structureKey([base, endpoint('api', 'http://:81/api', [])]));
    assert.equal(structureKey([base]), structureKey([{ ...base, weight: 5 }]), 'weights are in the peer list');
  });
});

describe('renderPeerList', () => {
  it('should list every URL group with its peers, weights, stickiness and fallback', () => {
    const { text, dropped } = renderPeerList([
      endpoint('a', 'http://:81/', ['127.0.0.1:1', '[::1]:2'], { stickySessions: true }),
      endpoint('b', 'http://:81/', ['127.0.0.1:1'], {}, { weight: 3 }),
      endpoint('c', 'http://:82/x', [], {}, { fallback: '127.0.0.1:9' }),
      endpoint('d', 'http://:83/', ['db.invalid:5']),
    ]);
    assert.equal(
      text,
      ['upstream http://:81/', 'sticky', 'peer 127.0.0.1:1 4', 'peer [::1]:2 1', 'upstream http://:82/x', 'fallback 127.0.0.1:9', 'upstream http://:83/', ''].join('\n'),
    );
    assert.deepEqual(dropped, [{ endpoint: 'd', address: 'db.invalid:5' }]);
  });

  it('should resolve backends named by host to addresses', async () => {
    const {
      endpoints: [resolved],
    } = await new PeerResolver().resolve([endpoint('a', 'http://:81/', ['localhost:8080', '127.0.0.1:1'])]);
    assert.match(resolved.backends[0].address, /^(127\.0\.0\.1|\[::1\]):8080$/);
    assert.equal(resolved.backends[1].address, '127.0.0.1:1');
  });
});

describe('ensureControlToken', () => {
  it('should make a token once, keep it across calls (a restarted server), and keep its file 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reactor-token-'));
    try {
      const file = join(dir, CONTROL_TOKEN_FILE);
      const token = ensureControlToken(dir);
      assert.match(token, /^[0-9a-f]{64}$/);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      chmodSync(file, 0o644);
      assert.equal(ensureControlToken(dir), token, 'the same token again');
      assert.equal(statSync(file).mode & 0o777, 0o600, 'a file others could read is made 0600 again');
      writeFileSync(file, 'short\n');
      const fresh = ensureControlToken(dir, () => Buffer.alloc(32, 7));
      assert.equal(fresh, '07'.repeat(32), 'a malformed token is replaced');
      assert.equal(readFileSync(file, 'utf8'), `${fresh}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
