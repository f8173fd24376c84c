// The 1,000-endpoint simulation the benchmarks share: an in-memory store and in-memory hosts, driven by the real controller, host engine sync, sampler, policy and, for a cluster, the store feed.
import { MemoryAgent } from '../src/agents/memory.js';
import { Controller } from '../src/control/controller.js';
import { EventBus } from '../src/events/bus.js';
import { StoreFeed } from '../src/events/feed.js';
import { EventRecorder } from '../src/events/recorder.js';
import { EngineSync } from '../src/host/engine-sync.js';
import { InstanceService } from '../src/instances/service.js';
import { silentLogger } from '../src/log/logger.js';
import { MetricsSampler } from '../src/metrics/sampler.js';
import { listWindow } from '../src/store/list-window.js';
import type {
  CustomMetricsRecord,
  DecisionRecord,
  EndpointRecord,
  EventRecord,
  InstanceRecord,
  LeaseRecord,
  TrafficShareRecord,
  ListOptions,
  ManagerRecord,
  MetricSampleRecord,
  Store,
} from '../src/store/types.js';
import { realTimers, type Timers } from '../src/time/timers.js';

/**
 * One of the store's logs in memory: items in the order they were stored,
 * each given the next sequence number as it is appended, as the SQLite and
 * MongoDB logs do (so the store feed can read it with `afterSeq`).
 */
class MemoryLog<T extends { id: string; endpoint: string; at: Date; seq?: number }> {
  readonly items: T[] = [];
  private next = 1;
  private removed = false;

  append(list: readonly T[]): void {
    for (const item of list) {
      item.seq = this.next++;
      this.items.push(item);
    }
  }

  delete(id: string): boolean {
    const at = this.items.findIndex((i) => i.id === id);
    if (at < 0) return false;
    this.items.splice(at, 1);
    this.removed = true;
    return true;
  }

  seqOf(id: string): number | undefined {
    return this.items.find((i) => i.id === id)?.seq;
  }

  /** The stores' `listWindow`. Nothing is pruned, so until an event is deleted the item with sequence number n is `items[n - 1]`. */
  list(endpoint: string | undefined, options: ListOptions = {}): T[] {
    const window = listWindow(options);
    let list: T[] = this.items;
    if (window.afterSeq !== undefined) {
      const after = window.afterSeq;
      list = this.removed ? list.filter((i) => (i.seq ?? 0) > after) : list.slice(Math.max(0, after));
    }
    if (endpoint !== undefined) list = list.filter((i) => i.endpoint === endpoint);
    if (window.afterId !== undefined) list = list.filter((i) => i.id > window.afterId!);
    if (window.since !== undefined) list = list.filter((i) => i.at >= window.since!);
    return window.newestFirst ? list.slice(-window.limit) : list.slice(0, window.limit);
  }
}

