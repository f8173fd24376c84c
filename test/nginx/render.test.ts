// The nginx config renderer as a table of named cases, each also checked by the real `nginx -t`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEndpointUrl } from '../../src/config/endpoint.js';
import type { NginxSection } from '../../src/config/model.js';
import { errorLine, firstNginxError } from '../../src/nginx/error-log.js';
import { modelKey } from '../../src/nginx/transaction.js';
import { ensureSelfSignedPair } from '../../src/nginx/certificates.js';
import {
  groupByUrl,
  quote,
  renderNginxConfig,
  RenderProblem,
  type BalancedEndpoint,
  type CertificatePair,
  type RenderOptions,
} from '../../src/nginx/render.js';

const NGINX: NginxSection = { stickySessions: false, keepalive: 0, keepaliveTimeout: 4, ssl: false, sslCertificate: '', sslKey: '', redirect: '' };

function endpoint(name: string, url: string, backends: string[], nginx: Partial<NginxSection> = {}, weight = 1): BalancedEndpoint {
  return {
    name,
    url: parseEndpointUrl(url),
    nginx: { ...NGINX, ...nginx },
    weight,
    backends: backends.map((address) => ({ address, instance: `${name}@${address}` })),
  };
}

let prefix: string;
let pair: CertificatePair;
const options = (): RenderOptions => ({
  prefix,
  listenAddress: '127.0.0.1',
  syslogPort: 5514,
  controlPort: 18999,
  generation: 7,
  defaultCertificate: pair,
});

function nginxCheck(text: string): void {
  const file = join(prefix, 'check.conf');
  writeFileSync(file, text);
  execFileSync('nginx', ['-t', '-q', '-p', `${prefix}/`, '-c', file], { stdio: 'pipe' });
}

before(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'reactor-render-'));
  for (const dir of ['logs', 'temp']) mkdirSync(join(prefix, dir));
  pair = await ensureSelfSignedPair(join(prefix, 'certs'));
});
after(() => rmSync(prefix, { recursive: true, force: true }));

interface Case {
  name: string;
  endpoints: BalancedEndpoint[];
  has: (string | RegExp)[];
  hasNot?: (string | RegExp)[];
}

const cases: Case[] = [
  {
    name: 'no endpoints: only the control server, logging set up',
    endpoints: [],
    has: ['listen 127.0.0.1:18999;', 'return 200 "7\\n";', 'stub_status;', /access_log syslog:server=127\.0\.0\.1:5514,tag=reactor,nohostname reactor;/, 'daemon off;'],
    hasNot: [/^\s*upstream /m],
  },
  {
    name: 'http:// alone is the default server on port 80',
    endpoints: [endpoint('web', 'http://', ['127.0.0.1:5000'])],
    has: ['listen 127.0.0.1:80 default_server reuseport;', 'server_name "";', 'location "/" {', 'proxy_pass http://reactor_1;', 'server 127.0.0.1:5000 weight=1'],
    hasNot: ['server_name _;'],
  },
  {
    name: 'http://:port is the default server of that port',
    endpoints: [endpoint('web', 'http://:8080', ['127.0.0.1:5000'])],
    has: ['listen 127.0.0.1:8080 default_server reuseport;'],
  },
  {
    name: 'a host and path: a named server, the exact path and its subtree, a 404 default server and a 404 elsewhere',
    endpoints: [endpoint('api', 'http://shop.example:8080/api', ['127.0.0.1:5000'])],
    has: ['server_name "shop.example";', 'location = "/api" {', 'location "/api/" {', 'set $reactor_endpoint "api";', 'server_name _;', 'no endpoint is served at this host name', 'no endpoint is served at this path'],
  },
  {
    name: 'endpoints sharing a URL share one weighted upstream',
    endpoints: [endpoint('b', 'http://:81/', ['127.0.0.1:1', '127.0.0.1:2'], {}, 3), endpoint('a', 'http://:81/', ['127.0.0.1:1'], {}, 1)],
    has: ['# endpoints: a, b (http://:81/)', 'server 127.0.0.1:1 weight=4', 'server 127.0.0.1:2 weight=3', 'set $reactor_endpoint "a,b";'],
  },
  {
    name: 'sticky sessions: consistent hashing on the sticky cookie, which is set for new clients',
    endpoints: [endpoint('web', 'http://:81/', ['127.0.0.1:1'], { stickySessions: true })],
    has: ['hash $reactor_sticky_key consistent;', 'add_header Set-Cookie $reactor_sticky_cookie;'],
  },
  {
    name: 'keepalive: idle upstream connections, HTTP/1.1 with an empty Connection header',
    endpoints: [endpoint('web', 'http://:81/', ['127.0.0.1:1'], { keepalive: 16 })],
    has: ['keepalive 16;', 'proxy_http_version 1.1;', 'proxy_set_header Connection $reactor_connection;'],
  },
  {
    name: 'https:// with no certificate: ssl with the generated pair',
    endpoints: [endpoint('web', 'https://:8443/', ['127.0.0.1:1'])],
    has: ['listen 127.0.0.1:8443 ssl default_server reuseport;', /ssl_certificate ".*self-signed\.crt";/, /ssl_certificate_key ".*self-signed\.key";/],
  },
  {
    name: 'ssl=true on an http:// URL with its own pair',
    endpoints: [endpoint('web', 'http://secure.example:8443/', ['127.0.0.1:1'], { ssl: true })],
    has: ['listen 127.0.0.1:8443 ssl;', 'listen 127.0.0.1:8443 ssl default_server reuseport;', 'ssl_reject_handshake on;'],
  },
  {
    name: 'no instance and a redirect: 301',
    endpoints: [endpoint('web', 'http://:81/', [], { redirect: 'http://example.com/sorry' })],
    has: ['return 301 "http://example.com/sorry";'],
    hasNot: [/^\s*upstream /m, 'proxy_pass'],
  },
  {
    name: 'no instance and no redirect: 502 with a clear body',
    endpoints: [endpoint('web', 'http://:81/', [])],
    has: ['return 502 "no instance of web is available\\n";'],
  },
  {
    name: 'no instance and a fallback: the fallback is the only server, told the endpoint in a header',
    endpoints: [{ ...endpoint('web', 'http://:81/', []), fallback: '127.0.0.1:7001' }],
    has: [/upstream reactor_1 \{\n\s+server 127\.0\.0\.1:7001 max_fails=0;\n\s+\}/, 'proxy_set_header X-Reactor-Endpoint $reactor_endpoint;', 'proxy_pass http://reactor_1;', 'proxy_read_timeout 360s;'],
    hasNot: ['return 502', 'weight='],
  },
  {
    name: 'instances and a fallback: only the instances',
    endpoints: [{ ...endpoint('web', 'http://:81/', ['127.0.0.1:5000']), fallback: '127.0.0.1:7001' }],
    has: ['server 127.0.0.1:5000 weight=1'],
    hasNot: ['127.0.0.1:7001', 'proxy_read_timeout'],
  },
  {
    name: 'IPv6 backends',
    endpoints: [endpoint('web', 'http://:81/', ['[::1]:5000'])],
    has: ['server [::1]:5000 weight=1'],
  },
];

