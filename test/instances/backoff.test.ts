// The launch backoff as a table: how long the next launch waits after failures in a row, doubling up to a cap (the scaling policy is tested in test/control/policy.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../src/instances/policy.js';

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
