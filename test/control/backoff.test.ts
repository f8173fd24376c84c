// The controller's launch back-off: the delay as a table, and how failures of one batch count once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, LaunchBackoff } from '../../src/control/backoff.js';

describe('backoffDelay', () => {
  const options = { baseMs: 1000, maxMs: 60_000 };
  for (const [failures, delay] of [
    [0, 0],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [7, 60_000],
    [500, 60_000],
  ] as const) {
    it(`should wait ${delay} ms after ${failures} failures`, () => {
      assert.equal(backoffDelay(failures, options), delay);
    });
  }
});

describe('LaunchBackoff', () => {
  const options = { baseMs: 1000, maxMs: 60_000 };

  it('should defer launches until the delay passes, doubling it with each failure after one', () => {
    const backoff = new LaunchBackoff(options);
    assert.equal(backoff.deferredUntil('web', 0), null);
    assert.equal(backoff.fail('web', 0), 1000);
    assert.equal(backoff.deferredUntil('web', 999), 1000);
    assert.equal(backoff.deferredUntil('web', 1000), null);
    assert.equal(backoff.fail('web', 1000), 2000);
    assert.equal(backoff.deferredUntil('web', 2500), 3000);
    assert.equal(backoff.deferredUntil('api', 2500), null, 'other endpoints are not held back');
  });

  it('should count the failures of one batch once (a back-off already runs)', () => {
    const backoff = new LaunchBackoff(options);
    assert.equal(backoff.fail('web', 0), 1000);
    assert.equal(backoff.fail('web', 10), null);
    assert.equal(backoff.deferredUntil('web', 10), 1000);
  });

  it('should start over once an instance became ready', () => {
    const backoff = new LaunchBackoff(options);
    backoff.fail('web', 0);
    backoff.fail('web', 1000);
    backoff.clear('web');
    assert.equal(backoff.deferredUntil('web', 1001), null);
    assert.equal(backoff.fail('web', 1001), 1000);
  });
});
