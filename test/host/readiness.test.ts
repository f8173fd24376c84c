// Readiness on a host: instances of one endpoint that answer while its lane is busy are marked RUNNING in one turn of the lane, side by side.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { EventBus } from '../../src/events/bus.js';
import { EventRecorder } from '../../src/events/recorder.js';
import { Health } from '../../src/host/health.js';
import { InstanceService } from '../../src/instances/service.js';
import { Lanes } from '../../src/lanes/lanes.js';
import { silentLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/open.js';
import type { InstanceRecord, Store } from '../../src/store/types.js';
import { ManualTime } from '../../src/time/timers.js';
import { waitFor } from '../support/wait.js';

describe('readiness of starting instances', () => {
  let store: Store | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should mark the instances that answered while their lane was busy RUNNING in one turn of it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'reactor-readiness-'));
    store = await openStore(`sqlite:${join(dir, 'store.db')}`);
    const time = new ManualTime();
    const bus = new EventBus();
    const instances = new InstanceService(store, bus, new EventRecorder(store, bus, time.now), time.now);
    const lanes = new Lanes<null>({ run: async () => {}, merge: () => {}, failed: (_key, error) => assert.fail(error as Error) });
    let turns = 0;
    let answers = 0;
    const health = new Health({
      store,
      instances,
      time,
      probe: async () => (answers++, true),
      pollMs: 50,
      exclusive: (endpoint, work) => lanes.exclusive(endpoint, () => (turns++, work())),
      configOf: async () => null,
      log: silentLogger,
    });
    // The lane is busy (a sync launching, say) while three instances answer.
    let release!: () => void;
    const busy = lanes.exclusive('web', () => new Promise<void>((resolve) => (release = resolve)));
    await waitFor(() => release ?? null, { what: 'the busy turn to start' });
    turns = 0;
    const started: InstanceRecord[] = [];
    for (let n = 0; n < 3; n++) {
      const record = await instances.create({ endpoint: 'web', slots: 1, status: 'STARTING', managerId: 'm', reason: null }, 'INSTANCE_CREATED', 'test');
      started.push((await instances.change(record.id, { containerId: `c${n}`, address: `127.255.0.1:${1000 + n}` }, 'INSTANCE_STARTED', 'test'))!);
    }
    for (const record of started) health.watch(record);
    await waitFor(() => (answers === 3 ? true : null), { what: 'the three to answer' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(turns, 0, 'nothing marked while the lane is busy');
    release();
    await busy;
    await health.stop();
    const after = await store.instances.list({ endpoint: 'web' });
    assert.deepEqual(after.map((i) => i.status), ['RUNNING', 'RUNNING', 'RUNNING']);
    assert.equal(turns, 1, 'one turn of the lane for the three');
  });
});
