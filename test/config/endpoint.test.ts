// Tests for endpoint configuration: the documented examples, defaults, every refusal, canonical rendering, round trips and get/set.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ENDPOINT_OPTIONS,
  ENDPOINT_SECTIONS,
  defaultEndpointConfig,
  getEndpointOption,
  parseEndpointConfig,
  parseEndpointUrl,
  renderEndpointConfig,
  setEndpointOption,
  validateEndpointConfig,
  type EndpointConfig,
} from '../../src/config/index.js';
import { expectBadInput } from '../support/errors.js';

/** DESIGN.md, "Endpoint configuration (Reactor INI, accepted verbatim)", copied with its inline comments. */
const DESIGN_EXAMPLE = `[endpoint]
url=http://            # http://[host][:port][/path]; http:// alone = default server on port 80
cloud=docker
loadbalancer=nginx
port=5000              # backend port inside the container

[scaling]
min_instances=1
max_instances=5
rules=20<=rate<=50,100<=response<800
ramp_limit=5           # max launches/decommissions per evaluation round

[cloud:docker]
image=eb2b727f547d     # image id or name
command=/usr/local/bin/runapp
slots=10
user=
environment=KEY=value,OTHER=value
mem_limit=0            # bytes (suffixes k/m/g accepted)
dns=
hostname=

[loadbalancer:nginx]
sticky_sessions=false
keepalive=0
ssl=false
redirect=
`;

/** The seed walkthrough's docker.conf (reactor-docker.txt). */
const SEED_EXAMPLE = `[endpoint]
url=http://
cloud=docker
loadbalancer=nginx
port=5000

[scaling]
min_instances=1
max_instances=5

[cloud:docker]
image=eb2b727f547d
command=/usr/local/bin/runapp
`;

const MINIMAL = '[cloud:docker]\nimage=app\n';

/** A fully specified, non-default configuration touching every key. */
const FULL = `[endpoint]
url=https://api.example.com:8443/v1
cloud=docker
loadbalancer=none
port=8080
weight=3
static_instances=10.0.0.5:8080,backup.local:80,[::1]:9000
health_path=/healthz?full=1
decommissioned_timeout=0
unregistered_timeout=30
error_marks=5

[scaling]
min_instances=2
max_instances=20
rules=0 < rate < 1, 2 <= instances
ramp_limit=2

[cloud:docker]
image=registry.local:5000/team/app:1.2@sha256:abc
command=/bin/sh -c "exec app --port=8080"
slots=4
user=app:staff
environment=A=1,B_2=x=y,EMPTY=
mem_limit=1536m
dns=8.8.8.8,2001:4860:4860::8888,dns.local
hostname=app-1.internal

[loadbalancer:nginx]
sticky_sessions=true
keepalive=16
ssl=true
ssl_certificate=/etc/ssl/app.pem
ssl_key=/etc/ssl/app.key
redirect=https://status.example.com/down
`;

describe('parseEndpointConfig: documented examples', () => {
  it("should parse DESIGN.md's example verbatim, inline comments included", () => {
    assert.deepEqual(parseEndpointConfig(DESIGN_EXAMPLE), {
      endpoint: {
        url: 'http://',
        cloud: 'docker',
        loadbalancer: 'nginx',
        port: 5000,
        weight: 1,
        staticInstances: [],
        healthPath: '',
        decommissionedTimeout: 60,
        unregisteredTimeout: 120,
        errorMarks: 3,
      },
      scaling: { minInstances: 1, maxInstances: 5, rules: '20<=rate<=50,100<=response<800', rampLimit: 5, holdQueue: 100, burstReaction: true, holdTimeout: 30 },
      docker: {
        image: 'eb2b727f547d',
        command: '/usr/local/bin/runapp',
        slots: 10,
        user: '',
        environment: { KEY: 'value', OTHER: 'value' },
        memLimit: 0,
        dns: [],
        hostname: '',
      },
      nginx: { stickySessions: false, keepalive: 0, keepaliveTimeout: 4, ssl: false, sslCertificate: '', sslKey: '', redirect: '' },
    } satisfies EndpointConfig);
  });

  it("should parse the seed walkthrough's docker.conf, filling the rest with defaults", () => {
    const config = parseEndpointConfig(SEED_EXAMPLE);
    const expected = defaultEndpointConfig();
    expected.endpoint.port = 5000;
    expected.scaling.maxInstances = 5;
    expected.docker.image = 'eb2b727f547d';
    expected.docker.command = '/usr/local/bin/runapp';
    assert.deepEqual(config, expected);
  });

  it('should parse a file that sets every key to a non-default value', () => {
    const c = parseEndpointConfig(FULL);
    assert.equal(c.endpoint.url, 'https://api.example.com:8443/v1');
    assert.equal(c.endpoint.loadbalancer, 'none');
    assert.deepEqual(c.endpoint.staticInstances, ['10.0.0.5:8080', 'backup.local:80', '[::1]:9000']);
    assert.equal(c.endpoint.healthPath, '/healthz?full=1');
    assert.equal(c.endpoint.decommissionedTimeout, 0);
    assert.equal(c.scaling.rules, '0 < rate < 1, 2 <= instances');
    assert.equal(c.docker.command, '/bin/sh -c "exec app --port=8080"');
    assert.deepEqual(c.docker.environment, { A: '1', B_2: 'x=y', EMPTY: '' });
    assert.equal(c.docker.memLimit, 1536 * 1024 * 1024);
    assert.deepEqual(c.docker.dns, ['8.8.8.8', '2001:4860:4860::8888', 'dns.local']);
    assert.deepEqual(c.nginx, {
      stickySessions: true,
      keepalive: 16,
      keepaliveTimeout: 4,
      ssl: true,
      sslCertificate: '/etc/ssl/app.pem',
      sslKey: '/etc/ssl/app.key',
      redirect: 'https://status.example.com/down',
    });
  });
});

