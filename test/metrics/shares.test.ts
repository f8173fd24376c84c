// Adding up the hosts' traffic shares on a real SQLite store: every request counted once, a late share lent and repaid, a quiet host dropped.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoredShares } from '../../src/metrics/shares.js';
import { newId } from '../../src/store/ids.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';

describe('StoredShares', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-shares-'));
  let store: Store;
  let now = Date.UTC(2026, 0, 1);
  before(async () => {
    store = await openStore(`sqlite:${join(dir, 'store.db')}`);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const share = (managerId: string, hits: number, active = 0) =>
    store.traffic.append({ id: newId(), endpoint: 'web', managerId, at: new Date(now), seconds: 1, pending: 0, backends: { 'a:1': { hits, bytes: hits * 10, responseMs: hits, timed: hits, errors: 0, active } } });

  it('should add the shares of every host, count each once, lend a late host its rate for one round and take it back after', async () => {
    const shares = new StoredShares(store, () => now);
    await share('h0', 999); // stored before the first take: history, not counted
    const hits = async () => {
      now += 1000;
      const reading = await shares.take();
      return (reading.totals.backends.get('a:1')?.hits ?? 0) / reading.seconds;
    };
    assert.equal(await hits(), 0);
    await share('h2', 30, 2);
    await share('h3', 10, 1);
    assert.equal(await hits(), 40);
    assert.equal(shares.latest().get('a:1'), 3, 'connections of both hosts');
    await share('h2', 30);
    assert.equal(await hits(), 40, "h3's share is late: its 10/s is lent");
    await share('h2', 30);
    await share('h3', 10);
    await share('h3', 12);
    assert.equal(await hits(), 30 + 12, 'h3 brings two shares and repays the 10 lent');
    await share('h2', 30);
    assert.equal(await hits(), 30 + 11, "h3 late again: lent the rate of its last shares, 22 in 2 s");
    await share('h2', 30);
    assert.equal(await hits(), 30, 'h3 silent for two rounds: quiet, no longer lent');
  });
});
