// Pure parts of the API's safety: the failed-authentication throttle on a manual clock, variable nesting, response size, Host parsing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostOf } from '../../src/server/guard.js';
import { apiLimits, jsonSizeWithin, nestingBeyond } from '../../src/server/limits.js';
import { connectionLimitFor, parseConnectionBudgets } from '../../src/server/connection-budgets.js';
import { AuthThrottle } from '../../src/server/throttle.js';

describe('AuthThrottle', () => {
  it('should let 5 failures pass, then block for a doubling wait up to the maximum, and forget after a success', () => {
    let now = 0;
    const throttle = new AuthThrottle({ freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 4000, forgetAfterMs: 60_000, maxClients: 2 }, () => now);
    const waits = Array.from({ length: 9 }, () => throttle.fail('a').blockedMs);
    assert.deepEqual(waits, [0, 0, 0, 0, 0, 1000, 2000, 4000, 4000]);
    assert.equal(throttle.blockedFor('a'), 4000);
    now += 4000;
    assert.equal(throttle.blockedFor('a'), 0);
    throttle.succeed('a');
    assert.equal(throttle.fail('a').failures, 1);
  });

  it('should forget a client after a quiet period, and track a bounded number of clients', () => {
    let now = 0;
    const throttle = new AuthThrottle({ freeFailures: 0, baseDelayMs: 1000, maxDelayMs: 1000, forgetAfterMs: 10_000, maxClients: 2 }, () => now);
    throttle.fail('a');
    throttle.fail('b');
    throttle.fail('c');
    assert.equal(throttle.blockedFor('a'), 0, 'the oldest was dropped');
    assert.equal(throttle.blockedFor('c'), 1000);
    now += 20_000;
    assert.equal(throttle.fail('c').failures, 1, 'forgotten after the quiet period');
  });
});

describe('request limits', () => {
  const cases: { name: string; value: unknown; max: number; beyond: string | null }[] = [
    { name: 'a flat object', value: { a: 1, b: 'x' }, max: 2, beyond: null },
    { name: 'exactly the limit', value: [[1]], max: 2, beyond: null },
    { name: 'one level too deep', value: { a: [[1]] }, max: 2, beyond: 'a[0]' },
    { name: '100,000 levels, measured without recursion', value: JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), max: 32, beyond: `${'[0]'.repeat(32)}` },
  ];
  for (const c of cases) {
    it(`should measure nesting: ${c.name}`, () => assert.equal(nestingBeyond(c.value, c.max), c.beyond));
  }

  it('should size JSON without building it, and stop as soon as it is over', () => {
    const value = { a: 'x'.repeat(100), b: [1, 2, 3], c: null };
    const size = jsonSizeWithin(value, 10_000)!;
    assert.ok(size >= JSON.stringify(value).length, `${size} >= ${JSON.stringify(value).length}`);
    assert.equal(jsonSizeWithin(value, 50), null);
    const shared = 'y'.repeat(1_000_000);
    assert.equal(jsonSizeWithin(Array.from({ length: 10_000 }, () => shared), 16 * 1024 * 1024), null, '10 GB of shared strings is refused, not built');
  });

  it('should refuse limits that are not whole numbers of at least 1, naming the limit', () => {
    assert.equal(apiLimits({ maxAliases: 3 }).maxAliases, 3);
    assert.throws(() => apiLimits({ maxPage: 0 }), /maxPage must be a whole number of at least 1/);
  });

  it('should read the host of a Host header', () => {
    assert.deepEqual(['127.0.0.1:8080', 'LOCALHOST', '[::1]:80', 'localhost.', 'reactor.lan:443', '::1'].map(hostOf), ['127.0.0.1', 'localhost', '::1', 'localhost', 'reactor.lan', '::1']);
  });
});

describe('connection budgets per address', () => {
  const budgets = parseConnectionBudgets(['10.0.0.0/8=100', '10.0.0.5=500', '::1=unlimited', 'fd00::/8=7']);
  const cases: { address: string; limit: number | null; range: string | null }[] = [
    { address: '10.1.2.3', limit: 100, range: '10.0.0.0/8' },
    { address: '10.0.0.5', limit: 500, range: '10.0.0.5' },
    { address: '::1', limit: null, range: '::1' },
    { address: 'fd00::42', limit: 7, range: 'fd00::/8' },
    { address: '192.168.1.9', limit: 32, range: null },
    { address: 'unknown', limit: 32, range: null },
  ];
  for (const c of cases) {
    it(`should give ${c.address} ${c.limit ?? 'no limit'} (${c.range ?? 'the server-wide --max-connections'})`, () => {
      assert.deepEqual(connectionLimitFor(c.address, budgets, 32), { limit: c.limit, range: c.range });
    });
  }
});
