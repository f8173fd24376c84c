// The control loop's rounds with in-memory agents and an injected sampler: one lane per endpoint, slow and failing endpoints, triggers between evaluations.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { MemoryAgent } from '../../src/agents/memory.js';
import type { Agent, ContainerSpec, LaunchedContainer } from '../../src/agents/types.js';
import { ControlLoop } from '../../src/control/loop.js';
import { EventBus } from '../../src/events/bus.js';
import { EventRecorder } from '../../src/events/recorder.js';
import { Reconciler } from '../../src/instances/reconciler.js';
import { InstanceService } from '../../src/instances/service.js';
import { MetricsSampler } from '../../src/metrics/sampler.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { waitFor } from '../support/wait.js';

/** Launches of endpoints in `hold` wait until released; tracks launches in flight per endpoint. */
class GateAgent extends MemoryAgent {
  readonly inFlight = new Map<string, number>();
  maxInFlight = new Map<string, number>();
  /** The most endpoints that had a launch in flight at the same time. */
  maxEndpointsInFlight = 0;
  hold = new Set<string>();
  private waiting: (() => void)[] = [];
  release(): void {
    this.hold.clear();
    for (const go of this.waiting.splice(0)) go();
  }
  endpointsInFlight(): number {
    return [...this.inFlight.values()].filter((n) => n > 0).length;
  }
  override async launch(spec: ContainerSpec): Promise<LaunchedContainer> {
    const n = (this.inFlight.get(spec.endpoint) ?? 0) + 1;
    this.inFlight.set(spec.endpoint, n);
    this.maxInFlight.set(spec.endpoint, Math.max(n, this.maxInFlight.get(spec.endpoint) ?? 0));
    this.maxEndpointsInFlight = Math.max(this.maxEndpointsInFlight, this.endpointsInFlight());
    if (this.hold.has(spec.endpoint)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight.set(spec.endpoint, (this.inFlight.get(spec.endpoint) ?? 1) - 1);
    return super.launch(spec);
  }
}

function conf(name: string, { min = 1, max = 5, rules = '' } = {}): string {
  return `[endpoint]\nurl=http://${name}.test\nloadbalancer=none\nport=5000\n[scaling]\nmin_instances=${min}\nmax_instances=${max}\nrules=${rules}\n[cloud:docker]\nimage=x\n`;
}

describe('control loop lanes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactor-lanes-'));
  let n = 0;
  let store: Store;
  let loop: ControlLoop;
  let reconciler: Reconciler;

  async function setup(options: { roundConcurrency?: number } = {}) {
    store = await openStore(`sqlite:${join(dir, `store-${n++}.db`)}`);
    const bus = new EventBus();
    const events = new EventRecorder(store, bus);
    const instances = new InstanceService(store, bus, events);
    const agent = new GateAgent('m');
    await store.managers.upsert({
      id: 'm', name: 'm', address: '10.0.0.1', slots: 1000, usedSlots: 0, clouds: ['docker'], loadbalancers: [], problems: [], lastSeen: new Date(), createdAt: new Date(),
    });
    const sampler = new MetricsSampler({ store, bus, ownTimer: false });
    loop = new ControlLoop({ store, bus, events, intervalSeconds: 3600, sampler: () => sampler });
    reconciler = new Reconciler({
      store, bus, events, instances, agents: new Map<string, Agent>([['m', agent]]), apiUrl: '', policy: loop.policy,
      readiness: async () => true, readinessPollMs: 1, backoff: { baseMs: 60_000, maxMs: 60_000 }, ...options,
    });
    loop.attach(reconciler);
    return { agent, bus, events };
  }
  const evaluations = async (endpoint: string) => (await store.decisions.list(endpoint, { limit: 1000 })).filter((d) => d.record.round === 'evaluate');

  afterEach(async () => {
    await loop?.stop();
    await reconciler?.stop();
    await store?.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('should let other endpoints go on while one is slow, and never run two rounds of one endpoint at once', async () => {
    const { agent } = await setup();
    await store.endpoints.create({ name: 'slow', state: 'RUNNING', configText: conf('slow', { min: 2 }) });
    await store.endpoints.create({ name: 'fast', state: 'RUNNING', configText: conf('fast', { min: 2 }) });
    agent.hold.add('slow');
    const ticks: Promise<void>[] = [];
    try {
      ticks.push(loop.tick()); // slow's launches hang
      await waitFor(async () => (await evaluations('fast')).length === 1, { what: 'fast decided while slow hangs' });
      ticks.push(loop.tick());
      await waitFor(async () => (await evaluations('fast')).length === 2, { what: 'two evaluations of fast' });
      ticks.push(loop.tick());
      await waitFor(async () => (await evaluations('fast')).length === 3, { what: 'three evaluations of fast' });
      assert.equal((await evaluations('slow')).length, 0, 'slow is still in its first round');
    } finally {
      agent.release();
    }
    await Promise.all(ticks);
    // The two ticks that arrived while slow was busy share one queued round.
    assert.equal((await evaluations('slow')).length, 2);
    assert.equal(agent.maxInFlight.get('slow'), 2, 'one round launched both; no second round overlapped it');
    assert.equal((await store.instances.list({ endpoint: 'slow' })).length, 2);
  });

  it('should run at most roundConcurrency rounds of different endpoints at once, and every round in the end', async () => {
    const { agent } = await setup({ roundConcurrency: 2 });
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) {
      await store.endpoints.create({ name, state: 'RUNNING', configText: conf(name, { min: 1 }) });
      agent.hold.add(name);
    }
    let tick: Promise<void> | undefined;
    try {
      tick = loop.tick();
      await waitFor(() => agent.endpointsInFlight() === 2, { what: 'two rounds launching' });
      // Give the queued rounds every chance to start (they must not: both slots are held).
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(agent.endpointsInFlight(), 2);
    } finally {
      agent.release();
    }
    await tick;
    assert.equal(agent.maxEndpointsInFlight, 2);
    for (const name of names) {
      assert.equal((await evaluations(name)).length, 1, `${name} evaluated once`);
      assert.equal((await store.instances.list({ endpoint: name })).length, 1, `${name} launched its instance`);
    }
  });

  it('should turn an error in one endpoint into an event and keep evaluating the others', async () => {
    await setup();
    await store.endpoints.create({ name: 'bad', state: 'RUNNING', configText: conf('bad') });
    await store.endpoints.create({ name: 'good', state: 'RUNNING', configText: conf('good') });
    const upsert = store.instances.upsert.bind(store.instances);
    store.instances.upsert = async (record) => {
      if (record.endpoint === 'bad') throw new Error('disk full');
      return upsert(record);
    };
    await loop.tick();
    await loop.tick();
    const failed = (await store.events.list('bad')).filter((e) => e.kind === 'ROUND_FAILED');
    assert.equal(failed.length, 2);
    assert.match(failed[0]!.message, /^round of bad failed: disk full; the next round tries again$/);
    assert.equal((await evaluations('good')).length, 2);
    assert.equal((await store.instances.list({ endpoint: 'good' })).length, 1);
  });

  it('should store every evaluation, and a trigger round only when it acted', async () => {
    await setup();
    await store.endpoints.create({ name: 'web', state: 'RUNNING', configText: conf('web', { min: 1 }) });
    await reconciler.reconcile('web', 'trigger', 'STATE_CHANGED'); // acts: launches 1
    await reconciler.reconcile('web', 'trigger', 'CONFIG_CHANGED'); // nothing to do
    await loop.tick();
    const decisions = await store.decisions.list('web', { limit: 100 });
    assert.deepEqual(
      decisions.map((d) => [d.record.round, d.record.cause, (d.record.actions as unknown[]).length]),
      [
        ['trigger', 'STATE_CHANGED', 1],
        ['evaluate', '', 0],
      ],
    );
    const scaled = (await store.events.list('web')).filter((e) => e.kind === 'SCALED');
    assert.equal(scaled.length, 1);
    assert.match(scaled[0]!.message, /^STATE_CHANGED: no evaluation yet, holding 0 → fitted into 1\.\.5 → target 1; launching 1$/);
  });

  it('should record a conflict of the rules once, as an event, and keep the count', async () => {
    await setup();
    // `0.5 < instances < 1` allows no count at all: a conflict whatever the metrics.
    await store.endpoints.create({ name: 'torn', state: 'RUNNING', configText: conf('torn', { min: 1, max: 10, rules: '0.5 < instances < 1' }) });
    await reconciler.reconcile('torn');
    await loop.tick();
    await loop.tick();
    const conflicts = (await store.events.list('torn')).filter((e) => e.kind === 'SCALING_CONFLICT');
    assert.equal(conflicts.length, 1, 'once, not every round');
    assert.match(conflicts[0]!.message, /^rules conflict \(combined range 1\.\.0 is empty\): keeping 1 \(rules: 0\.5 < instances < 1\)$/);
    const evaluated = await evaluations('torn');
    assert.ok(evaluated.every((d) => d.record.conflict === true && d.record.target === 1));
    assert.equal((await store.instances.list({ endpoint: 'torn' })).length, 1);
  });
});
