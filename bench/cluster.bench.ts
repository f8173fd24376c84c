// Benchmark: cluster mode — controller failover and host loss on three real servers (one FerretDB, three Docker engines) against their goals, the container-start floor measured in the same run, (the 1,000-endpoint round on the cluster store path is cluster-round.bench.ts).
import net from 'node:net';
import { leaseTiming } from '../src/control/lease.js';
import { containersSettle, engineClient, ensureEngine, freePortOn, startCluster, type Cluster, type ClusterServer } from '../test/support/cluster.js';
import { removeContainersWithLabel, startTestContainer } from '../test/support/containers.js';
import { balancedConf } from '../test/support/configs.js';
import { gqlOk, instancesOf, manageAndStart, type InstanceView } from '../test/support/graphql.js';
import { httpGet } from '../test/support/http.js';
import { ensureTestImage } from '../test/support/images.js';
import { waitFor } from '../test/support/wait.js';
import { BENCH_LABEL } from './containers.js';
import { median } from './simulation.js';
import type { Benchmark, BenchResult } from './types.js';

/** `--interval` of every server. */
const INTERVAL_SECONDS = 1;
/** What the servers derive from it (src/control/lease.ts, src/control/controller.ts). */
const { leaseMs: LEASE_MS, renewMs: RENEW_MS } = leaseTiming(INTERVAL_SECONDS);
const MANAGER_TIMEOUT_MS = Math.max(15, 3 * INTERVAL_SECONDS) * 1000;
const FAILOVER_RUNS = 3;
const HOST_LOST_RUNS = 3;
/** Container starts per engine for the floor. */
const FLOOR_STARTS_PER_ENGINE = 3;
const ENGINES = [1, 2, 3];
/** The endpoint's fixed size: two instances per host when all three are up. */
const INSTANCES = 6;
const ENDPOINT = 'clbench';
/** Every wait of a run ends by this, so a broken cluster fails the benchmark instead of hanging it. */
const RUN_DEADLINE_MS = 90_000;

const say = (line: string) => process.stderr.write(`  cluster: ${line}\n`);
const ms = (value: number) => `${Math.round(value)} ms`;

/** create + start + first answer of the test image on each engine, published where that engine's host publishes. */
async function containerFloor(): Promise<{ all: number[]; byEngine: Record<number, number[]> }> {
  const image = ensureTestImage();
  const byEngine: Record<number, number[]> = {};
  try {
    for (const engine of ENGINES) {
      await ensureEngine(engine);
      byEngine[engine] = [];
      for (let i = 0; i < FLOOR_STARTS_PER_ENGINE; i++) {
        const t0 = performance.now();
        await startTestContainer({ [BENCH_LABEL]: 'cluster' }, { pollMs: 2, engine: engineClient(engine), hostIp: `127.0.0.${engine}`, image });
        byEngine[engine]!.push(performance.now() - t0);
      }
    }
  } finally {
    for (const engine of ENGINES) await removeContainersWithLabel(BENCH_LABEL, 'cluster', engineClient(engine));
  }
  return { all: Object.values(byEngine).flat(), byEngine };
}

/** A port free on every server's address, for the endpoint's URL (each server's nginx binds it on its own address). */
async function portFreeOnAll(servers: ClusterServer[]): Promise<number> {
  for (;;) {
    const port = await freePortOn(servers[0]!.address);
    const free = await Promise.all(servers.slice(1).map((s) => isFree(s.address, port)));
    if (free.every(Boolean)) return port;
  }
}

function isFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}

interface Lease {
  holder: string;
  term: number;
}

class Run {
  constructor(
    readonly cluster: Cluster,
    readonly port: number,
  ) {}

  alive(): ClusterServer[] {
    return this.cluster.servers.filter((s) => s.alive());
  }

  async lease(on = this.alive()[0]!): Promise<Lease> {
    return (await gqlOk(on, '{ controller { holder term } }')).controller;
  }

  /** Every server up, every manager READY, and the endpoint's instances all RUNNING with an address: a steady cluster to break. */
  async steady(): Promise<InstanceView[]> {
    const on = this.alive()[0]!;
    return waitFor(
      async () => {
        const { managers } = await gqlOk(on, '{ managers { name status } }');
        if (managers.length !== this.cluster.servers.length || managers.some((m: { status: string }) => m.status !== 'READY')) return null;
        const list = await instancesOf(on, ENDPOINT);
        return list.length === INSTANCES && list.every((i) => i.status === 'RUNNING' && i.address) ? list : null;
      },
      { timeoutMs: RUN_DEADLINE_MS, intervalMs: 100, what: `a steady cluster (${this.cluster.logs().slice(-1500)})` },
    );
  }

