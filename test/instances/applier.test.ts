// The reconciler as plan applier behind the Agent interface: in-memory agents (as a network transport would be), an injected clock, a real SQLite store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { MemoryAgent } from '../../src/agents/memory.js';
import { LaunchError, type Agent } from '../../src/agents/types.js';
import { EventBus } from '../../src/events/bus.js';
import { EventRecorder } from '../../src/events/recorder.js';
import { Reconciler } from '../../src/instances/reconciler.js';
import { InstanceService } from '../../src/instances/service.js';
import { ManagerService } from '../../src/managers/service.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { unbalancedConf as conf } from '../support/configs.js';


describe('Reconciler with in-memory agents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-applier-'));
  let store: Store;
  let reconciler: Reconciler;
  let now: number;
  let agents: Map<string, MemoryAgent>;
  let instances: InstanceService;
  let n = 0;

  async function setup(managers: { id: string; slots: number }[]) {
    store = await openStore(`sqlite:${join(dir, `store-${n++}.db`)}`);
    const bus = new EventBus();
    const clock = () => new Date(now);
    const events = new EventRecorder(store, bus, clock);
    instances = new InstanceService(store, bus, events, clock);
    agents = new Map(managers.map((m) => [m.id, new MemoryAgent(m.id)]));
    for (const m of managers) {
      await store.managers.upsert({
        id: m.id,
        name: m.id,
        address: '10.0.0.1',
        slots: m.slots,
        usedSlots: 0,
        clouds: ['docker'],
        loadbalancers: [],
        problems: [],
        lastSeen: clock(),
        createdAt: clock(),
      });
    }
    reconciler = new Reconciler({
      store,
      bus,
      events,
      instances,
      agents: agents as Map<string, Agent>,
      apiUrl: 'http://api/graphql',
      clock,
      // Long enough that no real timer fires during a test: time moves only when the test says so.
      backoff: { baseMs: 60_000, maxMs: 600_000 },
      readiness: async () => true,
      readinessPollMs: 1,
    });
  }

  async function endpoint(name: string, config: string, state: 'RUNNING' | 'STOPPED' | 'PAUSED' = 'RUNNING') {
    await store.endpoints.create({ name, state, configText: config });
  }

  beforeEach(() => {
    now = Date.UTC(2026, 0, 1);
  });
  afterEach(async () => {
    await reconciler.stop();
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('should spread instances over managers by relative slot use and queue the rest', async () => {
    await setup([
      { id: 'small', slots: 10 },
      { id: 'large', slots: 30 },
    ]);
    await endpoint('web', conf('web', { min: 5, slots: 10 }));
    await reconciler.reconcile('web');
    const list = await store.instances.list({ endpoint: 'web' });
    const on = (id: string) => list.filter((i) => i.managerId === id).length;
    assert.equal(on('large'), 3);
    assert.equal(on('small'), 1);
    const pending = list.filter((i) => i.status === 'PENDING');
    assert.equal(pending.length, 1);
    assert.match(pending[0]!.reason!, /small: needs 10 slots, 0 of 10 free/);
    assert.match(pending[0]!.reason!, /large: needs 10 slots, 0 of 30 free/);
    assert.equal(agents.get('large')!.containers.size, 3);
    await reconciler.heartbeat();
    assert.equal((await store.managers.get('large'))!.usedSlots, 30);
  });

  it('should keep an operator\'s slots set while a heartbeat was between its read and its write', async () => {
    await setup([{ id: 'm', slots: 10 }]);
    await endpoint('web', conf('web', { min: 2, slots: 1 }));
    await reconciler.reconcile('web');
    const managers = new ManagerService(store);
    const get = store.managers.get.bind(store.managers);
    let raced = false;
    store.managers.get = async (id) => {
      const read = await get(id);
      if (!raced) {
        raced = true;
        await managers.setOption('m', 'slots', '40'); // lands after the heartbeat read the record
      }
      return read;
    };
    await reconciler.heartbeat();
    assert.ok(raced, 'the heartbeat read the manager record');
    const manager = (await get('m'))!;
    assert.equal(manager.slots, 40, 'the operator\'s setting survived the heartbeat');
    assert.equal(manager.usedSlots, 2);
  });

  it('should back off launches after a failure, on the injected clock', async () => {
    await setup([{ id: 'm', slots: 100 }]);
    const agent = agents.get('m')!;
    agent.failWith = new LaunchError('ENGINE', 'engine says no');
    await endpoint('web', conf('web', { min: 1 }));

    await reconciler.reconcile('web');
    assert.equal(agent.launches, 1);
    const [failed] = await store.instances.list({ endpoint: 'web' });
    assert.equal(failed!.status, 'ERROR');
    assert.match(failed!.reason!, /engine says no/);

    now += 59_000; // still inside the first 60 s
    await reconciler.reconcile('web');
    assert.equal(agent.launches, 1, 'no launch during the backoff');
    assert.equal((await store.instances.list({ endpoint: 'web' })).length, 0, 'the failed record is cleaned up meanwhile');

    now += 2_000;
    await reconciler.reconcile('web');
    assert.equal(agent.launches, 2, 'one more attempt once the backoff passed');

    now += 61_000; // the second failure doubled the wait to 120 s
    await reconciler.reconcile('web');
    assert.equal(agent.launches, 2);

    agent.failWith = undefined;
    now += 60_000;
    await reconciler.reconcile('web');
    assert.equal(agent.launches, 3);
    await waitUntil(async () => (await store.instances.list({ endpoint: 'web' }))[0]?.status === 'RUNNING');
  });

  it('should keep an instance pending with the reason when its image is unavailable', async () => {
    await setup([{ id: 'm', slots: 100 }]);
    agents.get('m')!.failWith = new LaunchError('IMAGE_UNAVAILABLE', 'image x is not available: nope', { image: 'x', engine: 'nope' });
    await endpoint('web', conf('web', { min: 2 }));
    await reconciler.reconcile('web');
    const list = await store.instances.list({ endpoint: 'web' });
    assert.deepEqual(list.map((i) => [i.status, i.managerId]), [
      ['PENDING', null],
      ['PENDING', null],
    ]);
    const events = await store.events.list('web');
    assert.equal(events.filter((e) => e.kind === 'IMAGE_UNAVAILABLE').length, 1, 'one event per round, not one per instance');
  });

  it('should drop a STARTING record whose container was never created and remove a container without a record', async () => {
    await setup([{ id: 'm', slots: 100 }]);
    await endpoint('web', conf('web', { min: 1 }));
    // What a kill -9 between "record written" and "container created" leaves:
    const ghost = await instances.create({ endpoint: 'web', slots: 1, status: 'STARTING', managerId: 'm', reason: null }, 'INSTANCE_CREATED', 'test');
    // ...and one between "container removed" and "record deleted", the other way round:
    const agent = agents.get('m')!;
    agent.containers.set('stray', { containerId: 'stray', instanceId: 'nobody', endpoint: 'web', slots: 1, running: true, state: 'running', address: 'x:1' });

    await reconciler.reconcile('web');
    const list = await store.instances.list({ endpoint: 'web' });
    assert.equal(list.length, 1);
    assert.notEqual(list[0]!.id, ghost.id);
    assert.equal(list[0]!.managerId, 'm');
    assert.ok(!agent.containers.has('stray'));
    assert.deepEqual([...agent.containers.values()].map((c) => c.instanceId), [list[0]!.id]);
    const kinds = (await store.events.list('web')).map((e) => e.kind);
    assert.ok(kinds.includes('ORPHAN_REMOVED'));
    assert.ok(kinds.includes('INSTANCE_REMOVED'));
  });

  it('should adopt a container whose id the record never got', async () => {
    await setup([{ id: 'm', slots: 100 }]);
    await endpoint('web', conf('web', { min: 1 }));
    const record = await instances.create({ endpoint: 'web', slots: 1, status: 'STARTING', managerId: 'm', reason: null }, 'INSTANCE_CREATED', 'test');
    const agent = agents.get('m')!;
    agent.containers.set('c-adopt', { containerId: 'c-adopt', instanceId: record.id, endpoint: 'web', slots: 1, running: true, state: 'running', address: '10.0.0.1:1234' });
    await reconciler.reconcile('web');
    const [adopted, ...rest] = await store.instances.list({ endpoint: 'web' });
    assert.equal(rest.length, 0);
    assert.equal(adopted!.id, record.id);
    assert.equal(adopted!.containerId, 'c-adopt');
    assert.equal(adopted!.address, '10.0.0.1:1234');
    assert.equal(agent.launches, 0);
  });

  it('should never place on a manager that has no agent here', async () => {
    await setup([{ id: 'm', slots: 1 }]);
    await store.managers.upsert({ ...(await store.managers.get('m'))!, id: 'remote', name: 'remote', slots: 100 });
    await endpoint('web', conf('web', { min: 2 }));
    await reconciler.reconcile('web');
    const list = await store.instances.list({ endpoint: 'web' });
    assert.deepEqual(list.map((i) => i.managerId).sort(), ['m', null]);
    assert.match(list.find((i) => i.status === 'PENDING')!.reason!, /remote: no agent of this manager is connected/);
  });
});

async function waitUntil(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in 5 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