describe('renderNginxConfig', () => {
  for (const c of cases) {
    it(`should render ${c.name}`, () => {
      const { text, owners } = renderNginxConfig(c.endpoints, options());
      for (const expected of c.has) {
        if (typeof expected === 'string') assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in\n${text}`);
        else assert.match(text, expected);
      }
      for (const unexpected of c.hasNot ?? []) {
        if (typeof unexpected === 'string') assert.ok(!text.includes(unexpected), `unexpected ${JSON.stringify(unexpected)}`);
        else assert.doesNotMatch(text, unexpected);
      }
      assert.equal(owners.length, text.split('\n').length - 1);
      nginxCheck(text);
    });
  }

  it('should be deterministic whatever the order of endpoints and backends', () => {
    const a = [endpoint('x', 'http://:81/', ['127.0.0.1:1', '127.0.0.1:2']), endpoint('y', 'http://:82/', ['127.0.0.1:3'])];
    const b = [endpoint('y', 'http://:82/', ['127.0.0.1:3']), endpoint('x', 'http://:81/', ['127.0.0.1:2', '127.0.0.1:1'])];
    assert.equal(renderNginxConfig(a, options()).text, renderNginxConfig(b, options()).text);
    assert.equal(modelKey(a), modelKey(b));
  });

  it('should name the endpoints that own each line', () => {
    const { text, owners } = renderNginxConfig([endpoint('web', 'http://:81/', ['127.0.0.1:1'])], options());
    const line = text.split('\n').findIndex((l) => l.includes('server 127.0.0.1:1'));
    assert.deepEqual(owners[line], ['web']);
    assert.deepEqual(owners[0], []);
  });

  it('should refuse what could inject nginx syntax', () => {
    assert.equal(quote('web', 'a "b" \\c'), '"a \\"b\\" \\\\c"');
    assert.throws(() => quote('web', '$host'), RenderProblem);
    assert.throws(() => quote('web', 'a\nb'), RenderProblem);
    assert.throws(() => renderNginxConfig([endpoint('web', 'http://:81/', ['127.0.0.1:1; evil'])], options()), /not host:port/);
    assert.throws(() => renderNginxConfig([endpoint('web', 'http://:81/', ['127.0.0.1:1'], { ssl: true, sslCertificate: '/a.crt' })], options()), /together/);
  });

  it('should group by scheme, host, port and path', () => {
    const groups = groupByUrl([endpoint('a', 'http://:80/', []), endpoint('b', 'http://', []), endpoint('c', 'http://:80/x', [])]);
    assert.deepEqual(groups.map((g) => g.names), [['a', 'b'], ['c']]);
  });
});

describe('nginx messages', () => {
  it('should find the line an nginx -t error points at', () => {
    const message = 'nginx: [emerg] unknown directive "x" in /p/nginx.conf.candidate:42\nnginx: configuration file /p/nginx.conf.candidate test failed';
    assert.equal(errorLine(message, '/p/nginx.conf.candidate'), 42);
    assert.equal(errorLine('nginx: [emerg] cannot load certificate', '/p/nginx.conf.candidate'), null);
    assert.equal(firstNginxError(message), '[emerg] unknown directive "x" in /p/nginx.conf.candidate:42');
    assert.equal(
      firstNginxError('2026/11/25 12:00:00 [emerg] 123#123: bind() to 127.0.0.1:80 failed (98: Address already in use)'),
      '[emerg] bind() to 127.0.0.1:80 failed (98: Address already in use)',
    );
  });
});
