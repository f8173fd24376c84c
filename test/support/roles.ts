// The controller and the host roles together on a real SQLite store, with in-memory agents and a manual clock: the desired-state flow without Docker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryAgent } from '../../src/agents/memory.js';
import { Controller, type ControllerOptions } from '../../src/control/controller.js';
import { EventBus } from '../../src/events/bus.js';
import { EventRecorder } from '../../src/events/recorder.js';
import { EngineSync } from '../../src/host/engine-sync.js';
import { InstanceService } from '../../src/instances/service.js';
import { MetricsSampler } from '../../src/metrics/sampler.js';
import type { EndpointState } from '../../src/model/states.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { ManualTime } from '../../src/time/timers.js';
import { silentLogger } from '../../src/log/logger.js';

export interface RolesOptions {
  managers: { id: string; slots: number; agent?: MemoryAgent }[];
  controller?: Partial<Pick<ControllerOptions, 'backoff' | 'roundConcurrency' | 'traffic' | 'managerTimeoutSeconds' | 'decisionKeepEvery' | 'retentionSeconds' | 'intervalSeconds'>>;
  /** Readiness answer for every probe; default ready at once. */
  ready?: (address: string) => Promise<boolean>;
}

/**
 * One store, one controller, and one host (EngineSync) per manager, wired
 * as `reactor server` wires them but with timers off (`intervalSeconds` 0):
 * a test calls `controller.tick()`, `controller.reconcile()` or a host's
 * `sweep()`, then `settle()` until nothing moves, and moves time with
 * `time.advance()`.
 */
export class Roles {
  readonly time = new ManualTime();
  readonly bus = new EventBus();
  readonly agents = new Map<string, MemoryAgent>();
  readonly hosts = new Map<string, EngineSync>();
  controller!: Controller;
  store!: Store;
  events!: EventRecorder;
  instances!: InstanceService;
  private dir = mkdtempSync(join(tmpdir(), 'reactor-roles-'));

  static async start(options: RolesOptions): Promise<Roles> {
    const roles = new Roles();
    await roles.open(options);
    return roles;
  }

  private async open(options: RolesOptions): Promise<void> {
    const now = this.time.now;
    this.store = await openStore(`sqlite:${join(this.dir, 'store.db')}`);
    this.events = new EventRecorder(this.store, this.bus, now);
    this.instances = new InstanceService(this.store, this.bus, this.events, now);
    for (const m of options.managers) {
      await this.store.managers.upsert({
        id: m.id, name: m.id, address: '127.255.0.1', slots: m.slots, usedSlots: 0, clouds: ['docker'], loadbalancers: [], problems: [], lastSeen: now(), createdAt: now(),
      });
      const agent = m.agent ?? new MemoryAgent(m.id);
      this.agents.set(m.id, agent);
      this.hosts.set(
        m.id,
        new EngineSync({
          store: this.store, bus: this.bus, events: this.events, instances: this.instances, agent, apiUrl: () => 'http://127.0.0.1:1/graphql',
          time: this.time, probe: options.ready ?? (async () => true), readinessPollMs: 1000, intervalSeconds: 0, log: silentLogger,
        }),
      );
    }
    // The real sampler without a balancer: samples carry instance counts and custom metrics.
    const sampler = new MetricsSampler({ store: this.store, bus: this.bus, ownTimer: false, clock: now });
    this.controller = new Controller({
      traffic: () => sampler,
      // No host beats a heartbeat on a manual clock unless a test sweeps: managers stay live unless a test says otherwise.
      store: this.store, bus: this.bus, events: this.events, instances: this.instances, intervalSeconds: 0, time: this.time, managerTimeoutSeconds: 86_400,
      // Tests count evaluations: every decision is stored unless a test asks for the holding ones to be thinned.
      decisionKeepEvery: 1, ...options.controller,
    });
    for (const host of this.hosts.values()) await host.start();
    await this.controller.start();
    await this.settle();
  }

  async endpoint(name: string, config: string, state: EndpointState = 'RUNNING'): Promise<void> {
    await this.store.endpoints.create({ name, state, configText: config });
  }

  /** Waits until no round and no sync starts any more (every reaction to every change has run). */
  async settle(): Promise<void> {
    for (let pass = 0; pass < 200; pass++) {
      const before = this.activity();
      await this.controller.idle();
      for (const host of this.hosts.values()) await host.idle();
      await new Promise((resolve) => setImmediate(resolve));
      if (this.activity() === before) return;
    }
    throw new Error('the roles never settled: rounds keep starting');
  }

  /** A round of `endpoint`, and everything it sets off. */
  async round(endpoint: string): Promise<void> {
    await this.controller.reconcile(endpoint, 'trigger', 'test');
    await this.settle();
  }

  async close(): Promise<void> {
    await this.controller.stop();
    for (const host of this.hosts.values()) await host.stop();
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private activity(): number {
    let n = this.controller.activity;
    for (const host of this.hosts.values()) n += host.activity;
    return n;
  }
}

/** An endpoint's INI with the keys these tests vary. */
export function roleConf(name: string, { min = 1, max = 10, slots = 1, rules = '' }: { min?: number; max?: number; slots?: number; rules?: string } = {}): string {
  return `[endpoint]\nurl=http://${name}.test\nloadbalancer=none\nport=5000\n[scaling]\nmin_instances=${min}\nmax_instances=${max}\nrules=${rules}\n[cloud:docker]\nimage=x\nslots=${slots}\n`;
}