  /**
   * kill -9 of the controller → the new leader's first stored decision
   * (its `at`, on this machine's clock like the kill). Then the old leader
   * is started again, and the cluster left steady for the next run.
   */
  async failover(): Promise<{ decisionMs: number; electedMs: number; from: string; to: string; term: number }> {
    const before = await this.lease();
    const leader = this.cluster.server(before.holder);
    const witness = this.alive().find((s) => s !== leader)!;
    const killedAt = Date.now();
    await leader.kill9();
    const next = await waitFor(
      async () => {
        const now = await this.lease(witness);
        return now.term > before.term ? now : null;
      },
      { timeoutMs: RUN_DEADLINE_MS, intervalMs: 50, what: 'a new controller' },
    );
    const firstDecision = await waitFor(
      async () => {
        const { endpoint } = await gqlOk(witness, `{ endpoint(name: "${ENDPOINT}") { decisions(limit: 50) { at record } } }`);
        const ofTerm = (endpoint.decisions as { at: string; record: { term?: number } }[]).filter((d) => d.record.term === next.term);
        return ofTerm.length > 0 ? Math.min(...ofTerm.map((d) => Date.parse(d.at))) : null;
      },
      { timeoutMs: RUN_DEADLINE_MS, intervalMs: 50, what: "the new controller's first decision" },
    );
    const { events } = await gqlOk(witness, '{ events(endpoint: "", limit: 1000) { kind at data } }');
    const elected = (events as { kind: string; at: string; data: { term?: number } }[]).find((e) => e.kind === 'CONTROLLER_ELECTED' && e.data.term === next.term);
    await leader.restart();
    await this.steady();
    return {
      decisionMs: firstDecision - killedAt,
      electedMs: elected ? Date.parse(elected.at) - killedAt : Number.NaN,
      from: leader.name,
      to: next.holder,
      term: next.term,
    };
  }

  /** The host-loss timeline from the stored events (their `at`, on this machine's clock like the kill). */
  private async steps(on: ClusterServer, victim: string, replacements: string[], killedAt: number): Promise<Steps> {
    type Event = { kind: string; at: string; data: { name?: string; instanceId?: string } };
    const cluster = (await gqlOk(on, '{ events(endpoint: "", limit: 1000) { kind at data } }')).events as Event[];
    const endpoint = (await gqlOk(on, `{ events(endpoint: "${ENDPOINT}", limit: 1000) { kind at message } }`)).events as { kind: string; at: string; message: string }[];
    const lost = cluster.find((e) => e.kind === 'MANAGER_LOST' && e.data.name === victim && Date.parse(e.at) >= killedAt);
    const last = (kind: string) =>
      Math.max(...replacements.map((id) => Date.parse(endpoint.find((e) => e.kind === kind && e.message.includes(id))?.at ?? 'NaN'))) - killedAt;
    return { lost: lost ? Date.parse(lost.at) - killedAt : Number.NaN, placed: last('INSTANCE_CREATED'), started: last('INSTANCE_STARTED'), running: last('INSTANCE_RUNNING') };
  }