describe('parseEndpointConfig: defaults', () => {
  const c = parseEndpointConfig(MINIMAL);
  const defaults: Array<[string, unknown, unknown]> = [
    ['url', c.endpoint.url, 'http://'],
    ['cloud', c.endpoint.cloud, 'docker'],
    ['loadbalancer', c.endpoint.loadbalancer, 'nginx'],
    ['port', c.endpoint.port, 80],
    ['weight', c.endpoint.weight, 1],
    ['static_instances', c.endpoint.staticInstances, []],
    ['health_path', c.endpoint.healthPath, ''],
    ['decommissioned_timeout', c.endpoint.decommissionedTimeout, 60],
    ['unregistered_timeout', c.endpoint.unregisteredTimeout, 120],
    ['error_marks', c.endpoint.errorMarks, 3],
    ['min_instances', c.scaling.minInstances, 1],
    ['max_instances', c.scaling.maxInstances, 1],
    ['rules', c.scaling.rules, ''],
    ['ramp_limit', c.scaling.rampLimit, 5],
    ['hold_queue', c.scaling.holdQueue, 100],
    ['burst_reaction', c.scaling.burstReaction, true],
    ['hold_timeout', c.scaling.holdTimeout, 30],
    ['command', c.docker.command, ''],
    ['slots', c.docker.slots, 1],
    ['user', c.docker.user, ''],
    ['environment', c.docker.environment, {}],
    ['mem_limit', c.docker.memLimit, 0],
    ['dns', c.docker.dns, []],
    ['hostname', c.docker.hostname, ''],
    ['sticky_sessions', c.nginx.stickySessions, false],
    ['keepalive', c.nginx.keepalive, 0],
    ['keepalive_timeout', c.nginx.keepaliveTimeout, 4],
    ['ssl', c.nginx.ssl, false],
    ['ssl_certificate', c.nginx.sslCertificate, ''],
    ['ssl_key', c.nginx.sslKey, ''],
    ['redirect', c.nginx.redirect, ''],
  ];
  for (const [key, actual, expected] of defaults) {
    it(`should default ${key} to ${JSON.stringify(expected)}`, () => assert.deepEqual(actual, expected));
  }

  it('should document a default for every key, matching defaultEndpointConfig()', () => {
    const d = defaultEndpointConfig();
    assert.equal(ENDPOINT_OPTIONS.length, 32);
    for (const o of ENDPOINT_OPTIONS) assert.equal(getEndpointOption(d, o.section, o.key), o.default, `${o.section} ${o.key}`);
  });

  it('should hand out a fresh default object each time', () => {
    const a = defaultEndpointConfig();
    a.docker.dns.push('1.1.1.1');
    assert.deepEqual(defaultEndpointConfig().docker.dns, []);
  });
});

