// Traffic counting as tables (pure code): balancer log lines, per-backend totals, /proc/net/tcp connection counts and the endpoint sample they make.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointConfig } from '../../src/config/index.js';
import { LogAccumulator } from '../../src/metrics/accumulator.js';
import { countEstablished, decodeProcAddress } from '../../src/metrics/connections.js';
import { parseLogLine, type BalancerLogLine } from '../../src/metrics/log-line.js';
import { endpointSample } from '../../src/metrics/sampler.js';
import { endpointBackends, type EndpointView } from '../../src/endpoints/backends.js';
import { staticBackendsConf } from '../support/configs.js';

describe('parseLogLine', () => {
  const cases: { name: string; line: string; expected: BalancerLogLine | null }[] = [
    {
      name: 'a syslog datagram with one upstream',
      line: '<190>Nov 25 12:00:00 reactor: reactor1|web|200|612|0.004|127.0.0.1:32768|200|0.003',
      expected: { endpoints: ['web'], status: 200, bytes: 612, requestTime: 0.004, attempts: [{ address: '127.0.0.1:32768', status: 200, responseTime: 0.003 }] },
    },
    {
      name: 'retries and an internal redirect',
      line: 'reactor1|a,b|200|10|0.010|127.0.0.1:1, 127.0.0.1:2 : 127.0.0.1:3|502, 504 : 200|0.000, 0.005 : 0.002\n',
      expected: {
        endpoints: ['a', 'b'],
        status: 200,
        bytes: 10,
        requestTime: 0.01,
        attempts: [
          { address: '127.0.0.1:1', status: 502, responseTime: 0 },
          { address: '127.0.0.1:2', status: 504, responseTime: 0.005 },
          { address: '127.0.0.1:3', status: 200, responseTime: 0.002 },
        ],
      },
    },
    {
      name: 'no upstream (redirect or 502 with no instance)',
      line: 'reactor1|web|301|162|0.000|-|-|-',
      expected: { endpoints: ['web'], status: 301, bytes: 162, requestTime: 0, attempts: [] },
    },
    {
      name: 'an attempt with no response time',
      line: 'reactor1|web|502|150|3.001|[::1]:5000|502|-',
      expected: { endpoints: ['web'], status: 502, bytes: 150, requestTime: 3.001, attempts: [{ address: '[::1]:5000', status: 502, responseTime: null }] },
    },
    { name: 'outside any endpoint', line: 'reactor1||400|0|0.000|-|-|-', expected: { endpoints: [], status: 400, bytes: 0, requestTime: 0, attempts: [] } },
    { name: 'another format', line: '<190>Nov 25 12:00:00 nginx: 127.0.0.1 - - "GET /"', expected: null },
    { name: 'a truncated line', line: 'reactor1|web|200|1', expected: null },
    { name: 'a status that is not a number', line: 'reactor1|web|abc|1|0|-|-|-', expected: null },
  ];
  for (const c of cases) {
    it(`should read ${c.name}`, () => assert.deepEqual(parseLogLine(c.line), c.expected));
  }
});

describe('LogAccumulator', () => {
  it('should count hits, bytes and times on the answering backend, errors on failed attempts, pending with no upstream', () => {
    const acc = new LogAccumulator();
    for (const line of [
      'reactor1|web|200|100|0.004|127.0.0.1:1|200|0.004',
      'reactor1|web|200|300|0.002|127.0.0.1:1|200|0.002',
      'reactor1|web|200|50|0.010|127.0.0.1:1, 127.0.0.1:2|502, 200|0.000, 0.006',
      'reactor1|web|500|10|0.001|127.0.0.1:2|500|0.001',
      'reactor1|web|502|20|0.000|-|-|-',
      'reactor1|web,other|301|20|0.000|-|-|-',
    ]) acc.add(parseLogLine(line)!);
    const totals = acc.take();
    assert.deepEqual(totals.backends.get('127.0.0.1:1'), { hits: 2, bytes: 400, responseMs: 6, timed: 2, errors: 1 });
    const two = totals.backends.get('127.0.0.1:2')!;
    assert.equal(two.hits, 2);
    assert.equal(two.errors, 1);
    assert.ok(Math.abs(two.responseMs - 7) < 1e-9);
    assert.deepEqual([...totals.pending], [['web', 2], ['other', 1]]);
    assert.equal(acc.take().backends.size, 0, 'take starts a new interval');
  });
});