  /**
   * kill -9 of a host that is not the controller → every one of its
   * instances replaced: RUNNING on another host, and its container
   * answering through a surviving host's nginx (the first answer from each
   * replacement, asked every 10 ms on a fresh connection). Then the lost
   * host is started again; it removes the containers no longer its own.
   */
  async hostLost(): Promise<{ servingMs: number; recordsMs: number; lost: number; victim: string; front: string; steps: Steps }> {
    const lease = await this.lease();
    const before = await this.steady();
    const onHost = (name: string) => before.filter((i) => i.manager?.name === name).length;
    const candidates = this.alive().filter((s) => s.name !== lease.holder && onHost(s.name) > 0);
    const victim = candidates.sort((a, b) => onHost(b.name) - onHost(a.name))[0];
    if (!victim) throw new Error(`no host but the controller ${lease.holder} has instances of ${ENDPOINT}`);
    const front = this.alive().find((s) => s !== victim && s.name !== lease.holder) ?? this.cluster.server(lease.holder);
    const known = new Set(before.map((i) => i.id));
    const firstAnswer = new Map<string, number>();
    let asking = true;
    const asker = (async () => {
      while (asking) {
        const reply = await httpGet(`${front.address}:${this.port}`).catch(() => null);
        if (reply?.status === 200 && !firstAnswer.has(reply.body.trim())) firstAnswer.set(reply.body.trim(), Date.now());
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const killedAt = Date.now();
    try {
      await victim.kill9();
      let recordsAt = 0;
      const replacements = await waitFor(
        async () => {
          const list = await instancesOf(front, ENDPOINT);
          const ready = list.length === INSTANCES && list.every((i) => i.status === 'RUNNING' && i.address && i.manager?.name !== victim.name);
          if (!ready) return null;
          recordsAt ||= Date.now();
          const fresh = list.filter((i) => !known.has(i.id));
          return fresh.every((i) => firstAnswer.has(i.containerId!.slice(0, 12))) ? fresh : null;
        },
        { timeoutMs: RUN_DEADLINE_MS, intervalMs: 50, what: `the instances of ${victim.name} serving again elsewhere (${this.cluster.logs().slice(-1500)})` },
      );
      const servingAt = Math.max(...replacements.map((i) => firstAnswer.get(i.containerId!.slice(0, 12))!));
      const steps = await this.steps(front, victim.name, replacements.map((i) => i.id), killedAt);
      return { servingMs: servingAt - killedAt, recordsMs: recordsAt - killedAt, lost: replacements.length, victim: victim.name, front: front.name, steps };
    } finally {
      asking = false;
      await asker;
      await victim.restart();
      await containersSettle(victim, 0, ENDPOINT, RUN_DEADLINE_MS);
    }
  }
}

/** When, after the kill, the host was declared LOST and its replacements were placed, started and RUNNING (the last of them), from the events. */
interface Steps {
  lost: number;
  placed: number;
  started: number;
  running: number;
}

/** The real cluster: three servers on 127.0.0.1–3, each with its own engine and nginx, one FerretDB. */
async function realCluster(): Promise<{
  failovers: Awaited<ReturnType<Run['failover']>>[];
  losses: Awaited<ReturnType<Run['hostLost']>>[];
}> {
  const cluster = await startCluster({ hosts: 3, interval: INTERVAL_SECONDS });
  try {
    const port = await portFreeOnAll(cluster.servers);
    const run = new Run(cluster, port);
    await manageAndStart(cluster.servers[0]!, ENDPOINT, balancedConf({ port, min: INSTANCES, max: INSTANCES }));
    await run.steady();
    const failovers = [];
    for (let i = 0; i < FAILOVER_RUNS; i++) {
      const result = await run.failover();
      say(`failover ${i + 1}: ${result.from} killed → ${result.to} elected (term ${result.term}) after ${ms(result.electedMs)}, first decision after ${ms(result.decisionMs)}`);
      failovers.push(result);
    }
    const losses = [];
    for (let i = 0; i < HOST_LOST_RUNS; i++) {
      const result = await run.hostLost();
      const { steps } = result;
      say(
        `host lost ${i + 1}: ${result.victim} killed → LOST after ${ms(steps.lost)}, replacements placed ${ms(steps.placed)}, started ${ms(steps.started)}, ` +
          `RUNNING ${ms(steps.running)}, seen RUNNING ${ms(result.recordsMs)}, all ${result.lost} serving through ${result.front} after ${ms(result.servingMs)}`,
      );
      losses.push(result);
    }
    return { failovers, losses };
  } finally {
    await cluster.close();
  }
}

const bench: Benchmark = async () => {
  const results: BenchResult[] = [];

  // The 1,000-endpoint round on the cluster store path is bench/cluster-round.bench.ts: pure CPU, run before any Docker benchmark.
  const floor = await containerFloor();
  const floorMs = median(floor.all);
  say(`floor: ${Object.entries(floor.byEngine).map(([e, v]) => `engine ${e} ${v.map(ms).join(', ')}`).join('; ')}`);

  const real = await realCluster();
  const setup = `3 servers (127.0.0.1–3, engines 1–3, one FerretDB), --interval ${INTERVAL_SECONDS} s, one nginx endpoint with ${INSTANCES} instances`;

  const decisions = real.failovers.map((f) => f.decisionMs);
  const failoverGoal = 2 * LEASE_MS + INTERVAL_SECONDS * 1000;
  results.push({
    name: `controller failover, kill -9 → first decision of the new leader (median of ${decisions.length})`,
    value: median(decisions),
    unit: 'ms',
    goal: `every run <= 2 leases + 1 interval = ${failoverGoal} ms`,
    met: Math.max(...decisions) <= failoverGoal,
    note:
      `${setup}; lease ${LEASE_MS / 1000} s renewed every ${RENEW_MS / 1000} s; runs ${decisions.map(ms).join(', ')} (max ${ms(Math.max(...decisions))}); ` +
      `new leader elected after ${real.failovers.map((f) => ms(f.electedMs)).join(', ')}; the killed server is restarted between runs`,
  });

  const serving = real.losses.map((l) => l.servingMs);
  const lostGoal = MANAGER_TIMEOUT_MS + INTERVAL_SECONDS * 1000 + floorMs;
  results.push(
    {
      name: `host lost → its instances serving again elsewhere (median of ${serving.length})`,
      value: median(serving),
      unit: 'ms',
      goal: `every run <= manager timeout + 1 interval + floor = ${Math.round(lostGoal)} ms`,
      met: Math.max(...serving) <= lostGoal,
      note:
        `${setup}; kill -9 of a host that is not the controller (${real.losses.map((l) => `${l.lost} instances`).join(', ')}); manager timeout ${MANAGER_TIMEOUT_MS / 1000} s; ` +
        `runs ${serving.map(ms).join(', ')} (max ${ms(Math.max(...serving))}) until every replacement answered through a surviving host's nginx; ` +
        `per run, from the events, LOST / replacements placed / started / RUNNING after ${real.losses.map(({ steps }) => [steps.lost, steps.placed, steps.started, steps.running].map((v) => (v / 1000).toFixed(1)).join(' / ') + ' s').join('; ')}`,
    },
    {
      name: `floor: container create + start + first answer (median of ${floor.all.length}, engines 1–3)`,
      value: floorMs,
      unit: 'ms',
      goal: '',
      note: `the test image with --init and a port published on 127.0.0.N, polled every 2 ms; ${Object.entries(floor.byEngine).map(([e, v]) => `engine ${e}: ${v.map(ms).join(', ')}`).join('; ')}`,
    },
  );
  return results;
};

export default bench;