describe('parseEndpointConfig: accepted value forms', () => {
  const cases: Array<{ name: string; section: string; line: string; pick: (c: EndpointConfig) => unknown; expected: unknown }> = [
    { name: 'mem_limit in bytes', section: 'cloud:docker', line: 'mem_limit=8388608', pick: (c) => c.docker.memLimit, expected: 8 * 1024 ** 2 },
    { name: 'mem_limit with k', section: 'cloud:docker', line: 'mem_limit=10240k', pick: (c) => c.docker.memLimit, expected: 10240 * 1024 },
    { name: 'mem_limit with upper-case M', section: 'cloud:docker', line: 'mem_limit=512M', pick: (c) => c.docker.memLimit, expected: 512 * 1024 ** 2 },
    { name: 'mem_limit with g', section: 'cloud:docker', line: 'mem_limit=2g', pick: (c) => c.docker.memLimit, expected: 2 * 1024 ** 3 },
    { name: 'mem_limit with mb', section: 'cloud:docker', line: 'mem_limit=64mb', pick: (c) => c.docker.memLimit, expected: 64 * 1024 ** 2 },
    { name: 'boolean yes', section: 'loadbalancer:nginx', line: 'ssl=yes', pick: (c) => c.nginx.ssl, expected: true },
    { name: 'boolean On', section: 'loadbalancer:nginx', line: 'ssl=On', pick: (c) => c.nginx.ssl, expected: true },
    { name: 'boolean 1', section: 'loadbalancer:nginx', line: 'sticky_sessions=1', pick: (c) => c.nginx.stickySessions, expected: true },
    { name: 'boolean off', section: 'loadbalancer:nginx', line: 'sticky_sessions=off', pick: (c) => c.nginx.stickySessions, expected: false },
    { name: 'boolean NO', section: 'loadbalancer:nginx', line: 'ssl=NO', pick: (c) => c.nginx.ssl, expected: false },
    { name: 'environment with spaces around items', section: 'cloud:docker', line: 'environment= A = 1 , B=2', pick: (c) => c.docker.environment, expected: { A: '1', B: '2' } },
    { name: 'environment named __proto__', section: 'cloud:docker', line: 'environment=__proto__=x', pick: (c) => Object.entries(c.docker.environment), expected: [['__proto__', 'x']] },
    { name: 'dns with spaces', section: 'cloud:docker', line: 'dns=1.1.1.1, 8.8.8.8', pick: (c) => c.docker.dns, expected: ['1.1.1.1', '8.8.8.8'] },
    { name: 'port with leading zeros', section: 'endpoint', line: 'port=0080', pick: (c) => c.endpoint.port, expected: 80 },
    { name: 'port 65535', section: 'endpoint', line: 'port=65535', pick: (c) => c.endpoint.port, expected: 65535 },
    { name: 'loadbalancer none', section: 'endpoint', line: 'loadbalancer=none', pick: (c) => c.endpoint.loadbalancer, expected: 'none' },
    { name: 'min_instances 0', section: 'scaling', line: 'min_instances=0', pick: (c) => c.scaling.minInstances, expected: 0 },
    { name: 'rules kept exactly as written', section: 'scaling', line: 'rules=0 < rate < 1', pick: (c) => c.scaling.rules, expected: '0 < rate < 1' },
    { name: 'empty rules', section: 'scaling', line: 'rules=', pick: (c) => c.scaling.rules, expected: '' },
  ];
  for (const c of cases) {
    it(`should read ${c.name}`, () => {
      const text = c.section === 'cloud:docker' ? `[cloud:docker]\nimage=app\n${c.line}\n` : `${MINIMAL}[${c.section}]\n${c.line}\n`;
      assert.deepEqual(c.pick(parseEndpointConfig(text)), c.expected);
    });
  }
});

