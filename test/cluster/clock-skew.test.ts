// Servers whose clocks differ (h2 two seconds behind, h3 four and a half ahead, by --test-clock-offset): every subscriber still gets every item once, in the store's order; afterId resumes without gap or repeat; the lease is neither stolen nor lost.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'graphql-ws';
import { leaseTiming } from '../../src/control/lease.js';
import { unbalancedConf } from '../support/configs.js';
import { startCluster, type Cluster, type ClusterServer } from '../support/cluster.js';
import { gqlOk, manage, setOption } from '../support/graphql.js';
import { take } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** h2's and h3's clocks against the machine's (h1's). h3 is ahead by more than a lease minus a renewal period (6 − 2 s at --interval 1). */
const BEHIND_MS = -2000;
const AHEAD_MS = 4500;
const { leaseMs } = leaseTiming(1);

interface Item {
  id: string;
  endpoint: string;
  at: string;
}

/** Everything a subscription gives, until stopped. */
function collect<T>(client: Client, query: string, pick: (data: T) => Item): { items: Item[]; errors: string[]; stop: () => void } {
  const items: Item[] = [];
  const errors: string[] = [];
  const stop = client.subscribe<T>(
    { query },
    {
      next: (value) => (value.errors ? errors.push(value.errors.map((e) => e.message).join('; ')) : items.push(pick(value.data as T))),
      error: (error) => errors.push(error instanceof Error ? error.message : JSON.stringify(error)),
      complete: () => {},
    },
  );
  return { items, errors, stop };
}

