// Scale from zero in a cluster: a request held by one host's activator reaches the controller (another server) through the store as a SURGE event, and the first instance is launched in a HELD round and answers it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { balancedConf } from '../support/configs.js';
import { freePortOn, startCluster, type Cluster, type ClusterServer } from '../support/cluster.js';
import { decisionsOf, eventsOf, gqlOk, instancesOf, manageAndStart } from '../support/graphql.js';
import { request, type Answer } from '../support/http.js';
import { waitFor } from '../support/wait.js';

describe('scale from zero in a cluster', () => {
  let cluster: Cluster;
  let h1: ClusterServer;
  let h2: ClusterServer;

  before(async () => {
    // h1 has no agent: when it leads, the controller is on another server than the host that holds the request.
    cluster = await startCluster({ hosts: [{ agent: false }, { slots: 10 }], interval: 10 });
    h1 = cluster.server('h1');
    h2 = cluster.server('h2');
  });
  after(async () => {
    await cluster?.close();
  });

  it("should launch the first instance for a request held on a host, through the store, and answer it", async (ctx) => {
    const port = await freePortOn(h2.address);
    await manageAndStart(h1, 'zero', balancedConf({ port, min: 0, max: 1, rules: '0 < rate < 100' }));
    const url = `http://${h2.address}:${port}/`;
    // Until h2's nginx has the endpoint it answers 502 at once; from then on the request is held until an instance serves.
    let sent = 0;
    const answer = await waitFor<Answer | null>(
      async () => {
        sent = Date.now();
        const got = await request(url, { timeoutMs: 30_000 });
        return got.status === 502 ? null : got;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `h2 holding requests for zero (${cluster.logs().slice(-1000)})` },
    );
    ctx.diagnostic(`held request answered ${Date.now() - sent} ms after it was sent`);
    assert.equal(answer.status, 200, answer.body);
    const [instance] = await instancesOf(h1, 'zero');
    assert.ok(instance, 'one instance runs');
    const { controller } = await gqlOk(h1, '{ controller { holder } }');
    ctx.diagnostic(`controller: ${controller.holder}; the request was held on h2`);
    const surge = (await eventsOf(h1, 'zero')).find((e) => e.kind === 'SURGE');
    assert.equal(surge?.data.startedBy, 'held');
    const launch = (await decisionsOf(h1, 'zero')).find((d) => d.record.applied?.some((a: { kind: string }) => a.kind === 'launch'));
    assert.equal(launch?.record.startedBy, 'held', launch?.summary);
  });
});