describe('parseEndpointConfig: refusals name the section and key', () => {
  const withImage = (text: string) => `${MINIMAL}${text}`;
  const cases: Array<{ name: string; text: string; mentions: string[] }> = [
    { name: 'a malformed line', text: withImage('[endpoint]\nport 5000\n'), mentions: ['line 4', 'port 5000'] },
    { name: 'a key outside a section', text: `port=5000\n${MINIMAL}`, mentions: ['line 1', 'port', 'before any [section]'] },
    { name: 'an unknown section', text: withImage('[cloud:osapi]\nimage=x\n'), mentions: ['[cloud:osapi]', '[endpoint], [scaling], [cloud:docker], [loadbalancer:nginx]'] },
    { name: 'an unknown key', text: withImage('[scaling]\nmax_instance=5\n'), mentions: ['[scaling] max_instance', 'min_instances, max_instances, rules, ramp_limit'] },
    { name: 'a key from another section', text: withImage('[endpoint]\nimage=x\n'), mentions: ['[endpoint] image'] },
    { name: 'a repeated section', text: `${MINIMAL}[scaling]\nmax_instances=2\n[scaling]\nmin_instances=1\n`, mentions: ['[scaling]', 'repeated'] },
    { name: 'a repeated key', text: withImage('[scaling]\nmax_instances=5\nmax_instances=50\n'), mentions: ['[scaling] max_instances', 'repeated', 'line 5'] },
    { name: 'a non-numeric number', text: withImage('[scaling]\nmax_instances=five\n'), mentions: ['[scaling] max_instances', '"five"', 'not a number', 'a whole number, 0 or more'] },
    { name: 'a negative number', text: withImage('[endpoint]\ndecommissioned_timeout=-5\n'), mentions: ['[endpoint] decommissioned_timeout', '"-5"', 'negative'] },
    { name: 'a fraction where a whole number is needed', text: withImage('[scaling]\nramp_limit=2.5\n'), mentions: ['[scaling] ramp_limit', '"2.5"', 'not a whole number'] },
    { name: 'port 0', text: withImage('[endpoint]\nport=0\n'), mentions: ['[endpoint] port', '"0"', 'out of range', 'from 1 to 65535'] },
    { name: 'port 65536', text: withImage('[endpoint]\nport=65536\n'), mentions: ['[endpoint] port', '"65536"', 'from 1 to 65535'] },
    { name: 'an empty number', text: withImage('[endpoint]\nport=\n'), mentions: ['[endpoint] port', 'empty'] },
    { name: 'a number too large', text: withImage('[scaling]\nmax_instances=99999999999999999999\n'), mentions: ['[scaling] max_instances', 'too large'] },
    { name: 'ramp_limit 0', text: withImage('[scaling]\nramp_limit=0\n'), mentions: ['[scaling] ramp_limit', 'a whole number, 1 or more'] },
    { name: 'slots 0', text: '[cloud:docker]\nimage=app\nslots=0\n', mentions: ['[cloud:docker] slots', 'out of range'] },
    { name: 'hold_timeout 0', text: withImage('[scaling]\nhold_timeout=0\n'), mentions: ['[scaling] hold_timeout', '"0"', 'from 1 to 300'] },
    { name: 'hold_timeout over 300 s', text: withImage('[scaling]\nhold_timeout=301\n'), mentions: ['[scaling] hold_timeout', '"301"', 'from 1 to 300'] },
    { name: 'a negative hold_queue', text: withImage('[scaling]\nhold_queue=-1\n'), mentions: ['[scaling] hold_queue', '"-1"', 'negative'] },
    { name: 'hold_queue over 100000', text: withImage('[scaling]\nhold_queue=100001\n'), mentions: ['[scaling] hold_queue', 'from 0 to 100000'] },
    { name: 'min_instances > max_instances', text: withImage('[scaling]\nmin_instances=6\nmax_instances=5\n'), mentions: ['[scaling] min_instances (6)', '[scaling] max_instances (5)'] },
    { name: 'min_instances above the default max', text: withImage('[scaling]\nmin_instances=2\n'), mentions: ['min_instances', 'max_instances'] },
    { name: 'a rule with no bound after <', text: withImage('[scaling]\nrules=rate <\n'), mentions: ['[scaling] rules', 'rate <'] },
    { name: 'a rule with ==', text: withImage('[scaling]\nrules=rate == 4\n'), mentions: ['[scaling] rules', 'rate == 4'] },
    { name: 'a bad rule among good ones', text: withImage('[scaling]\nrules=0 < rate < 1, 5 < 2 < response\n'), mentions: ['[scaling] rules', '5 < 2 < response'] },
    { name: 'a url with an unknown scheme', text: withImage('[endpoint]\nurl=ftp://example.com\n'), mentions: ['[endpoint] url', '"ftp://example.com"', 'ftp'] },
    { name: 'a url without a scheme', text: withImage('[endpoint]\nurl=example.com\n'), mentions: ['[endpoint] url', 'http://'] },
    { name: 'a url with port 0', text: withImage('[endpoint]\nurl=http://example.com:0/\n'), mentions: ['[endpoint] url', 'port 0'] },
    { name: 'a url with port 99999', text: withImage('[endpoint]\nurl=http://example.com:99999\n'), mentions: ['[endpoint] url', '99999'] },
    { name: 'a url with a bad host', text: withImage('[endpoint]\nurl=http://exa$mple.com/\n'), mentions: ['[endpoint] url', 'exa$mple.com'] },
    { name: 'a url with user info', text: withImage('[endpoint]\nurl=http://u:p@example.com/\n'), mentions: ['[endpoint] url'] },
    { name: 'a url path with a ;', text: withImage('[endpoint]\nurl=http://example.com/a;b\n'), mentions: ['[endpoint] url', '/a;b'] },
    { name: 'a bad mem_limit suffix', text: '[cloud:docker]\nimage=app\nmem_limit=12q\n', mentions: ['[cloud:docker] mem_limit', '"12q"', 'k, m or g'] },
    { name: 'a fractional mem_limit', text: '[cloud:docker]\nimage=app\nmem_limit=1.5g\n', mentions: ['[cloud:docker] mem_limit', 'not a whole number'] },
    { name: 'a negative mem_limit', text: '[cloud:docker]\nimage=app\nmem_limit=-1m\n', mentions: ['[cloud:docker] mem_limit', 'negative'] },
    { name: 'a mem_limit below Docker’s minimum', text: '[cloud:docker]\nimage=app\nmem_limit=4m\n', mentions: ['[cloud:docker] mem_limit', 'minimum'] },
    { name: 'an environment item without =', text: '[cloud:docker]\nimage=app\nenvironment=A=1,B\n', mentions: ['[cloud:docker] environment', '"B"', 'KEY=value'] },
    { name: 'an environment name starting with a digit', text: '[cloud:docker]\nimage=app\nenvironment=1A=x\n', mentions: ['[cloud:docker] environment', '1A'] },
    { name: 'an environment name set twice', text: '[cloud:docker]\nimage=app\nenvironment=A=1,A=2\n', mentions: ['[cloud:docker] environment', 'A twice'] },
    { name: 'an environment with a stray comma', text: '[cloud:docker]\nimage=app\nenvironment=A=1,\n', mentions: ['[cloud:docker] environment', 'empty item'] },
    { name: 'an unsupported cloud', text: withImage('[endpoint]\ncloud=osapi\n'), mentions: ['[endpoint] cloud', '"osapi"', '"docker"'] },
    { name: 'an unsupported load balancer', text: withImage('[endpoint]\nloadbalancer=haproxy\n'), mentions: ['[endpoint] loadbalancer', '"nginx" or "none"'] },
    { name: 'a bad boolean', text: withImage('[loadbalancer:nginx]\nssl=maybe\n'), mentions: ['[loadbalancer:nginx] ssl', '"maybe"', 'true or false'] },
    { name: 'a static instance without a port', text: withImage('[endpoint]\nstatic_instances=10.0.0.5\n'), mentions: ['[endpoint] static_instances', '10.0.0.5'] },
    { name: 'a static instance listed twice', text: withImage('[endpoint]\nstatic_instances=a:1,a:1\n'), mentions: ['[endpoint] static_instances', 'twice'] },
    { name: 'a bad dns entry', text: '[cloud:docker]\nimage=app\ndns=8.8.8.8,not a host\n', mentions: ['[cloud:docker] dns', 'not a host'] },
    { name: 'a bad container hostname', text: '[cloud:docker]\nimage=app\nhostname=-bad-\n', mentions: ['[cloud:docker] hostname', '-bad-'] },
    { name: 'a health_path without /', text: withImage('[endpoint]\nhealth_path=healthz\n'), mentions: ['[endpoint] health_path', 'healthz'] },
    { name: 'a relative ssl_certificate', text: withImage('[loadbalancer:nginx]\nssl_certificate=cert.pem\n'), mentions: ['[loadbalancer:nginx] ssl_certificate', 'absolute'] },
    { name: 'a redirect that is no URL', text: withImage('[loadbalancer:nginx]\nredirect=/elsewhere\n'), mentions: ['[loadbalancer:nginx] redirect', '/elsewhere'] },
    { name: 'a redirect that would inject nginx config', text: withImage('[loadbalancer:nginx]\nredirect=http://x/;deny all\n'), mentions: ['[loadbalancer:nginx] redirect'] },
    { name: 'a missing image', text: '[endpoint]\nport=5000\n', mentions: ['[cloud:docker] image', 'required'] },
    { name: 'an empty image', text: '[cloud:docker]\nimage=\n', mentions: ['[cloud:docker] image', 'required'] },
    { name: 'an image with spaces', text: '[cloud:docker]\nimage=my image\n', mentions: ['[cloud:docker] image', '"my image"'] },
    { name: 'a bad user', text: '[cloud:docker]\nimage=app\nuser=root wheel\n', mentions: ['[cloud:docker] user'] },
  ];
  for (const c of cases) {
    it(`should refuse ${c.name}`, () => {
      expectBadInput(() => parseEndpointConfig(c.text), c.mentions);
    });
  }

  it('should put section, key, value and allowed range in the error details', () => {
    const error = expectBadInput(() => parseEndpointConfig(`${MINIMAL}[endpoint]\nport=70000\n`), []);
    assert.equal(error.message, 'line 4: [endpoint] port: "70000" is out of range; allowed: a whole number from 1 to 65535');
    assert.deepEqual(error.details, { section: 'endpoint', key: 'port', value: '70000', allowed: 'a whole number from 1 to 65535', line: 4 });
  });

  it("should keep the rule parser's details and add the section and key", () => {
    const error = expectBadInput(() => parseEndpointConfig(`${MINIMAL}[scaling]\nrules=rate <\n`), []);
    assert.equal(error.details.section, 'scaling');
    assert.equal(error.details.key, 'rules');
    assert.equal(error.details.rule, 'rate <');
  });
});

