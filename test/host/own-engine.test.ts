// A host on its own engine and address (--docker unix:///run/reactor-d2/docker.sock --address 127.0.0.2): its containers run there, publish there, and its nginx serves there; the cluster harness's kill -9, pause and restart.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { balancedConf } from '../support/configs.js';
import { containersWithLabel } from '../support/containers.js';
import { eventsOf, gqlOk, instancesOf, manageAndStart, type InstanceView } from '../support/graphql.js';
import { httpGet } from '../support/http.js';
import { take } from '../support/server.js';
import { containersSettle, engineClient, engineSocket, freePortOn, startCluster, type Cluster, type ClusterServer } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

describe('a host on engine 2 at 127.0.0.2', () => {
  let cluster: Cluster;
  let api: ClusterServer;
  let host: ClusterServer;
  let port = 0;

  before(async () => {
    // h1 is the api alone; h2 is the host (and, today, the controller) on engine 2.
    // Every server needs the key, as in production, though loopback addresses would not.
    cluster = await startCluster({ hosts: [{ agent: false }, { slots: 4 }], apiKey: 'own-engine-key' });
    api = cluster.server('h1');
    host = cluster.server('h2');
    port = await freePortOn(host.address);
  });
  after(async () => {
    await cluster?.close();
  });

  /** Exactly `count` RUNNING instances, each with an address. */
  const running = (count: number) =>
    waitFor(
      async () => {
        const list = await instancesOf(api, 'far');
        return list.length === count && list.every((i) => i.status === 'RUNNING' && i.address) ? list : null;
      },
      { timeoutMs: 30_000, what: `${count} RUNNING instances of far (${cluster.logs()})` },
    );

  let instances: InstanceView[] = [];

  it('should run the containers on engine 2, published on 127.0.0.2, and none on the main engine', async () => {
    assert.equal(host.engine, 2);
    await manageAndStart(api, 'far', balancedConf({ port, min: 2, max: 2 }));
    instances = await running(2);
    for (const instance of instances) {
      assert.match(instance.address!, /^127\.0\.0\.2:\d+$/, 'the backend address is <--address>:<published port>');
      assert.equal(instance.manager?.name, 'h2');
    }
    // As an operator sees it.
    const ids = execFileSync('docker', ['-H', `unix://${engineSocket(2)}`, 'ps', '-q', '--no-trunc', '--filter', `label=reactor.manager=${host.managerId}`])
      .toString()
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(ids, instances.map((i) => i.containerId).sort());
    assert.equal((await containersWithLabel('reactor.manager', host.managerId)).length, 0, 'nothing on the main engine');
    for (const id of ids) {
      const inspect = await engineClient(2).getContainer(id).inspect();
      assert.deepEqual(
        inspect.HostConfig.PortBindings['5000/tcp']?.map((b: { HostIp: string }) => b.HostIp),
        ['127.0.0.2'],
      );
      assert.equal(`127.0.0.2:${inspect.NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort}`, instances.find((i) => i.containerId === id)?.address);
    }
  });

  it("should register the manager at its --address", async () => {
    const { managers } = await gqlOk(api, '{ managers { name address slots } }');
    assert.deepEqual(
      managers.filter((m: { name: string }) => m.name === 'h2'),
      [{ name: 'h2', address: '127.0.0.2', slots: 4 }],
    );
  });

  it("should serve the endpoint from h2's nginx on 127.0.0.2 only (--balancer-address)", async () => {
    const hostnames = new Set(instances.map((i) => i.containerId!.slice(0, 12)));
    const answer = await waitFor(
      async () => {
        const reply = await httpGet(`127.0.0.2:${port}`);
        return reply.status === 200 ? reply : null;
      },
      { timeoutMs: 20_000, what: `h2's nginx answering on 127.0.0.2:${port}` },
    );
    assert.ok(hostnames.has(answer.body.trim()), `answered by one of the instances, not ${answer.body}`);
    await assert.rejects(httpGet(`127.0.0.1:${port}`, '/', 1000), /ECONNREFUSED/, 'nothing listens for it on 127.0.0.1');
  });

  it("should replay over graphql-ws on h2 the events h1's mutation recorded, and refuse a request without the key", async () => {
    // Recorded by h1 (the api that took the mutation); the oldest event of the endpoint.
    const managed = (await eventsOf(api, 'far')).find((e) => e.kind === 'ENDPOINT_MANAGED')!;
    const first = { id: managed.id, kind: managed.kind };
    const { done } = take(host.ws(), 'subscription($a: ID) { endpointEvents(endpoint: "far", afterId: $a) { id kind } }', { a: '0' }, 1);
    assert.deepEqual((await done)[0].endpointEvents, first);
    const anonymous = await host.gql('{ version }', {}, { 'x-auth-key': 'wrong' });
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('should freeze with pause() and answer again after resume()', async () => {
    host.pause();
    try {
      await assert.rejects(
        Promise.race([host.gql('{ version }'), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer')), 1000))]),
        /no answer/,
      );
    } finally {
      host.resume();
    }
    assert.ok((await gqlOk(host, '{ version }')).version);
  });

  it('should adopt its containers on engine 2 after kill -9 and a restart at the same url', async () => {
    const pid = host.pid();
    await host.kill9();
    assert.equal(host.alive(), false);
    await host.restart();
    assert.notEqual(host.pid(), pid);
    assert.ok((await gqlOk(host, '{ version }')).version, 'the same url answers');
    const after = await running(2);
    assert.deepEqual(after.map((i) => i.containerId).sort(), instances.map((i) => i.containerId).sort());
    await containersSettle(host, 2, 'far');
  });
});