/** A Store in memory, indexed by endpoint where the loop reads per endpoint. */
export function memoryStore(): Store {
  const endpoints = new Map<string, EndpointRecord>();
  const managers = new Map<string, ManagerRecord>();
  const instances = new Map<string, InstanceRecord>();
  const byEndpoint = new Map<string, Map<string, InstanceRecord>>();
  const events = new MemoryLog<EventRecord>();
  const samples = new MemoryLog<MetricSampleRecord>();
  const latest = new Map<string, MetricSampleRecord>();
  const decisions = new MemoryLog<DecisionRecord>();
  const traffic = new MemoryLog<TrafficShareRecord>();
  const custom = new Map<string, CustomMetricsRecord>();
  const leases = new Map<string, LeaseRecord>();
  const index = (endpoint: string) => {
    let map = byEndpoint.get(endpoint);
    if (!map) byEndpoint.set(endpoint, (map = new Map()));
    return map;
  };
  const appendSamples = (list: readonly MetricSampleRecord[]) => {
    samples.append(list);
    for (const s of list) latest.set(s.endpoint, s);
  };
  return {
    kind: 'sqlite',
    endpoints: {
      list: async () => [...endpoints.values()],
      get: async (name) => endpoints.get(name) ?? null,
      create: async (r) => {
        const now = new Date();
        const record = { ...r, version: 1, createdAt: now, updatedAt: now };
        endpoints.set(r.name, record);
        return record;
      },
      update: async (name, _v, changes) => {
        const record = { ...endpoints.get(name)!, ...changes, version: endpoints.get(name)!.version + 1, updatedAt: new Date() };
        endpoints.set(name, record);
        return record;
      },
      delete: async (name) => endpoints.delete(name),
    },
    managers: {
      list: async () => [...managers.values()],
      get: async (id) => managers.get(id) ?? null,
      upsert: async (r) => (managers.set(r.id, r), r),
      update: async (id, changes) => {
        const record = managers.get(id);
        if (!record) return null;
        const next = { ...record, ...changes };
        managers.set(id, next);
        return next;
      },
      delete: async (id) => managers.delete(id),
    },
    instances: {
      list: async (filter) => {
        if (filter?.endpoint !== undefined) return [...(byEndpoint.get(filter.endpoint)?.values() ?? [])];
        const all = [...instances.values()];
        return filter?.managerId !== undefined ? all.filter((i) => i.managerId === filter.managerId) : all;
      },
      get: async (id) => instances.get(id) ?? null,
      upsert: async (r) => {
        instances.set(r.id, r);
        index(r.endpoint).set(r.id, r);
        return r;
      },
      update: async (id, changes, guard = {}) => {
        const r = instances.get(id);
        if (!r || (guard.status && !guard.status.includes(r.status)) || (guard.term !== undefined && r.term > guard.term)) return null;
        const next = { ...r, ...changes };
        instances.set(id, next);
        index(next.endpoint).set(id, next);
        return next;
      },
      claim: async (term) => {
        let n = 0;
        for (const r of instances.values()) if (r.term < term) (r.term = term), n++;
        return n;
      },
      delete: async (id, guard = {}) => {
        const r = instances.get(id);
        if (!r || (guard.status && !guard.status.includes(r.status)) || (guard.term !== undefined && r.term > guard.term)) return false;
        instances.delete(id);
        byEndpoint.get(r.endpoint)?.delete(id);
        return true;
      },
      deleteByEndpoint: async (endpoint) => {
        const map = byEndpoint.get(endpoint);
        for (const id of map?.keys() ?? []) instances.delete(id);
        byEndpoint.delete(endpoint);
        return map?.size ?? 0;
      },
    },
    events: {
      append: async (e) => events.append([e]),
      appendMany: async (list) => events.append(list),
      list: async (endpoint, o) => events.list(endpoint, o),
      seqOf: async (id) => events.seqOf(id),
      prune: async () => 0,
      deleteByEndpoint: async () => 0,
      delete: async (id) => events.delete(id),
    },
    samples: {
      append: async (s) => appendSamples([s]),
      appendMany: async (list) => appendSamples(list),
      latest: async (endpoint) => latest.get(endpoint) ?? null,
      list: async (endpoint, o) => samples.list(endpoint, o),
      seqOf: async (id) => samples.seqOf(id),
      prune: async () => 0,
      deleteByEndpoint: async () => 0,
    },
    decisions: {
      append: async (d) => decisions.append([d]),
      appendMany: async (list) => decisions.append(list),
      list: async (endpoint, o) => decisions.list(endpoint, o),
      seqOf: async (id) => decisions.seqOf(id),
      prune: async () => 0,
      deleteByEndpoint: async () => 0,
    },
    customMetrics: {
      set: async (r) => (custom.set(`${r.endpoint}\u0000${r.instance}`, r), r),
      list: async (endpoint) => [...custom.values()].filter((r) => endpoint === undefined || r.endpoint === endpoint),
      delete: async () => 0,
    },
    traffic: {
      append: async (share) => traffic.append([share]),
      appendMany: async (list) => traffic.append(list),
      list: async (endpoint, o) => traffic.list(endpoint, o),
      prune: async () => 0,
      deleteByEndpoint: async () => 0,
    },
    leases: {
      get: async (name) => leases.get(name) ?? null,
      create: async (r) => (leases.has(r.name) ? null : (leases.set(r.name, { ...r }), { ...r })),
      swap: async (name, expected, next) => {
        const lease = leases.get(name);
        if (!lease || lease.term !== expected.term || lease.renewals !== expected.renewals) return null;
        const swapped = { name, ...next };
        leases.set(name, swapped);
        return { ...swapped };
      },
    },
    secrets: { getOrCreate: async (_name, candidate) => candidate },
    close: async () => {},
  };
}