describe('parseEndpointUrl', () => {
  const cases: Array<[string, ReturnType<typeof parseEndpointUrl>]> = [
    ['http://', { scheme: 'http', host: '', port: 80, path: '/' }],
    ['https://', { scheme: 'https', host: '', port: 443, path: '/' }],
    ['http://:8080', { scheme: 'http', host: '', port: 8080, path: '/' }],
    ['http:///api', { scheme: 'http', host: '', port: 80, path: '/api' }],
    ['http://Example.COM', { scheme: 'http', host: 'example.com', port: 80, path: '/' }],
    ['HTTPS://example.com:8443/v1/', { scheme: 'https', host: 'example.com', port: 8443, path: '/v1/' }],
    ['http://10.0.0.1:81/x', { scheme: 'http', host: '10.0.0.1', port: 81, path: '/x' }],
    ['http://[::1]:8080/', { scheme: 'http', host: '::1', port: 8080, path: '/' }],
    ['http://*.example.com', { scheme: 'http', host: '*.example.com', port: 80, path: '/' }],
    ['http://_', { scheme: 'http', host: '_', port: 80, path: '/' }],
  ];
  for (const [url, expected] of cases) {
    it(`should read ${url}`, () => assert.deepEqual(parseEndpointUrl(url), expected));
  }

  const bad = ['', 'http:/', 'tcp://x', 'http://a b', 'http://x:y', 'http://x:70000', 'http://[::1', 'http://[nothex]/', 'http://x/a b', 'http://x/a"b', 'http://x/{y}'];
  for (const url of bad) {
    it(`should refuse ${JSON.stringify(url)}, naming [endpoint] url`, () => {
      expectBadInput(() => parseEndpointUrl(url), ['[endpoint] url']);
    });
  }
});

