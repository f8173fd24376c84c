// The drain watch: a decommissioned instance gets its removal round as soon as no balancer routes to it and its last connection closes, or its timeout passes; only the controller watches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DRAIN_POLL_MS, DrainWatch, roundConnections, withRouted } from '../../src/control/drain.js';
import type { TrafficReadings } from '../../src/control/options.js';
import type { InstanceRecord } from '../../src/store/types.js';
import { ManualTime } from '../../src/time/timers.js';
import { Roles, roleConf } from '../support/roles.js';

function instance(id: string, status: InstanceRecord['status'], address: string | null, decommissionedAt: Date | null = null): InstanceRecord {
  return { id, endpoint: 'web', managerId: 'm', containerId: 'c', address, status, slots: 1, reason: null, decommissionedAt, createdAt: new Date(0), updatedAt: new Date(0) } as InstanceRecord;
}

function setup() {
  const time = new ManualTime();
  const active = new Map<string, number>();
  const routed = new Set<string>();
  const rounds: string[] = [];
  /** What each reading was asked about: address → decommissioned at (ms). */
  const asked: ReadonlyMap<string, number>[] = [];
  const watch = new DrainWatch({
    time,
    traffic: () => ({
      connectionsNow: async (draining) => {
        asked.push(draining ?? new Map());
        return active;
      },
      routed: () => routed,
    }),
    reconcile: (endpoint, cause) => rounds.push(`${endpoint}:${cause}`),
  });
  return { time, active, routed, rounds, asked, watch };
}

describe('DrainWatch', () => {
  it('should ask for a round once the balancer no longer routes to the instance and its connections closed', async () => {
    const { time, active, routed, rounds, watch } = setup();
    routed.add('127.0.0.1:1');
    active.set('127.0.0.1:1', 2);
    watch.timeout('web', 60);
    watch.saw(instance('a', 'DECOMMISSIONED', '127.0.0.1:1', time.now()));
    await time.advance(DRAIN_POLL_MS);
    assert.deepEqual(rounds, [], 'still routed and busy');
    routed.delete('127.0.0.1:1');
    await time.advance(DRAIN_POLL_MS);
    assert.deepEqual(rounds, [], 'out of the balancer, two requests still in flight');
    active.set('127.0.0.1:1', 0);
    await time.advance(DRAIN_POLL_MS);
    assert.deepEqual(rounds, ['web:drained']);
    await time.advance(DRAIN_POLL_MS);
    assert.deepEqual(rounds, ['web:drained'], 'asked once, not every poll');
    watch.saw(instance('a', 'REMOVING', '127.0.0.1:1'));
    assert.equal(watch.size, 0);
    assert.equal(time.pending, 0, 'no timer while nothing drains');
  });

  it('should count an address still routed as busy, even with no connection', async () => {
    const { time, routed, rounds, watch } = setup();
    routed.add('127.0.0.1:1');
    watch.saw(instance('a', 'DECOMMISSIONED', '127.0.0.1:1', time.now()));
    await time.advance(DRAIN_POLL_MS * 4);
    assert.deepEqual(rounds, []);
    watch.stop();
  });

  it('should ask for a round when decommissioned_timeout passes with connections still open', async () => {
    const { time, active, rounds, watch } = setup();
    active.set('127.0.0.1:1', 1);
    watch.timeout('web', 2);
    watch.saw(instance('a', 'DECOMMISSIONED', '127.0.0.1:1', time.now()));
    await time.advance(1750);
    assert.deepEqual(rounds, []);
    await time.advance(DRAIN_POLL_MS);
    assert.deepEqual(rounds, ['web:decommissioned_timeout']);
    watch.stop();
  });

  it('should not count an instance drained while its count is not known yet (NaN: other hosts have not reported since it left them)', async () => {
    const { time, active, rounds, asked, watch } = setup();
    const at = time.now();
    active.set('127.0.0.1:1', NaN);
    watch.timeout('web', 60);
    watch.saw(instance('a', 'DECOMMISSIONED', '127.0.0.1:1', at));
    await time.advance(DRAIN_POLL_MS * 8);
    assert.deepEqual(rounds, [], 'unknown is busy, not idle');
    assert.deepEqual([...asked.at(-1)!], [['127.0.0.1:1', at.getTime()]], 'asked with the time it was decommissioned');
    active.set('127.0.0.1:1', 0);
    await time.advance(DRAIN_POLL_MS);
    assert.deepEqual(rounds, ['web:drained']);
    watch.stop();
  });

  it('should forget an instance recommissioned while it drained', async () => {
    const { time, rounds, watch } = setup();
    watch.saw(instance('a', 'DECOMMISSIONED', '127.0.0.1:1', time.now()));
    watch.saw(instance('a', 'RUNNING', '127.0.0.1:1'));
    await time.advance(DRAIN_POLL_MS * 2);
    assert.deepEqual(rounds, []);
  });
});

