// The controller's rounds on a real SQLite store with in-memory hosts: one lane per endpoint, bounded concurrency, failing endpoints, which decisions are kept.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Roles, roleConf } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

/**
 * Holds the rounds of some endpoints at their first read (the endpoint
 * record) until released, and counts rounds in flight per endpoint while it
 * holds. A slow store answer for one endpoint is what a slow round is here:
 * the controller itself never waits for an engine.
 */
function gate(roles: Roles) {
  const get = roles.store.endpoints.get.bind(roles.store.endpoints);
  const inFlight = new Map<string, number>();
  const state = { holding: true, maxInFlight: new Map<string, number>(), maxEndpointsInFlight: 0, hold: new Set<string>() };
  let waiting: (() => void)[] = [];
  const endpointsInFlight = () => [...inFlight.values()].filter((n) => n > 0).length;
  roles.store.endpoints.get = async (name) => {
    if (state.holding && state.hold.has(name)) {
      inFlight.set(name, (inFlight.get(name) ?? 0) + 1);
      state.maxInFlight.set(name, Math.max(inFlight.get(name)!, state.maxInFlight.get(name) ?? 0));
      state.maxEndpointsInFlight = Math.max(state.maxEndpointsInFlight, endpointsInFlight());
      await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight.set(name, inFlight.get(name)! - 1);
    }
    return get(name);
  };
  return {
    state,
    endpointsInFlight,
    release() {
      state.holding = false;
      for (const go of waiting) go();
      waiting = [];
    },
  };
}

describe('controller lanes', () => {
  let roles: Roles;
  afterEach(async () => roles?.close());
  const evaluations = async (endpoint: string) => (await roles.store.decisions.list(endpoint, { limit: 1000 })).filter((d) => d.record.round === 'evaluate');

  it('should let other endpoints go on while one is slow, and never run two rounds of one endpoint at once', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 1000 }] });
    await roles.endpoint('slow', roleConf('slow', { min: 2, max: 5 }));
    await roles.endpoint('fast', roleConf('fast', { min: 2, max: 5 }));
    const held = gate(roles);
    held.state.hold.add('slow');
    const ticks: Promise<void>[] = [];
    try {
      ticks.push(roles.controller.tick()); // slow's round hangs
      await waitFor(async () => (await evaluations('fast')).length === 1, { what: 'fast decided while slow hangs' });
      ticks.push(roles.controller.tick());
      await waitFor(async () => (await evaluations('fast')).length === 2, { what: 'two evaluations of fast' });
      ticks.push(roles.controller.tick());
      await waitFor(async () => (await evaluations('fast')).length === 3, { what: 'three evaluations of fast' });
      assert.equal((await evaluations('slow')).length, 0, 'slow is still in its first round');
    } finally {
      held.release();
    }
    await Promise.all(ticks);
    await roles.settle();
    // The two ticks that arrived while slow was busy share one queued round.
    assert.equal((await evaluations('slow')).length, 2);
    assert.equal(held.state.maxInFlight.get('slow'), 1, 'no second round of slow overlapped the first');
    assert.equal((await roles.store.instances.list({ endpoint: 'slow' })).length, 2);
  });

  it('should run at most roundConcurrency rounds of different endpoints at once, and every round in the end', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 1000 }], controller: { roundConcurrency: 2 } });
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) await roles.endpoint(name, roleConf(name, { min: 1 }));
    const held = gate(roles);
    for (const name of names) held.state.hold.add(name);
    let tick: Promise<void> | undefined;
    try {
      tick = roles.controller.tick();
      await waitFor(() => held.endpointsInFlight() === 2, { what: 'two rounds in flight' });
      // Give the queued rounds every chance to start (they must not: both slots are held).
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(held.endpointsInFlight(), 2);
    } finally {
      held.release();
    }
    await tick;
    await roles.settle();
    assert.equal(held.state.maxEndpointsInFlight, 2);
    for (const name of names) {
      assert.equal((await evaluations(name)).length, 1, `${name} evaluated once`);
      assert.equal((await roles.store.instances.list({ endpoint: name })).length, 1, `${name} placed its instance`);
    }
  });

  it('should turn an error in one endpoint into an event and keep evaluating the others', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 1000 }] });
    await roles.endpoint('bad', roleConf('bad'));
    await roles.endpoint('good', roleConf('good'));
    const upsert = roles.store.instances.upsert.bind(roles.store.instances);
    roles.store.instances.upsert = async (record) => {
      if (record.endpoint === 'bad') throw new Error('disk full');
      return upsert(record);
    };
    await roles.controller.tick();
    await roles.controller.tick();
    await roles.settle();
    // The same failure twice is one event with a count.
    const failed = (await roles.store.events.list('bad')).filter((e) => e.kind === 'ROUND_FAILED');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.data.repeated, 2);
    assert.match(failed[0]!.message, /^round of bad failed: disk full; the next round tries again$/);
    assert.equal((await evaluations('good')).length, 2);
    assert.equal((await roles.store.instances.list({ endpoint: 'good' })).length, 1);
  });

  it('should store every evaluation, and a trigger round only when it acted', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 1000 }] });
    await roles.endpoint('web', roleConf('web', { min: 1, max: 5 }));
    await roles.controller.reconcile('web', 'trigger', 'STATE_CHANGED'); // acts: places 1
    await roles.settle();
    await roles.controller.reconcile('web', 'trigger', 'CONFIG_CHANGED'); // nothing to do
    await roles.controller.tick();
    await roles.settle();
    const decisions = await roles.store.decisions.list('web', { limit: 100 });
    assert.deepEqual(
      decisions.map((d) => [d.record.round, d.record.cause, (d.record.actions as unknown[]).length]),
      [
        ['trigger', 'STATE_CHANGED', 1],
        ['evaluate', '', 0],
      ],
    );
    const scaled = (await roles.store.events.list('web')).filter((e) => e.kind === 'SCALED');
    assert.equal(scaled.length, 1);
    assert.match(scaled[0]!.message, /^STATE_CHANGED: no evaluation yet, holding 0 → fitted into 1\.\.5 → target 1; launching 1$/);
  });

  it('should record a conflict of the rules once, as an event, and keep the count', async () => {
    roles = await Roles.start({ managers: [{ id: 'm', slots: 1000 }] });
    // `0.5 < instances < 1` allows no count at all: a conflict whatever the metrics.
    await roles.endpoint('torn', roleConf('torn', { min: 1, max: 10, rules: '0.5 < instances < 1' }));
    await roles.round('torn');
    await roles.controller.tick();
    await roles.controller.tick();
    await roles.settle();
    const conflicts = (await roles.store.events.list('torn')).filter((e) => e.kind === 'SCALING_CONFLICT');
    assert.equal(conflicts.length, 1, 'once, not every round');
    assert.match(conflicts[0]!.message, /^rules conflict \(combined range 1\.\.0 is empty\): keeping 1 \(rules: 0\.5 < instances < 1\)$/);
    const evaluated = await evaluations('torn');
    assert.ok(evaluated.every((d) => d.record.conflict === true && d.record.target === 1));
    assert.equal((await roles.store.instances.list({ endpoint: 'torn' })).length, 1);
  });
});