describe('renderEndpointConfig', () => {
  it('should write every section and key in the documented order', () => {
    const text = renderEndpointConfig(parseEndpointConfig(DESIGN_EXAMPLE));
    assert.equal(
      text,
      `[endpoint]
url=http://
cloud=docker
loadbalancer=nginx
port=5000
weight=1
static_instances=
health_path=
decommissioned_timeout=60
unregistered_timeout=120
error_marks=3

[scaling]
min_instances=1
max_instances=5
rules=20<=rate<=50,100<=response<800
ramp_limit=5
hold_queue=100
burst_reaction=true
hold_timeout=30

[cloud:docker]
image=eb2b727f547d
command=/usr/local/bin/runapp
slots=10
user=
environment=KEY=value,OTHER=value
mem_limit=0
dns=
hostname=

[loadbalancer:nginx]
sticky_sessions=false
keepalive=0
keepalive_timeout=4
ssl=false
ssl_certificate=
ssl_key=
redirect=
`,
    );
  });

  it('should list ENDPOINT_SECTIONS and ENDPOINT_OPTIONS in rendering order', () => {
    assert.deepEqual(ENDPOINT_SECTIONS, ['endpoint', 'scaling', 'cloud:docker', 'loadbalancer:nginx']);
    const rendered = renderEndpointConfig(parseEndpointConfig(MINIMAL))
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.slice(0, l.indexOf('=')));
    assert.deepEqual(rendered, ENDPOINT_OPTIONS.map((o) => o.key));
  });

  const memory: Array<[string, string]> = [
    ['0', '0'],
    ['8388608', '8m'],
    ['6291457', '6291457'],
    ['10240k', '10m'],
    ['1536m', '1536m'],
    ['2048M', '2g'],
  ];
  for (const [written, canonical] of memory) {
    it(`should write mem_limit=${written} back as ${canonical}`, () => {
      const c = parseEndpointConfig(`[cloud:docker]\nimage=app\nmem_limit=${written}\n`);
      assert.equal(getEndpointOption(c, 'cloud:docker', 'mem_limit'), canonical);
    });
  }

  it('should write booleans as true/false whatever spelling was read', () => {
    const c = parseEndpointConfig(`${MINIMAL}[loadbalancer:nginx]\nssl=on\nsticky_sessions=No\n`);
    assert.match(renderEndpointConfig(c), /\nsticky_sessions=false\nkeepalive=0\nkeepalive_timeout=4\nssl=true\n/);
  });
});