describe('a cluster whose servers\' clocks differ by seconds', () => {
  let cluster: Cluster;
  let h1: ClusterServer;
  let h2: ClusterServer;
  let h3: ClusterServer;

  before(async () => {
    // h1 (no host) starts first and takes the lease; h2 and h3 are hosts on engines 2 and 3, with their clocks moved.
    cluster = await startCluster({
      hosts: [{ agent: false }, { args: ['--test-clock-offset', String(BEHIND_MS)] }, { args: ['--test-clock-offset', String(AHEAD_MS)] }],
      interval: 1,
      // Every evaluation stored, so the decisions' stream has one a second.
      args: ['--decision-every', '1'],
    });
    h1 = cluster.server('h1');
    h2 = cluster.server('h2');
    h3 = cluster.server('h3');
  });
  after(async () => {
    await cluster?.close();
  });

  const controller = async (on: ClusterServer): Promise<{ holder: string; term: number }> => (await gqlOk(on, '{ controller { holder term } }')).controller;
  /** The store's order of an endpoint's events, read on `on`. */
  const stored = async (on: ClusterServer, endpoint: string): Promise<Item[]> =>
    (await gqlOk(on, `{ events(endpoint: "${endpoint}", limit: 1000) { id endpoint at } }`)).events;

  it('should give a subscriber on every server every event once, in the store\'s order, whichever server made it, and resume after any id', async () => {
    const endpoints = ['skew-a', 'skew-b'];
    const servers = [h1, h2, h3];
    const subscribers = servers.map((s) =>
      collect<{ endpointEvents: Item }>(s.ws(), 'subscription { endpointEvents { id endpoint at } }', (d) => d.endpointEvents),
    );
    // Every subscription is live once it has seen an event made after it was opened.
    await manage(h1, 'skew-ready', unbalancedConf('skew-ready'));
    await waitFor(() => (subscribers.every((s) => s.items.some((i) => i.endpoint === 'skew-ready')) ? true : null), { what: 'every subscription live' });

    for (const endpoint of endpoints) await manage(h1, endpoint, unbalancedConf(endpoint));
    // Mutations on h1, h2, h3 in turn, each acknowledged before the next: the store's order is this order.
    for (let n = 0; n < 18; n++) {
      const server = servers[n % 3]!;
      await setOption(server, endpoints[n % 2]!, 'scaling', 'max_instances', String(20 + n));
    }
    // A last event: each server's feed delivers in the store's order, so a subscriber that has it has had every one before it.
    await manage(h2, 'skew-end', unbalancedConf('skew-end'));
    await waitFor(() => (subscribers.every((s) => s.items.some((i) => i.endpoint === 'skew-end')) ? true : null), { what: 'every subscriber at the last event' });

    const order = [...(await stored(h3, 'skew-a')), ...(await stored(h3, 'skew-b'))];
    const inStore = (await gqlOk(h3, '{ events(limit: 1000) { id } }')).events.map((e: { id: string }) => e.id) as string[];
    order.sort((a, b) => inStore.indexOf(a.id) - inStore.indexOf(b.id));
    assert.equal(order.length, 2 + 18);
    // The clocks really differ: ids (and times) made on h2 sort before those made earlier on h1 and h3.
    const ids = order.map((e) => e.id);
    assert.notDeepEqual([...ids].sort(), ids, 'ids run against the store\'s order');
    assert.ok(order.some((e, n) => n > 0 && Date.parse(e.at) < Date.parse(order[n - 1]!.at)), 'times run against it too');

    for (const [n, subscriber] of subscribers.entries()) {
      assert.deepEqual(subscriber.errors, []);
      const got = subscriber.items.filter((i) => endpoints.includes(i.endpoint)).map((i) => i.id);
      assert.deepEqual(got, ids, `the subscriber on ${servers[n]!.name}: every event once, in the store's order`);
      for (const endpoint of endpoints) {
        assert.deepEqual(
          subscriber.items.filter((i) => i.endpoint === endpoint).map((i) => i.id),
          order.filter((e) => e.endpoint === endpoint).map((e) => e.id),
          `${endpoint} on ${servers[n]!.name}`,
        );
      }
      subscriber.stop();
    }

    // afterId on every server, after an event made on each server: exactly the rest, in order, whatever its id.
    for (const server of servers) {
      for (const from of [3, 4, 5]) {
        const rest = ids.slice(from + 1);
        const replay = take<{ endpointEvents: Item }>(
          server.ws(),
          'subscription($a: ID, $e: String) { endpointEvents(endpoint: $e, afterId: $a) { id endpoint at } }',
          { a: ids[from], e: 'skew-a' },
          rest.filter((id) => order.find((e) => e.id === id)!.endpoint === 'skew-a').length,
        );
        assert.deepEqual(
          (await replay.done).map((i) => i.endpointEvents.id),
          order.filter((e, n) => n > from && e.endpoint === 'skew-a').map((e) => e.id),
          `afterId ${ids[from]} on ${server.name}`,
        );
      }
    }
  });

  it('should give a subscriber on every server every instance change once, in the store\'s order, made by the controller and by the hosts', async () => {
    const subscribers = [h1, h2, h3].map((s) =>
      collect<{ instanceChanges: Item & { instance: { status: string } } }>(
        s.ws(),
        // afterId "0": what was stored before the subscription went live is replayed first, then the live stream joins it.
        'subscription { instanceChanges(endpoint: "skew-run", afterId: "0") { id endpoint at instance { status } } }',
        (d) => d.instanceChanges,
      ),
    );
    await manage(h1, 'skew-run', unbalancedConf('skew-run', { min: 4 }));
    await gqlOk(h2, 'mutation { setEndpointState(name: "skew-run", state: RUNNING) { state } }');
    // Four instances: placed by h1 (the controller), started and made RUNNING by h2 and h3 on their own clocks.
    const events = await waitFor(
      async () => {
        const list = (await gqlOk(h1, '{ events(endpoint: "skew-run", limit: 1000) { id kind } }')).events as { id: string; kind: string }[];
        return list.filter((e) => e.kind === 'INSTANCE_RUNNING').length === 4 ? list : null;
      },
      { timeoutMs: 60_000, what: `four RUNNING instances of skew-run (${cluster.logs().slice(-1500)})` },
    );
    const changes = events.filter((e) => e.kind.startsWith('INSTANCE_')).map((e) => e.id);
    await waitFor(() => (subscribers.every((s) => s.items.length >= changes.length) ? true : null), { what: 'every subscriber to have every change' });
    // One more change, to see that nothing was given twice behind the last one.
    await setOption(h3, 'skew-run', 'scaling', 'min_instances', '3');
    const withLast = await waitFor(
      async () => {
        const list = (await gqlOk(h1, '{ events(endpoint: "skew-run", limit: 1000) { id kind } }')).events as { id: string; kind: string }[];
        const all = list.filter((e) => e.kind.startsWith('INSTANCE_')).map((e) => e.id);
        return all.length > changes.length && subscribers.every((s) => s.items.length >= all.length) ? all : null;
      },
      { timeoutMs: 30_000, what: 'the change after scaling down to 3' },
    );
    for (const [n, subscriber] of subscribers.entries()) {
      assert.deepEqual(subscriber.errors, []);
      assert.deepEqual(subscriber.items.map((i) => i.id), withLast, `instance changes on h${n + 1}: each once, in the store's order`);
      subscriber.stop();
    }
    assert.notDeepEqual([...withLast].sort(), withLast, 'ids made on h1, h2 and h3 run against the store\'s order');
  });

  it('should leave the lease with its holder through many renewals, then fail over to the server whose clock is behind, whose decisions every subscriber gets once, in order', async () => {
    const held = await controller(h3);
    assert.deepEqual(held, { holder: 'h1', term: held.term });
    // h3's clock is ahead by more than a lease minus a renewal period: a server that read expiresAt on its own clock would take the lease at once.
    const elections = async () =>
      ((await gqlOk(h2, '{ events(endpoint: "", limit: 1000) { kind } }')).events as { kind: string }[]).filter((e) => e.kind === 'CONTROLLER_ELECTED').length;
    const electedBefore = await elections();
    const decisions = [h2, h3].map((s) =>
      collect<{ scalingDecisions: Item }>(s.ws(), 'subscription { scalingDecisions(endpoint: "skew-run") { id endpoint at } }', (d) => d.scalingDecisions),
    );
    // Three leases' worth of evaluations (one a second) by h1.
    await waitFor(() => (decisions.every((d) => d.items.length >= (3 * leaseMs) / 1000) ? true : null), { timeoutMs: 60_000, what: 'evaluations for three leases' });
    assert.deepEqual(await controller(h3), held, 'nobody took the lease from its live holder');
    assert.equal(await elections(), electedBefore, 'no election meanwhile');

    // h3 is paused while h1 dies, so h2 takes over: its decisions' ids then sort before h1's last ones.
    h3.pause();
    let next: { holder: string; term: number };
    try {
      await h1.kill9();
      next = await waitFor(
        async () => {
          const now = await controller(h2);
          return now.term > held.term ? now : null;
        },
        { timeoutMs: 4 * leaseMs, what: 'a new controller' },
      );
    } finally {
      h3.resume();
    }
    assert.equal(next.holder, 'h2');
    // Decisions of the new term, stamped and numbered on h2's clock, two seconds behind h1's.
    const storedDecisions = async () =>
      (await gqlOk(h2, '{ endpoint(name: "skew-run") { decisions(limit: 1000) { id record } } }')).endpoint.decisions as { id: string; record: { term?: number } }[];
    const afterFailover = await waitFor(
      async () => {
        const list = await storedDecisions();
        return list.filter((d) => d.record.term === next.term).length >= 3 ? list : null;
      },
      { timeoutMs: 30_000, what: `three decisions of term ${next.term}` },
    );
    const ids = afterFailover.map((d) => d.id);
    await waitFor(() => (decisions.every((d) => d.items.some((i) => i.id === ids[ids.length - 1])) ? true : null), { what: 'the subscribers at the last stored decision' });
    for (const [n, subscriber] of decisions.entries()) {
      assert.deepEqual(subscriber.errors, []);
      const got = subscriber.items.map((i) => i.id);
      const first = ids.indexOf(got[0]!);
      assert.ok(first >= 0, 'the first decision given is a stored one');
      assert.deepEqual(got.slice(0, ids.length - first), ids.slice(first), `decisions on h${n + 2}: each once, in the store's order, across the failover`);
      subscriber.stop();
    }
  });
});
