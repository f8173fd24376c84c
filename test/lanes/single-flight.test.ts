// SingleFlight (src/lanes/single-flight.ts), the one-sweep-at-a-time bookkeeping of the controller and the host: joining, running beside, settling, rejections.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SingleFlight } from '../../src/lanes/single-flight.js';

describe('SingleFlight', () => {
  /** Work that ends when its `finish` is called. */
  function gate(): { work: () => Promise<void>; finish: () => void; started: () => number } {
    let started = 0;
    let finish = () => {};
    return {
      work: () => {
        started += 1;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      finish: () => finish(),
      started: () => started,
    };
  }

  it('should let a call join the run in progress, and start anew once it is done', async () => {
    const flight = new SingleFlight();
    const g = gate();
    const first = flight.run(g.work);
    assert.equal(flight.run(g.work), first);
    assert.equal(g.started(), 1);
    g.finish();
    await first;
    assert.equal(flight.current, null);
    const second = flight.run(g.work);
    assert.notEqual(second, first);
    assert.equal(g.started(), 2);
    g.finish();
    await second;
  });

  it('should start a run beside one in progress when asked not to join, have later calls join the newest, and wait for both when settling', async () => {
    const flight = new SingleFlight();
    const a = gate();
    const b = gate();
    const first = flight.run(a.work);
    const second = flight.run(b.work, false);
    assert.equal(flight.current, second);
    assert.equal(flight.run(a.work), second);
    let settled = false;
    const all = flight.settled().then(() => (settled = true));
    b.finish();
    await second;
    assert.equal(flight.current, null);
    await Promise.resolve();
    assert.equal(settled, false, 'the first run is still in progress');
    a.finish();
    await all;
    assert.equal(settled, true);
  });

  it('should clear a run that rejects, and pass the rejection to its callers', async () => {
    const flight = new SingleFlight();
    await assert.rejects(flight.run(async () => Promise.reject(new Error('engine gone'))), /engine gone/);
    assert.equal(flight.current, null);
    await flight.settled();
  });
});
