// Cluster mode for real: three servers on one FerretDB — h1 the api and controller alone, h2 and h3 hosts on Docker engines 2 and 3 — placement across hosts, the API on any server, a stale leader fenced out, the leader killed during a scale-up, a host lost.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { balancedConf, unbalancedConf } from '../support/configs.js';
import { containersSettle, freePortOn, startCluster, type Cluster, type ClusterServer } from '../support/cluster.js';
import { eventsOf, gqlOk, instancesOf, manageAndStart, setOption, type InstanceView } from '../support/graphql.js';
import { httpGet } from '../support/http.js';
import { take } from '../support/server.js';
import { waitFor } from '../support/wait.js';

interface Lease {
  holder: string;
  term: number;
}

describe('a cluster of three servers on one MongoDB-compatible store', () => {
  let cluster: Cluster;
  let h1: ClusterServer;
  let h2: ClusterServer;
  let h3: ClusterServer;

  before(async () => {
    // h1 starts first, so it takes the controller lease; it has no host, so pausing it touches no container.
    cluster = await startCluster({ hosts: [{ agent: false }, { slots: 20 }, { slots: 10 }], interval: 1 });
    h1 = cluster.server('h1');
    h2 = cluster.server('h2');
    h3 = cluster.server('h3');
  });
  after(async () => {
    await cluster?.close();
  });

  const controller = async (on: ClusterServer = h2): Promise<Lease> => (await gqlOk(on, '{ controller { holder term } }')).controller;
  const running = (server: ClusterServer, endpoint: string, count: number, what = '') =>
    waitFor(
      async () => {
        const list = await instancesOf(server, endpoint);
        return list.length === count && list.every((i) => i.status === 'RUNNING' && i.address) ? list : null;
      },
      { timeoutMs: 60_000, what: `${count} RUNNING instances of ${endpoint} ${what}(${cluster.logs().slice(-2000)})` },
    );
  /** Every container of the endpoint on every host, by id, against the instance records: no duplicate, no orphan. */
  async function assertContainersMatchRecords(endpoint: string, hosts: ClusterServer[]): Promise<void> {
    const records = (await instancesOf(h1, endpoint)).filter((i) => i.containerId);
    const containers = (await Promise.all(hosts.map((h) => h.containers(endpoint)))).flat();
    assert.deepEqual(containers.map((c) => c.Id).sort(), records.map((i) => i.containerId).sort(), 'one container per instance record, none besides');
  }

  it('should make h1 the controller, and show every manager with its status', async () => {
    const lease = await waitFor(async () => ((await controller()) ?? null), { what: 'a controller' });
    assert.equal(lease.holder, 'h1');
    const { managers } = await gqlOk(h3, '{ managers { name address slots status } }');
    assert.deepEqual(
      managers.map((m: { name: string }) => m).sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
      [
        { name: 'h2', address: '127.0.0.2', slots: 20, status: 'READY' },
        { name: 'h3', address: '127.0.0.3', slots: 10, status: 'READY' },
      ],
    );
  });

  it('should place by slots across hosts: 4 on h2 (20 slots), 2 on h3 (10), and a 7th PENDING with its reason', async () => {
    await manageAndStart(h2, 'wide', unbalancedConf('wide', { min: 7, slots: 5 }).replace('max_instances=10', 'max_instances=7'));
    const list = await waitFor(
      async () => {
        const all = await instancesOf(h1, 'wide');
        return all.length === 7 && all.filter((i) => i.status === 'RUNNING').length === 6 ? all : null;
      },
      { timeoutMs: 60_000, what: '6 RUNNING and one more instance of wide' },
    );
    const on = (name: string) => list.filter((i) => i.manager?.name === name && i.status === 'RUNNING').length;
    assert.equal(on('h2'), 4);
    assert.equal(on('h3'), 2);
    const pending = list.filter((i) => i.status === 'PENDING');
    assert.equal(pending.length, 1);
    assert.match(pending[0]!.reason!, /h2: needs 5 slots, 0 of 20 free/);
    assert.match(pending[0]!.reason!, /h3: needs 5 slots, 0 of 10 free/);
    await assertContainersMatchRecords('wide', [h2, h3]);
    await gqlOk(h3, 'mutation { unmanageEndpoint(name: "wide") }');
    await containersSettle(h2, 0, 'wide');
    await containersSettle(h3, 0, 'wide');
  });

  it('should show on h1 a mutation made on h2, and replay on h3 what every server produced, once each and in order', async () => {
    const port = await freePortOn('127.0.0.2');
    const live: { id: string; kind: string }[] = [];
    // afterId "0": whatever was stored before the subscription went live is replayed first, so none is missed.
    const subscription = take<{ endpointEvents: { id: string; kind: string } }>(
      h1.ws(),
      'subscription { endpointEvents(endpoint: "anywhere", afterId: "0") { id kind } }',
      {},
      4,
    );
    await manageAndStart(h2, 'anywhere', balancedConf({ port, min: 1, max: 1 }));
    for (const item of await subscription.done) live.push(item.endpointEvents);
    assert.equal(live[0]!.kind, 'ENDPOINT_MANAGED', 'the mutation on h2 reached the subscriber on h1');
    await running(h3, 'anywhere', 1);
    // The store's order, read on h3, against an afterId replay on h3 of everything after the first event.
    // (A record turns RUNNING a moment before its event is stored: wait for the event.)
    const stored = await waitFor(async () => {
      const list = await eventsOf(h3, 'anywhere');
      return list.some((e) => e.kind === 'INSTANCE_RUNNING') ? list : null;
    }, { what: 'the INSTANCE_RUNNING event of anywhere' });
    const replay = take<{ endpointEvents: { id: string; kind: string } }>(
      h3.ws(),
      'subscription($a: ID) { endpointEvents(endpoint: "anywhere", afterId: $a) { id kind } }',
      { a: stored[0]!.id },
      stored.length - 1,
    );
    const replayed = (await replay.done).map((i) => i.endpointEvents.id);
    assert.deepEqual(replayed, stored.slice(1).map((e) => e.id), 'no gap, no duplicate, the same order');
    assert.equal(new Set(replayed).size, replayed.length);
    // Events made by different servers: the api's (h2: managed), the controller's (h1: placed), a host's (started, running).
    const kinds = new Set(stored.map((e) => e.kind));
    for (const kind of ['ENDPOINT_MANAGED', 'STATE_CHANGED', 'INSTANCE_CREATED', 'INSTANCE_STARTED', 'INSTANCE_RUNNING']) assert.ok(kinds.has(kind), `${kind} in ${[...kinds]}`);
    // The live stream on h1 is a prefix of the store's order.
    assert.deepEqual(live.map((e) => e.id), stored.slice(0, live.length).map((e) => e.id));
  });

  it('should fence out a stale controller: h1 paused past its lease, another takes over and changes the desired state; h1 resumed changes nothing and steps down', async () => {
    const before = await controller();
    assert.equal(before.holder, 'h1');
    h1.pause();
    let resumedAt = 0;
    let taken: Lease;
    try {
      taken = await waitFor(async () => {
        const now = await controller(h2);
        return now.holder !== 'h1' ? now : null;
      }, { timeoutMs: 30_000, what: 'another server to take the lease' });
      assert.equal(taken.term, before.term + 1);
      // The new controller changes the desired state of 'anywhere'.
      await setOption(h3, 'anywhere', 'scaling', 'max_instances', '2');
      await setOption(h3, 'anywhere', 'scaling', 'min_instances', '2');
      await running(h2, 'anywhere', 2, 'after the new controller scaled up ');
    } finally {
      h1.resume();
      resumedAt = Date.now();
    }
    const containersBefore = [...(await h2.containers('anywhere')), ...(await h3.containers('anywhere'))].map((c) => c.Id).sort();
    const steppedDown = await waitFor(
      async () => (await eventsOf(h2, '')).find((e) => e.kind === 'CONTROLLER_STEPPED_DOWN' && e.data.holder === 'h1') ?? null,
      { timeoutMs: 30_000, what: 'h1 to step down' },
    );
    assert.equal(steppedDown.data.term, before.term);
    assert.equal((await controller(h1)).holder, taken!.holder, 'h1 answers with the new holder');
    // Nothing h1 might still have had in flight changed a container: the same containers, matching the records.
    await running(h2, 'anywhere', 2);
    const containersAfter = [...(await h2.containers('anywhere')), ...(await h3.containers('anywhere'))].map((c) => c.Id).sort();
    assert.deepEqual(containersAfter, containersBefore);
    await assertContainersMatchRecords('anywhere', [h2, h3]);
    const decisions = (await gqlOk(h2, '{ endpoint(name: "anywhere") { decisions(limit: 1000) { at record } } }')).endpoint.decisions as { at: string; record: { term?: number } }[];
    const stale = decisions.filter((d) => d.record.term === before.term && Date.parse(d.at) >= resumedAt);
    assert.deepEqual(stale, [], 'no decision of the old term after it resumed');
    assert.ok(decisions.some((d) => d.record.term === taken!.term), 'the new term decides');
  });

  it('should finish a scale-up after its controller is killed, replace the instances of the lost host, and clean up when it returns', async () => {
    const lease = await controller(h1);
    const leader = cluster.server(lease.holder);
    assert.notEqual(leader.name, 'h1', 'a host leads now');
    const survivor = leader === h2 ? h3 : h2;
    const port = await freePortOn(survivor.address);
    await manageAndStart(survivor, 'grow', balancedConf({ port, min: 1, max: 6 }));
    await running(survivor, 'grow', 1);
    await setOption(survivor, 'grow', 'scaling', 'min_instances', '6');
    const killedAt = Date.now();
    await leader.kill9();
    const next = await waitFor(async () => {
      const now = await controller(survivor);
      return now.holder !== leader.name ? now : null;
    }, { timeoutMs: 30_000, what: 'a new controller' });
    assert.equal(next.term, lease.term + 1);
    const firstDecision = await waitFor(
      async () => {
        const { endpoint } = await gqlOk(survivor, '{ endpoint(name: "grow") { decisions(limit: 1000) { at record } } }');
        return (endpoint.decisions as { at: string; record: { term?: number } }[]).find((d) => d.record.term === next.term) ?? null;
      },
      { timeoutMs: 30_000, what: "the new controller's first decision" },
    );
    console.log(`# failover: kill -9 → first decision of term ${next.term} in ${Date.parse(firstDecision.at) - killedAt} ms`);
    // The killed leader was also a host: its manager is LOST after the manager timeout, and its instances are replaced.
    const replaced = await running(survivor, 'grow', 6, 'on the survivors ');
    assert.ok(replaced.every((i: InstanceView) => i.manager?.name !== leader.name), 'nothing left on the lost host');
    const { managers } = await gqlOk(survivor, '{ managers { name status } }');
    assert.equal(managers.find((m: { name: string }) => m.name === leader.name).status, 'LOST');
    await assertContainersMatchRecords('grow', [survivor]);
    // The endpoint keeps serving through the surviving front.
    const hosts = new Set(replaced.map((i: InstanceView) => i.containerId!.slice(0, 12)));
    const answer = await waitFor(async () => {
      const reply = await httpGet(`${survivor.address}:${port}`).catch(() => null);
      return reply?.status === 200 ? reply : null;
    }, { what: 'the surviving front answering' });
    assert.ok(hosts.has(answer.body.trim()), answer.body);
    // The lost host comes back: the containers no longer its own are removed, and its manager is READY again.
    await leader.restart();
    await containersSettle(leader, 0, 'grow', 60_000);
    await waitFor(async () => {
      const list = (await gqlOk(survivor, '{ managers { name status } }')).managers as { name: string; status: string }[];
      return list.find((m) => m.name === leader.name)?.status === 'READY';
    }, { timeoutMs: 30_000, what: `${leader.name} READY again` });
    const events = await eventsOf(survivor, '');
    assert.ok(events.some((e) => e.kind === 'MANAGER_LOST' && e.data.name === leader.name));
  });
});
