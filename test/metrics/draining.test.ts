// Whether a decommissioned instance is drained in a cluster, on a real SQLite store: only what every host measured after it left their balancers counts, plus this host's open connections.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventBus } from '../../src/events/bus.js';
import { LogAccumulator } from '../../src/metrics/accumulator.js';
import { ConnectionSampler } from '../../src/metrics/connections.js';
import { MetricsSampler } from '../../src/metrics/sampler.js';
import { ShareReporter, StoredShares } from '../../src/metrics/shares.js';
import { newId } from '../../src/store/ids.js';
import { openStore } from '../../src/store/open.js';
import type { InstanceRecord, Store } from '../../src/store/types.js';

const X = '10.0.0.9:8080';
const CONFIG = '[endpoint]\nurl=http://web.test\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=5\n[cloud:docker]\nimage=x\n';

describe('draining in a cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-draining-'));
  let store: Store;
  before(async () => {
    store = await openStore(`sqlite:${join(dir, 'store.db')}`);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("should count a decommissioned backend busy until every host's share of an interval that began after it left them says it is idle", async () => {
    const T = Date.UTC(2026, 0, 1);
    let now = T;
    const live = new Map<string, number>();
    const sampler = new MetricsSampler({
      store, bus: new EventBus(), intervalSeconds: 10, ownTimer: false, clock: () => new Date(now),
      source: new StoredShares(store, () => now), live: async () => live,
    });
    // Host b's clock runs an hour ahead: the times in its shares are not what decides.
    const share = (managerId: string, active: number, skewMs = 0) =>
      store.traffic.append({ id: newId(), endpoint: 'web', managerId, at: new Date(now + skewMs), seconds: 10, pending: 0, backends: { [X]: { hits: 0, bytes: 0, responseMs: 0, timed: 0, errors: 0, active } } });
    await share('b', 0, 3_600_000); // written just before the evaluation that decommissioned X at T: "0 connections"
    const draining = new Map([[X, T]]);
    let open = NaN;
    /** Reads as the drain watch does (every 250 ms) until `ms` after T. */
    const until = async (ms: number) => {
      while (now < T + ms) {
        now += 250;
        open = (await sampler.connectionsNow(draining)).get(X)!;
      }
      return open;
    };
    // b's nginx started a 20 s upload to X just after writing that share, before it dropped X (by T + 4 s).
    await until(6000);
    await share('b', 1, 3_600_000); // b's interval [−4 s, 6 s]: began before X left, does not count
    assert.ok(Number.isNaN(await until(16_000)), 'not known: b has not reported an interval that began after X left it');
    await share('b', 1, 3_600_000); // [6 s, 16 s]: counts
    assert.ok(Number.isNaN(await until(26_000)), 'not before 2 intervals + a margin after X left every balancer (27 s)');
    await share('b', 0.4, 3_600_000); // [16 s, 26 s]: the upload ended at 20 s
    assert.equal(await until(27_250), 0.4, 'busy: b saw a connection in an interval after X left it (a quiet host c adds nothing)');
    await until(36_000);
    await share('b', 0, 3_600_000); // b goes quiet: one all-zero share
    assert.equal(await until(36_500), 0, 'drained');
    live.set(X, 2);
    assert.equal(await until(36_750), 2, "this host's open connections count too");
    live.set(X, 0);
    assert.equal(await until(37_000), 0);
    assert.equal((await sampler.connectionsNow()).get(X) ?? 0, 0, 'without draining addresses: the newest shares, as before');
  });

  it("should list a decommissioned instance's backend in the host's share, with its open connections", async () => {
    await store.endpoints.create({ name: 'up', state: 'RUNNING', configText: CONFIG });
    const record = (id: string, status: InstanceRecord['status'], address: string): InstanceRecord => ({
      id, endpoint: 'up', managerId: 'm', containerId: `c-${id}`, address, status, slots: 1, reason: null,
      decommissionedAt: status === 'DECOMMISSIONED' ? new Date() : null, createdAt: new Date(), updatedAt: new Date(), term: 0,
    });
    await store.instances.upsert(record('a', 'RUNNING', '10.0.0.1:8080'));
    await store.instances.upsert(record('x', 'DECOMMISSIONED', X));
    const reporter = new ShareReporter({
      store, managerId: 'h1', accumulator: new LogAccumulator(), clock: () => new Date(),
      connections: new ConnectionSampler(async () => new Map([[X, 1]])),
    });
    const [share] = await reporter.report();
    assert.deepEqual(Object.keys(share!.backends).sort(), ['10.0.0.1:8080', X]);
    assert.equal(share!.backends[X]!.active, 1, 'still serving an upload: the share says so');
  });
});
