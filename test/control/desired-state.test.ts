// The controller writes desired state and each host converges its engine: placement by slots, back-off on the injected clock, a missing image, crash leftovers, liveness.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { LaunchError } from '../../src/agents/types.js';
import { livenessCheckMs } from '../../src/control/managers.js';
import { ManagerService } from '../../src/managers/service.js';
import { Roles, roleConf } from '../support/roles.js';

describe('the controller and the hosts, meeting in the store', () => {
  let roles: Roles;
  afterEach(async () => roles?.close());

  it('should spread instances over managers by relative slot use and queue the rest with every manager\'s reason', async () => {
    roles = await Roles.start({ managers: [{ id: 'small', slots: 10 }, { id: 'large', slots: 30 }] });
    await roles.endpoint('web', roleConf('web', { min: 5, slots: 10 }));
    await roles.round('web');
    const list = await roles.store.instances.list({ endpoint: 'web' });
    const on = (id: string) => list.filter((i) => i.managerId === id).length;
    assert.equal(on('large'), 3);
    assert.equal(on('small'), 1);
    const pending = list.filter((i) => i.status === 'PENDING');
    assert.equal(pending.length, 1);
    assert.match(pending[0]!.reason!, /small: needs 10 slots, 0 of 10 free/);
    assert.match(pending[0]!.reason!, /large: needs 10 slots, 0 of 30 free/);
    assert.equal(roles.agents.get('large')!.containers.size, 3, 'the host of large launched its three');
    assert.equal(list.filter((i) => i.status === 'RUNNING').length, 4);
    await roles.hosts.get('large')!.heartbeat();
    assert.equal((await roles.store.managers.get('large'))!.usedSlots, 30);
  });

  it('should keep an operator\'s slots set while a heartbeat was between its read and its write', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 10 }] });
    await roles.endpoint('web', roleConf('web', { min: 2 }));
    await roles.round('web');
    const managers = new ManagerService(roles.store);
    const get = roles.store.managers.get.bind(roles.store.managers);
    let raced = false;
    roles.store.managers.get = async (id) => {
      const read = await get(id);
      if (!raced) {
        raced = true;
        await managers.setOption('m', 'slots', '40'); // lands after the heartbeat read the record
      }
      return read;
    };
    await roles.hosts.get('m')!.heartbeat();
    assert.ok(raced, 'the heartbeat read the manager record');
    const manager = (await get('m'))!;
    assert.equal(manager.slots, 40, 'the operator\'s setting survived the heartbeat');
    assert.equal(manager.usedSlots, 2);
  });

  it('should back off launches after a failure, on the injected clock, with no real timer', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 100 }], controller: { backoff: { baseMs: 60_000, maxMs: 600_000 } } });
    const agent = roles.agents.get('m')!;
    agent.failWith = new LaunchError('ENGINE', 'engine says no');
    await roles.endpoint('web', roleConf('web', { min: 1 }));

    await roles.round('web');
    assert.equal(agent.launches, 1);
    const failed = (await roles.store.events.list('web')).find((e) => e.kind === 'INSTANCE_ERROR');
    assert.match(failed!.message, /engine says no/);
    assert.equal((await roles.store.instances.list({ endpoint: 'web' })).length, 0, 'the failed record is cleaned up meanwhile');

    await roles.time.advance(59_000); // still inside the first 60 s
    await roles.round('web');
    assert.equal(agent.launches, 1, 'no launch during the backoff');

    await roles.time.advance(2_000); // the retry timer fires on the manual clock
    await roles.settle();
    assert.equal(agent.launches, 2, 'one more attempt once the backoff passed');

    await roles.time.advance(61_000); // the second failure doubled the wait to 120 s
    await roles.round('web');
    assert.equal(agent.launches, 2);

    agent.failWith = undefined;
    await roles.time.advance(60_000);
    await roles.settle();
    assert.equal(agent.launches, 3);
    const [instance] = await roles.store.instances.list({ endpoint: 'web' });
    assert.equal(instance?.status, 'RUNNING');
  });

  it('should keep instances pending with the reason when the image is unavailable, told once per attempt', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 100 }] });
    roles.agents.get('m')!.failWith = new LaunchError('IMAGE_UNAVAILABLE', 'image x is not available: nope', { image: 'x', engine: 'nope' });
    await roles.endpoint('web', roleConf('web', { min: 2 }));
    await roles.round('web');
    const list = await roles.store.instances.list({ endpoint: 'web' });
    assert.deepEqual(list.map((i) => [i.status, i.managerId, i.reason]), [
      ['PENDING', null, 'image x is not available: nope'],
      ['PENDING', null, 'image x is not available: nope'],
    ]);
    const events = (await roles.store.events.list('web')).filter((e) => e.kind === 'IMAGE_UNAVAILABLE');
    assert.equal(events.length, 1, 'one event per attempt, not one per instance');
    assert.equal(events[0]!.message, 'image x is not available: nope; next attempt in 1 s');
    assert.deepEqual([events[0]!.data.image, events[0]!.data.retryInMs], ['x', 1000]);
  });

  it('should launch a STARTING record whose container was never created, and remove a container no record owns', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 100 }] });
    await roles.endpoint('web', roleConf('web', { min: 1 }), 'PAUSED');
    // What a kill -9 between "record written" and "container created" leaves (desired state the host has not met yet):
    const term = (await roles.store.leases.get('controller'))!.term;
    const ghost = await roles.instances.create({ endpoint: 'web', slots: 1, status: 'STARTING', managerId: 'm', reason: null, term }, 'INSTANCE_CREATED', 'test');
    // ...and one between "container removed" and "record deleted", the other way round:
    const agent = roles.agents.get('m')!;
    agent.containers.set('stray', { containerId: 'stray', instanceId: 'nobody', endpoint: 'web', slots: 1, running: true, state: 'running', address: '127.255.9.9:1' });

    await roles.hosts.get('m')!.sweep();
    await roles.settle();
    const list = await roles.store.instances.list({ endpoint: 'web' });
    assert.deepEqual(list.map((i) => [i.id, i.status]), [[ghost.id, 'RUNNING']]);
    assert.ok(!agent.containers.has('stray'));
    assert.deepEqual([...agent.containers.values()].map((c) => c.instanceId), [ghost.id]);
    const orphan = (await roles.store.events.list('web')).find((e) => e.kind === 'ORPHAN_REMOVED');
    assert.match(orphan!.message, /removed container stray: no instance of web owns it/);
  });

  it('should adopt a container whose id the record never got', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 100 }] });
    await roles.endpoint('web', roleConf('web', { min: 1 }), 'PAUSED');
    const record = await roles.instances.create({ endpoint: 'web', slots: 1, status: 'STARTING', managerId: 'm', reason: null }, 'INSTANCE_CREATED', 'test');
    const agent = roles.agents.get('m')!;
    agent.containers.set('c-adopt', { containerId: 'c-adopt', instanceId: record.id, endpoint: 'web', slots: 1, running: true, state: 'running', address: '127.255.0.9:1234' });
    await roles.hosts.get('m')!.sweep();
    await roles.settle();
    const [adopted, ...rest] = await roles.store.instances.list({ endpoint: 'web' });
    assert.equal(rest.length, 0);
    assert.equal(adopted!.id, record.id);
    assert.equal(adopted!.containerId, 'c-adopt');
    assert.equal(adopted!.address, '127.255.0.9:1234');
    assert.equal(adopted!.status, 'RUNNING');
    assert.equal(agent.launches, 0);
  });

  it('should remove a container whose record went to another manager', async () => {
    roles = await Roles.start({ managers: [{ id: 'a', slots: 100 }, { id: 'b', slots: 100 }] });
    await roles.endpoint('web', roleConf('web', { min: 1 }), 'PAUSED');
    const record = await roles.instances.create({ endpoint: 'web', slots: 1, status: 'RUNNING', managerId: 'b', reason: null }, 'INSTANCE_CREATED', 'test');
    roles.agents.get('a')!.containers.set('old', { containerId: 'old', instanceId: record.id, endpoint: 'web', slots: 1, running: true, state: 'running', address: '127.255.0.8:1' });
    await roles.hosts.get('a')!.sweep();
    await roles.settle();
    assert.equal(roles.agents.get('a')!.containers.size, 0);
    const orphan = (await roles.store.events.list('web')).find((e) => e.kind === 'ORPHAN_REMOVED');
    assert.match(orphan!.message, new RegExp(`its instance ${record.id} is assigned to manager b`));
  });

  it('should never place on a manager whose heartbeat stopped for the manager timeout, timed on the controller\'s clock', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 1 }], controller: { managerTimeoutSeconds: 30 } });
    const m = (await roles.store.managers.get('m'))!;
    // Its lastSeen says "45 s ago" by some other clock: that alone proves nothing.
    await roles.store.managers.upsert({ ...m, id: 'silent', name: 'silent', slots: 100, lastSeen: new Date(roles.time.now().getTime() - 45_000) });
    await roles.endpoint('web', roleConf('web', { min: 1 }));
    await roles.round('web');
    assert.deepEqual((await roles.store.instances.list({ endpoint: 'web' })).map((i) => i.managerId), ['silent'], 'first seen just now: live');
    // 31 s on the controller's clock with no heartbeat from silent, while m's host beats.
    await roles.time.advance(31_000);
    await roles.hosts.get('m')!.heartbeat();
    await roles.store.endpoints.update('web', 1, { configText: roleConf('web', { min: 3 }) });
    await roles.round('web');
    const list = await roles.store.instances.list({ endpoint: 'web' });
    assert.deepEqual(list.map((i) => i.managerId).sort(), ['m', 'silent', null].sort());
    assert.match(list.find((i) => i.status === 'PENDING')!.reason!, /silent: host not seen for 31 s \(manager timeout 30 s\)/);
  });

  it('should declare a silent manager LOST within a liveness check of its timeout, not at the next evaluation', async () => {
    // --interval 10: evaluations at 10, 20, 30, 40 s; heartbeats looked at every second (livenessCheckMs) in between.
    roles = await Roles.start({ managers: [{ id: 'a', slots: 10 }, { id: 'b', slots: 10 }], controller: { intervalSeconds: 10, managerTimeoutSeconds: 30 } });
    assert.equal(livenessCheckMs(10), 1000);
    await roles.endpoint('web', roleConf('web', { min: 2 }));
    await roles.round('web');
    assert.deepEqual((await roles.store.instances.list({ endpoint: 'web' })).map((i) => i.managerId).sort(), ['a', 'b']);
    await roles.time.advance(20_000);
    await roles.hosts.get('a')!.heartbeat(); // b's host is gone
    await roles.time.advance(10_500);
    await roles.settle();
    assert.equal((await roles.store.managers.get('b'))!.status, 'READY', '30.5 s: not yet silent for more than the timeout at the last check');
    // The check at 31 s, nine seconds before the next evaluation.
    await roles.time.advance(1_000);
    await roles.settle();
    assert.equal((await roles.store.managers.get('b'))!.status, 'LOST');
    const after = await roles.store.instances.list({ endpoint: 'web' });
    assert.deepEqual(after.map((i) => [i.managerId, i.status]), [['a', 'RUNNING'], ['a', 'RUNNING']]);
  });

  it('should mark a silent manager LOST at an evaluation, remove its instances and place them on the others, and READY again when it beats', async () => {
    roles = await Roles.start({ managers: [{ id: 'a', slots: 10 }, { id: 'b', slots: 10 }], controller: { managerTimeoutSeconds: 30 } });
    await roles.endpoint('web', roleConf('web', { min: 4 }));
    await roles.round('web');
    const before = await roles.store.instances.list({ endpoint: 'web' });
    assert.deepEqual(before.map((i) => i.managerId).sort(), ['a', 'a', 'b', 'b']);
    await roles.time.advance(31_000);
    await roles.hosts.get('a')!.heartbeat(); // b's host is gone
    await roles.controller.tick();
    await roles.settle();
    assert.equal((await roles.store.managers.get('b'))!.status, 'LOST');
    const after = await roles.store.instances.list({ endpoint: 'web' });
    assert.equal(after.length, 4);
    assert.ok(after.every((i) => i.managerId === 'a' && i.status === 'RUNNING'), JSON.stringify(after.map((i) => [i.managerId, i.status])));
    const cluster = await roles.store.events.list('');
    assert.ok(cluster.some((e) => e.kind === 'MANAGER_LOST' && /manager b is LOST/.test(e.message)));
    await roles.hosts.get('b')!.heartbeat();
    await roles.controller.tick();
    await roles.settle();
    assert.equal((await roles.store.managers.get('b'))!.status, 'READY');
    // Its host comes back: the containers no record owns any more are cleared away.
    await roles.hosts.get('b')!.sweep();
    await roles.settle();
    assert.equal(roles.agents.get('b')!.containers.size, 0);
  });
});