export const ENDPOINTS = 1000;
export const PER_ENDPOINT = 10;

export interface SimulationOptions {
  /** Simulated hosts: managers sim1…simN, each a MemoryAgent with its own EngineSync; default 1. */
  hosts?: number;
  /**
   * The cluster's store path (what a server on MongoDB runs): the bus is
   * `fedByStore`, so the writers' own publishes are ignored and every event,
   * sample and decision reaches the controller, the hosts and subscribers
   * only through a StoreFeed reading the store's logs by sequence number.
   * Default false: the one-host bus, published by the writers directly.
   */
  storeFeed?: boolean;
  /** Timed rounds after the first; default 12. */
  steadyRounds?: number;
  /**
   * Holding rounds after those, timed role by role: the controller's
   * evaluation alone, then each host's sweep alone (what one machine of a
   * cluster does in an interval); default 0.
   */
  splitRounds?: number;
}

export interface SimulationResult {
  /** The first timed round: every tenth endpoint scales up by 5. */
  first: number;
  /** The rounds after it, in order (from the third on, every endpoint holds). */
  steady: number[];
  /** Items the store feed delivered over all timed rounds (0 without it). */
  fed: number;
  /** Instances on each simulated host at the end, by manager id. */
  perHost: Record<string, number>;
  /** The split rounds: the controller's evaluation, and each host's sweep, in ms per round. */
  split: { controller: number[]; hosts: number[][] };
}

/** The feed's timer never fires: the simulation polls the feed itself, at once, as part of settling. */
const pollByHand: Timers = { ...realTimers, setInterval: () => ({ cancel() {} }) };

/**
 * 1,000 RUNNING endpoints × 10 RUNNING instances, spread over the simulated
 * hosts in turn. Each has the rule `20 <= load <= 50` on an endpoint-wide
 * custom metric: 900 read 35 per instance (7..18 → hold at 10), every tenth
 * reads 60 (12..30 → clamp 12..20 → target 16 → launch 5, the ramp limit),
 * so a round has both holds and scale-ups with placement across the hosts.
 */