describe('round trips', () => {
  const texts: Array<[string, string]> = [
    ['the DESIGN.md example', DESIGN_EXAMPLE],
    ['the seed example', SEED_EXAMPLE],
    ['a minimal file', MINIMAL],
    ['a file setting every key', FULL],
  ];
  for (const [name, text] of texts) {
    it(`should keep ${name}: parse(render(parse(t))) equals parse(t), and rendering is stable`, () => {
      const parsed = parseEndpointConfig(text);
      const rendered = renderEndpointConfig(parsed);
      assert.deepEqual(parseEndpointConfig(rendered), parsed);
      assert.equal(renderEndpointConfig(parseEndpointConfig(rendered)), rendered);
    });
  }

  it('should round-trip any valid configuration (property)', () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
    const host = fc.oneof(fc.ipV4(), fc.ipV6().map((h) => `[${h}]`), fc.domain());
    const arbitrary = fc
      .record({
        url: fc.oneof(fc.constant('http://'), fc.tuple(fc.constantFrom('http', 'https'), fc.domain(), fc.integer({ min: 1, max: 65535 }), word).map(([s, h, p, w]) => `${s}://${h}:${p}/${w}`)),
        loadbalancer: fc.constantFrom<'nginx' | 'none'>('nginx', 'none'),
        port: fc.integer({ min: 1, max: 65535 }),
        staticInstances: fc.uniqueArray(fc.tuple(host, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`), { maxLength: 3 }),
        min: fc.integer({ min: 0, max: 50 }),
        extra: fc.integer({ min: 0, max: 50 }),
        rules: fc.constantFrom('', '0 < rate < 1', '20<=rate<=50,100<=response<800', '2 <= instances'),
        image: word,
        command: fc.stringMatching(/^[a-z/ "=-]{0,20}$/).map((s) => s.trim()),
        env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), fc.stringMatching(/^[a-z0-9=:/.]{0,8}$/), { maxKeys: 4, noNullPrototype: true }),
        memLimit: fc.oneof(fc.constant(0), fc.integer({ min: 6, max: 4096 }).map((m) => m * 1024 * 1024), fc.integer({ min: 6291456, max: 2 ** 40 })),
        dns: fc.array(fc.oneof(fc.ipV4(), fc.domain()), { maxLength: 3 }),
        flags: fc.tuple(fc.boolean(), fc.boolean()),
        keepalive: fc.integer({ min: 0, max: 1000 }),
      })
      .map((r): EndpointConfig => {
        const c = defaultEndpointConfig();
        c.endpoint.url = r.url;
        c.endpoint.loadbalancer = r.loadbalancer;
        c.endpoint.port = r.port;
        c.endpoint.staticInstances = r.staticInstances;
        c.scaling.minInstances = r.min;
        c.scaling.maxInstances = r.min + r.extra;
        c.scaling.rules = r.rules;
        c.docker.image = r.image;
        c.docker.command = r.command;
        c.docker.environment = r.env;
        c.docker.memLimit = r.memLimit;
        c.docker.dns = r.dns;
        [c.nginx.ssl, c.nginx.stickySessions] = r.flags;
        c.nginx.keepalive = r.keepalive;
        return c;
      });
    fc.assert(
      fc.property(arbitrary, (config) => {
        const rendered = renderEndpointConfig(config);
        const parsed = parseEndpointConfig(rendered);
        assert.deepEqual(parsed, config);
        assert.equal(renderEndpointConfig(parsed), rendered);
        assert.deepEqual(validateEndpointConfig(config), config);
      }),
      { numRuns: 300 },
    );
  });
});

describe('getEndpointOption', () => {
  const config = parseEndpointConfig(FULL);
  const cases: Array<[string, string, string]> = [
    ['endpoint', 'url', 'https://api.example.com:8443/v1'],
    ['endpoint', 'port', '8080'],
    ['endpoint', 'static_instances', '10.0.0.5:8080,backup.local:80,[::1]:9000'],
    ['scaling', 'rules', '0 < rate < 1, 2 <= instances'],
    ['scaling', 'max_instances', '20'],
    ['cloud:docker', 'environment', 'A=1,B_2=x=y,EMPTY='],
    ['cloud:docker', 'mem_limit', '1536m'],
    ['cloud:docker', 'dns', '8.8.8.8,2001:4860:4860::8888,dns.local'],
    ['loadbalancer:nginx', 'sticky_sessions', 'true'],
    ['loadbalancer:nginx', 'redirect', 'https://status.example.com/down'],
  ];
  for (const [section, key, expected] of cases) {
    it(`should give [${section}] ${key} as ${JSON.stringify(expected)}`, () => assert.equal(getEndpointOption(config, section, key), expected));
  }

  it('should give empty values as the empty string', () => {
    assert.equal(getEndpointOption(parseEndpointConfig(MINIMAL), 'cloud:docker', 'user'), '');
  });

  it('should refuse an unknown section, naming it and the allowed ones', () => {
    expectBadInput(() => getEndpointOption(config, 'cloud:osapi', 'image'), ['[cloud:osapi]', '[cloud:docker]']);
  });

  it('should refuse an unknown key, naming section, key and the allowed keys', () => {
    expectBadInput(() => getEndpointOption(config, 'scaling', 'rule'), ['[scaling] rule', 'rules']);
  });
});

describe('setEndpointOption', () => {
  const base = parseEndpointConfig(SEED_EXAMPLE);

  it("should set the seed walkthrough's rules exactly as written, and get them back", () => {
    const next = setEndpointOption(base, 'scaling', 'rules', '0 < rate < 1');
    assert.equal(next.scaling.rules, '0 < rate < 1');
    assert.equal(getEndpointOption(next, 'scaling', 'rules'), '0 < rate < 1');
    assert.match(renderEndpointConfig(next), /\nrules=0 < rate < 1\n/);
  });

  const accepted: Array<{ section: string; key: string; value: string; pick: (c: EndpointConfig) => unknown; expected: unknown }> = [
    { section: 'scaling', key: 'max_instances', value: '10', pick: (c) => c.scaling.maxInstances, expected: 10 },
    { section: 'scaling', key: 'rules', value: '  ', pick: (c) => c.scaling.rules, expected: '' },
    { section: 'endpoint', key: 'port', value: ' 8080 ', pick: (c) => c.endpoint.port, expected: 8080 },
    { section: 'endpoint', key: 'url', value: 'http://app.local/', pick: (c) => c.endpoint.url, expected: 'http://app.local/' },
    { section: 'cloud:docker', key: 'mem_limit', value: '1g', pick: (c) => c.docker.memLimit, expected: 1024 ** 3 },
    { section: 'cloud:docker', key: 'environment', value: 'A=1,B=2', pick: (c) => c.docker.environment, expected: { A: '1', B: '2' } },
    { section: 'cloud:docker', key: 'command', value: 'run --flag=#1', pick: (c) => c.docker.command, expected: 'run --flag=#1' },
    { section: 'loadbalancer:nginx', key: 'ssl', value: 'yes', pick: (c) => c.nginx.ssl, expected: true },
  ];
  for (const c of accepted) {
    it(`should set [${c.section}] ${c.key}=${JSON.stringify(c.value)}`, () => {
      const next = setEndpointOption(base, c.section, c.key, c.value);
      assert.deepEqual(c.pick(next), c.expected);
      assert.deepEqual(parseEndpointConfig(renderEndpointConfig(next)), next);
    });
  }

  const refused: Array<{ name: string; section: string; key: string; value: string; mentions: string[] }> = [
    { name: 'a bad rule', section: 'scaling', key: 'rules', value: 'rate == 4', mentions: ['[scaling] rules', 'rate == 4'] },
    { name: 'a rule missing its bound', section: 'scaling', key: 'rules', value: 'rate <', mentions: ['[scaling] rules', 'rate <'] },
    { name: 'max below min', section: 'scaling', key: 'max_instances', value: '0', mentions: ['min_instances', 'max_instances'] },
    { name: 'min above max', section: 'scaling', key: 'min_instances', value: '6', mentions: ['[scaling] min_instances (6)', 'max_instances (5)'] },
    { name: 'a non-number', section: 'endpoint', key: 'port', value: 'http', mentions: ['[endpoint] port', '"http"'] },
    { name: 'an empty image', section: 'cloud:docker', key: 'image', value: '', mentions: ['[cloud:docker] image', 'required'] },
    { name: 'a value holding a line break', section: 'cloud:docker', key: 'command', value: 'a\nb', mentions: ['[cloud:docker] command', 'one INI line'] },
    { name: 'a value holding " #"', section: 'cloud:docker', key: 'command', value: 'run # now', mentions: ['[cloud:docker] command', '" #"'] },
    { name: 'an unknown key', section: 'cloud:docker', key: 'memory', value: '1g', mentions: ['[cloud:docker] memory', 'mem_limit'] },
    { name: 'an unknown section', section: 'docker', key: 'image', value: 'x', mentions: ['[docker]'] },
  ];
  for (const c of refused) {
    it(`should refuse ${c.name} and leave the configuration as it was`, () => {
      const before = structuredClone(base);
      expectBadInput(() => setEndpointOption(base, c.section, c.key, c.value), c.mentions);
      assert.deepEqual(base, before);
    });
  }

  it('should never mutate its input, even on success', () => {
    const before = structuredClone(base);
    const next = setEndpointOption(base, 'cloud:docker', 'dns', '1.1.1.1');
    next.docker.dns.push('8.8.8.8');
    next.docker.environment.X = 'y';
    assert.deepEqual(base, before);
  });
});

describe('validateEndpointConfig', () => {
  it('should return a fresh copy of a valid configuration', () => {
    const config = parseEndpointConfig(FULL);
    const copy = validateEndpointConfig(config);
    assert.deepEqual(copy, config);
    assert.notEqual(copy.docker.dns, config.docker.dns);
  });

  const broken: Array<{ name: string; mutate: (c: EndpointConfig) => void; mentions: string[] }> = [
    { name: 'an out-of-range port', mutate: (c) => (c.endpoint.port = 0), mentions: ['[endpoint] port', '"0"'] },
    { name: 'a fractional slot count', mutate: (c) => (c.docker.slots = 1.5), mentions: ['[cloud:docker] slots', '1.5'] },
    { name: 'a string where a list belongs', mutate: (c) => ((c.docker as unknown as { dns: unknown }).dns = 5), mentions: ['[cloud:docker] dns', 'wrong type'] },
    { name: 'a command with a line break', mutate: (c) => (c.docker.command = 'a\nb'), mentions: ['[cloud:docker] command'] },
    { name: 'an unknown cloud', mutate: (c) => ((c.endpoint as unknown as { cloud: string }).cloud = 'ec2'), mentions: ['[endpoint] cloud', '"ec2"'] },
    { name: 'min above max', mutate: (c) => (c.scaling.minInstances = 9), mentions: ['min_instances', 'max_instances'] },
  ];
  for (const c of broken) {
    it(`should refuse ${c.name}`, () => {
      const config = parseEndpointConfig(MINIMAL);
      c.mutate(config);
      expectBadInput(() => validateEndpointConfig(config), c.mentions);
    });
  }
});