describe('roundConnections', () => {
  const traffic = (fresh: Record<string, number>, routed: string[] = []) => ({
    connectionsNow: async () => new Map(Object.entries(fresh)),
    routed: () => new Set(routed),
  });

  it("should give an evaluation the sample's counts, but a draining address's count afresh", async () => {
    // The round that decommissioned b saw it idle; a request sent to it since must keep it.
    const counts = await roundConnections('evaluate', new Map([['b:1', 0]]), new Map([['a:1', 3], ['b:1', 0]]), traffic({ 'a:1': 9, 'b:1': NaN }));
    assert.equal(counts.get('a:1'), 3);
    assert.ok(Number.isNaN(counts.get('b:1')));
  });

  it('should give a trigger round every count afresh, routed addresses at least 1', async () => {
    const counts = await roundConnections('trigger', new Map(), new Map([['a:1', 3]]), traffic({ 'a:1': 0 }, ['c:1']));
    assert.deepEqual([...counts].sort(), [['a:1', 0], ['c:1', 1]]);
  });
});

describe('withRouted', () => {
  it('should count each routed address at least once and leave the rest', () => {
    const merged = withRouted(new Map([['a:1', 3], ['b:1', 0]]), new Set(['b:1', 'c:1']));
    assert.deepEqual([...merged].sort(), [['a:1', 3], ['b:1', 1], ['c:1', 1]]);
    const same = new Map([['a:1', 1]]);
    assert.equal(withRouted(same, null), same);
  });
});

describe("the controller's drain watch", () => {
  it('should stop when the controller steps down and start again when it is elected', async () => {
    let readings = 0;
    // Every draining address stays busy, so the watch keeps polling while it runs.
    const traffic: TrafficReadings = {
      tick: async () => [],
      latestConnections: new Map(),
      connectionsNow: async (draining) => {
        readings++;
        return new Map([...(draining ?? new Map()).keys()].map((address) => [address, 1]));
      },
    };
    const roles = await Roles.start({ managers: [{ id: 'm', slots: 10 }], controller: { traffic: () => traffic } });
    try {
      const { controller, time } = roles;
      await roles.endpoint('web', roleConf('web'), 'PAUSED');
      const term = controller.leading()!;
      const draining = await roles.instances.create({ endpoint: 'web', slots: 1, status: 'DECOMMISSIONED', managerId: 'm', reason: null, term }, 'INSTANCE_DECOMMISSIONED', 'test');
      await roles.instances.change(draining.id, { address: '127.0.0.1:9', decommissionedAt: time.now() }, 'INSTANCE_DECOMMISSIONED', 'test');
      await roles.round('web');
      assert.equal(controller.drains.size, 1);
      await time.advance(DRAIN_POLL_MS * 2);
      assert.ok(readings > 0, 'the watch polls while the instance drains');

      controller.lease.fencedOut('test');
      assert.equal(controller.leading(), null);
      assert.equal(controller.drains.size, 0, 'forgotten when stepping down');
      const before = readings;
      await roles.instances.change(draining.id, { reason: 'still draining' }, 'INSTANCE_DECOMMISSIONED', 'test');
      await time.advance(DRAIN_POLL_MS * 8);
      assert.equal(readings, before, 'no polling, even when the instance changes, while another server leads');
      assert.equal(controller.drains.size, 0);

      await controller.lease.check();
      await roles.settle();
      assert.equal(controller.leading(), term + 1, 'elected again');
      assert.equal(controller.drains.size, 1, "the election's sweep picks up what drains");
      await time.advance(DRAIN_POLL_MS * 2);
      assert.ok(readings > before, 'polling again');
    } finally {
      await roles.close();
    }
  });
});