describe('/proc/net/tcp', () => {
  it('should decode IPv4, IPv6 and IPv4-mapped addresses', () => {
    assert.equal(decodeProcAddress('0100007F:1F90'), '127.0.0.1:8080');
    assert.equal(decodeProcAddress('00000000000000000000000001000000:0050'), '[::1]:80');
    assert.equal(decodeProcAddress('0000000000000000FFFF00000100007F:0050'), '127.0.0.1:80');
    assert.equal(decodeProcAddress('zz'), null);
  });

  it('should count ESTABLISHED sockets by remote address only', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:9C40 0100007F:8000 01 00000000:00000000 00:00000000 00000000     0        0 1',
      '   1: 0100007F:9C41 0100007F:8000 01 00000000:00000000 00:00000000 00000000     0        0 2',
      '   2: 0100007F:9C42 0100007F:8000 06 00000000:00000000 00:00000000 00000000     0        0 3',
      '   3: 0100007F:8000 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4',
      '   4: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5',
    ].join('\n');
    const counts = countEstablished([tcp]);
    assert.equal(counts.get('127.0.0.1:32768'), 2);
    assert.equal(counts.get('127.0.0.1:40000'), 1);
    assert.equal(counts.get('0.0.0.0:0'), undefined);
  });
});

describe('endpointSample', () => {
  const view = (state: 'RUNNING' | 'STOPPED', backends: string[], loadbalancer = 'nginx'): EndpointView => {
    const config = parseEndpointConfig(staticBackendsConf('http://:81/', backends).replace('loadbalancer=nginx', `loadbalancer=${loadbalancer}`));
    const record = { name: 'web', state, configText: '', version: 1, createdAt: new Date(), updatedAt: new Date() };
    return { record, config, backends: endpointBackends(record, config, []) };
  };
  const totals = (entries: [string, { hits: number; bytes: number; responseMs: number; timed: number; errors: number }][], pending = 0) => ({
    backends: new Map(entries),
    pending: new Map(pending ? [['web', pending]] : []),
    lines: 0,
  });

  it('should give per-instance averages over the instances in rotation (10 s, 300 and 360 requests → rate 33)', () => {
    const sample = endpointSample({
      view: view('RUNNING', ['127.0.0.1:1', '127.0.0.1:2']),
      totals: totals([
        ['127.0.0.1:1', { hits: 300, bytes: 3000, responseMs: 600, timed: 300, errors: 0 }],
        ['127.0.0.1:2', { hits: 360, bytes: 4920, responseMs: 1440, timed: 360, errors: 10 }],
      ]),
      active: new Map([['127.0.0.1:1', 4], ['127.0.0.1:2', 2]]),
      custom: [],
      seconds: 10,
    });
    assert.equal(sample.instances, 2);
    assert.deepEqual(sample.metrics, { active: 3, rate: 33, bytes: 396, errors: 0.5, response: 3, pending: 0 });
  });

  it('should leave an idle instance out of the response mean, not count it as 0 ms', () => {
    const sample = endpointSample({
      view: view('RUNNING', ['127.0.0.1:1', '127.0.0.1:2']),
      totals: totals([['127.0.0.1:1', { hits: 10, bytes: 0, responseMs: 50, timed: 10, errors: 0 }]]),
      active: new Map(),
      custom: [],
      seconds: 10,
    });
    assert.equal(sample.metrics.response, 5);
    assert.equal(sample.metrics.rate, 0.5);
  });

  it('should weight custom metrics of instances and of the endpoint; STOPPED has no instances but keeps pending', () => {
    const at = new Date();
    const custom = [
      { endpoint: 'web', instance: '', metrics: { queue: [4, 0] as [number, number] }, updatedAt: at },
      { endpoint: 'web', instance: 'static:127.0.0.1:1', metrics: { queue: [1, 10] as [number, number] }, updatedAt: at },
      { endpoint: 'web', instance: 'static:127.0.0.1:2', metrics: { queue: [3, 50] as [number, number] }, updatedAt: at },
    ];
    const running = endpointSample({ view: view('RUNNING', ['127.0.0.1:1', '127.0.0.1:2']), totals: totals([]), active: new Map(), custom, seconds: 1 });
    assert.equal(running.metrics.queue, 20);
    const stopped = endpointSample({ view: view('STOPPED', ['127.0.0.1:1']), totals: totals([], 5), active: new Map(), custom, seconds: 1 });
    assert.equal(stopped.instances, 0);
    assert.equal(stopped.metrics.pending, 5);
    assert.equal(stopped.metrics.queue, 0, 'only the endpoint-wide value is left');
    const plain = endpointSample({ view: view('RUNNING', ['127.0.0.1:1'], 'none'), totals: totals([]), active: new Map(), custom: [], seconds: 1 });
    assert.deepEqual(plain, { instances: 1, metrics: {} });
  });
});