export async function simulatedRound(options: SimulationOptions = {}): Promise<SimulationResult> {
  const hostCount = options.hosts ?? 1;
  const store = memoryStore();
  const bus = new EventBus({ fedByStore: options.storeFeed === true });
  const clock = () => new Date();
  const events = new EventRecorder(store, bus, clock);
  const instances = new InstanceService(store, bus, events, clock);
  const agents = Array.from({ length: hostCount }, (_, h) => new MemoryAgent(`sim${h + 1}`, h + 1));
  for (const agent of agents) {
    await store.managers.upsert({
      id: agent.managerId, name: agent.managerId, address: agent.address, slots: 1_000_000, usedSlots: 0, clouds: ['docker'], loadbalancers: ['nginx'], problems: [], lastSeen: clock(), createdAt: clock(),
    });
  }
  let seeded = 0;
  for (let e = 0; e < ENDPOINTS; e++) {
    const name = `ep${String(e).padStart(4, '0')}`;
    await store.endpoints.create({
      name,
      state: 'RUNNING',
      configText: `[endpoint]\nurl=http://${name}.sim/\nport=5000\n[scaling]\nmin_instances=1\nmax_instances=20\nrules=20 <= load <= 50\n[cloud:docker]\nimage=sim\n`,
    });
    await store.customMetrics.set({ endpoint: name, instance: '', metrics: { load: [1, e % 10 === 0 ? 60 : 35] }, updatedAt: clock() });
    for (let i = 0; i < PER_ENDPOINT; i++) {
      const agent = agents[seeded++ % hostCount]!;
      const record = await instances.create({ endpoint: name, slots: 1, status: 'RUNNING', managerId: agent.managerId, reason: null }, 'INSTANCE_CREATED', 'seeded');
      const launched = await agent.launch({ instanceId: record.id, endpoint: name, slots: 1, port: 5000, docker: {} as never, apiUrl: '' });
      await store.instances.upsert({ ...record, containerId: launched.containerId, address: launched.address });
    }
  }
  // Started after the seeding, as a server's feed starts after what is stored (history is the subscriptions' replay).
  const feed = options.storeFeed ? new StoreFeed({ store, bus, time: { now: clock, timers: pollByHand }, log: silentLogger }) : undefined;
  await feed?.start();
  let fed = 0;
  if (feed) for (const topic of ['endpointEvents', 'metricSamples', 'scalingDecisions'] as const) bus.watch(topic, () => void fed++);

  const sampler = new MetricsSampler({ store, bus, ownTimer: false, clock });
  const time = { now: clock, timers: realTimers };
  const controller = new Controller({ store, bus, events, instances, intervalSeconds: 0, traffic: () => sampler, time });
  const hosts = agents.map(
    (agent) =>
      new EngineSync({
        store, bus, events, instances, agent, apiUrl: () => '', time, probe: async () => true, readinessPollMs: 1, intervalSeconds: 0, log: silentLogger,
      }),
  );
  await Promise.all(hosts.map((host) => host.start()));
  await controller.start();
  const activity = () => controller.activity + hosts.reduce((sum, host) => sum + host.activity, 0) + fed;
  /**
   * Until no round, no sync and no delivery starts any more: the scale-ups'
   * placements have reached their hosts (through the feed, on the cluster
   * path) and been launched.
   */
  const settle = async () => {
    for (;;) {
      const before = activity();
      await controller.idle();
      for (const host of hosts) await host.idle();
      await feed?.poll();
      await new Promise((resolve) => setImmediate(resolve));
      if (activity() === before) return;
    }
  };
  await settle();
  try {
    // One interval of every role: the controller's evaluation of every endpoint and each host's sweep (repair and
    // health checks of its instances, and its heartbeat), then everything they set off (hosts launching what was
    // placed on them), and on the cluster path the feed delivering all of it.
    const timed = async () => {
      const t0 = performance.now();
      await Promise.all([controller.tick(), ...hosts.map((host) => host.sweep())]);
      await settle();
      return performance.now() - t0;
    };
    const fedBefore = fed;
    const first = await timed();
    const steady: number[] = [];
    for (let i = 0; i < (options.steadyRounds ?? 12); i++) steady.push(await timed());
    const fedSteady = fed - fedBefore;
    const split = { controller: [] as number[], hosts: hosts.map(() => [] as number[]) };
    const timedAlone = async (work: () => Promise<void>) => {
      const t0 = performance.now();
      await work();
      await settle();
      return performance.now() - t0;
    };
    for (let i = 0; i < (options.splitRounds ?? 0); i++) {
      split.controller.push(await timedAlone(() => controller.tick()));
      for (const [h, host] of hosts.entries()) split.hosts[h]!.push(await timedAlone(() => host.sweep()));
    }
    const perHost: Record<string, number> = {};
    for (const agent of agents) perHost[agent.managerId] = agent.containers.size;
    return { first, steady, fed: fedSteady, perHost, split };
  } finally {
    await controller.stop();
    for (const host of hosts) await host.stop();
    await feed?.stop();
  }
}

export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** The median of the rounds in which every endpoint holds (rounds 2 and 3 still grow the busy tenth: 15, then 20 = max). */
export function holdingMedian(result: SimulationResult): { median: number; rounds: number } {
  const holds = result.steady.slice(2);
  return { median: median(holds), rounds: holds.length };
}
