// Traffic in a cluster: every host's nginx balances over the instances of every host, and an endpoint's rate is its traffic through every front, added up from each host's share.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { balancedConf } from '../support/configs.js';
import { freePortOn, startCluster, type Cluster, type ClusterServer } from '../support/cluster.js';
import { gqlOk, instancesOf, manageAndStart, type InstanceView } from '../support/graphql.js';
import { load, type LoadResult } from '../support/load.js';
import { waitFor } from '../support/wait.js';

/** The load generator exits once its standard input closes: close it when every request has its answer. */
const done = (count: number) => (progress: LoadResult) => progress.ok + progress.failed >= count;

interface Sample {
  id: string;
  at: string;
  instances: number;
  metrics: Record<string, number>;
}

describe('traffic through two fronts', () => {
  let cluster: Cluster;
  let h2: ClusterServer;
  let h3: ClusterServer;
  let port = 0;
  let instances: InstanceView[] = [];
  /** When the first test's load ended: the second counts only what comes after it was counted. */
  let firstLoadEnded = 0;

  before(async () => {
    cluster = await startCluster({ hosts: [{ agent: false }, { slots: 20 }, { slots: 10 }], interval: 1 });
    h2 = cluster.server('h2');
    h3 = cluster.server('h3');
    port = await freePortOn('127.0.0.2');
    // 5 slots an instance: h2 (20) and h3 (10) both get some of the four.
    await manageAndStart(h2, 'split', balancedConf({ port, min: 4, max: 4 }).replace('[cloud:docker]', '[cloud:docker]\nslots=5'));
    instances = await waitFor(
      async () => {
        const list = await instancesOf(h2, 'split');
        return list.length === 4 && list.every((i) => i.status === 'RUNNING') ? list : null;
      },
      { timeoutMs: 60_000, what: `4 RUNNING instances of split (${cluster.logs().slice(-1500)})` },
    );
  });
  after(async () => {
    await cluster?.close();
  });

  const samples = async (): Promise<Sample[]> =>
    (await gqlOk(h3, '{ endpoint(name: "split") { metricHistory(limit: 1000) { id at instances metrics } } }')).endpoint.metricHistory;

  it('should send requests through either front to instances on both hosts', async () => {
    const on = (name: string) => new Set(instances.filter((i) => i.manager?.name === name).map((i) => i.containerId!.slice(0, 12)));
    const [ofH2, ofH3] = [on('h2'), on('h3')];
    assert.ok(ofH2.size > 0 && ofH3.size > 0, `instances on both hosts: ${JSON.stringify(instances.map((i) => i.manager?.name))}`);
    for (const front of [h2, h3]) {
      const result = await load(`http://${front.address}:${port}/`, { concurrency: 4, maxRequests: 200, stop: done(200) });
      // Instances joining change the fronts' peers without a reload: nothing is lost.
      assert.equal(result.ok, 200, `${result.ok} of 200 answered through ${front.name}: ${JSON.stringify(result.failures)}`);
      const seen = Object.keys(result.hosts);
      assert.ok(seen.some((h) => ofH2.has(h)), `${front.name}'s front reached an instance on h2: ${seen}`);
      assert.ok(seen.some((h) => ofH3.has(h)), `${front.name}'s front reached an instance on h3: ${seen}`);
    }
    firstLoadEnded = Date.now();
  });

  it("should measure the endpoint's rate as the sum through both fronts, within 10 %", async () => {
    // Start counting at a sample boundary after the first test's traffic has been counted: two quiet samples
    // taken well after it ended (every host's share of it has come in by then).
    const mark = await waitFor(async () => {
      const list = await samples();
      const [before, last] = list.slice(-2);
      return before && last && before.metrics.rate === 0 && last.metrics.rate === 0 && Date.parse(before.at) > firstLoadEnded + 2000 ? last : null;
    }, { timeoutMs: 30_000, what: 'two quiet samples after the first load' });
    const perFront = 300;
    const [a, b] = await Promise.all(
      [h2, h3].map((front) => load(`http://${front.address}:${port}/`, { concurrency: 3, maxRequests: perFront, stop: done(perFront) })),
    );
    assert.equal(a!.ok + b!.ok, 2 * perFront, JSON.stringify([a!.failures, b!.failures]));
    const loadEnded = Date.now();
    // Until two samples after the load are quiet again: every host's share of it has been counted.
    const after = await waitFor(async () => {
      const list = (await samples()).filter((s) => Date.parse(s.at) > Date.parse(mark.at));
      const late = list.filter((s) => Date.parse(s.at) > loadEnded + 1000);
      return late.length >= 2 && late.slice(-2).every((s) => s.metrics.rate === 0) ? list : null;
    }, { timeoutMs: 30_000, what: 'quiet samples after the load' }).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify((await samples()).slice(-15).map((s) => [s.at.slice(17, 23), s.instances, +s.metrics.rate.toFixed(2)]))} load ended ${new Date(loadEnded).toISOString().slice(17, 23)}`);
    });
    let previous = Date.parse(mark.at);
    let counted = 0;
    for (const sample of after) {
      const seconds = (Date.parse(sample.at) - previous) / 1000;
      previous = Date.parse(sample.at);
      counted += sample.metrics.rate * sample.instances * seconds;
    }
    const sent = 2 * perFront;
    assert.ok(Math.abs(counted - sent) <= sent * 0.1, `counted ${counted.toFixed(1)} requests of ${sent} through both fronts`);
    const busiest = after.reduce((x, y) => (y.metrics.rate > x.metrics.rate ? y : x));
    assert.equal(busiest.instances, 4);
  });
});
