// BatchedAppend: appends of one event-loop turn become one write, in order; writes never overlap; a failed write fails only its batch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchedAppend } from '../../src/store/batched-append.js';

/** A write that records its batches and can be held open until released. */
function recorder() {
  const batches: number[][] = [];
  let running = 0;
  let maxRunning = 0;
  let gate: Promise<void> | undefined;
  let open = () => {};
  let arrived = () => {};
  let waiting: Promise<void> = Promise.resolve();
  let failNext: Error | undefined;
  return {
    batches,
    get maxRunning() {
      return maxRunning;
    },
    /** Holds the next writes at a gate; `waiting` resolves once one of them has reached it. */
    hold() {
      gate = new Promise((resolve) => (open = resolve));
      waiting = new Promise((resolve) => (arrived = resolve));
    },
    get waiting() {
      return waiting;
    },
    release() {
      gate = undefined;
      open();
    },
    failOnce(error: Error) {
      failNext = error;
    },
    write: async (items: readonly number[]) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        if (gate) arrived();
        await gate;
        if (failNext) {
          const error = failNext;
          failNext = undefined;
          throw error;
        }
        batches.push([...items]);
      } finally {
        running--;
      }
    },
  };
}

describe('BatchedAppend', () => {
  it('should store the appends of one turn in one write, in order, and settle each caller after it', async () => {
    const store = recorder();
    const appender = new BatchedAppend(store.write);
    const settled: number[] = [];
    const all = [1, 2, 3, 4].map((n) => appender.append(n).then(() => settled.push(n)));
    assert.deepEqual(store.batches, [], 'nothing is written in the same turn');
    await Promise.all(all);
    assert.deepEqual(store.batches, [[1, 2, 3, 4]]);
    assert.deepEqual(settled, [1, 2, 3, 4]);
  });

  it('should never run two writes at once: appends made during a write form the next batch', async () => {
    const store = recorder();
    const appender = new BatchedAppend(store.write);
    store.hold();
    const first = [appender.append(1), appender.append(2)];
    await store.waiting; // the first write has started and waits at the gate
    const second = [appender.append(3), appender.append(4), appender.append(5)];
    store.release();
    await Promise.all([...first, ...second]);
    assert.deepEqual(store.batches, [[1, 2], [3, 4, 5]]);
    assert.equal(store.maxRunning, 1);
  });

  it('should fail only the batch whose write failed, and go on with the next', async () => {
    const store = recorder();
    const appender = new BatchedAppend(store.write);
    store.failOnce(new Error('disk full'));
    const failed = await Promise.allSettled([appender.append(1), appender.append(2)]);
    assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((failed[0] as PromiseRejectedResult).reason), /disk full/);
    await appender.append(3);
    assert.deepEqual(store.batches, [[3]]);
  });
});
