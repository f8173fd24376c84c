// Cached reads over the real API: whatever a mutation changes is visible to the next read at once on the same server, and on another server of the same store once its feed delivers the change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InstanceEventKinds } from '../../src/model/events.js';
import { startFerretDB, type RunningFerretDB } from '../support/ferretdb.js';
import { SEED_CONFIG } from '../support/configs.js';
import { gqlOk, manage, setOption, setState } from '../support/graphql.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const READ = 'query($name: String!) { endpoints { name state } endpoint(name: $name) { state configText instances { id status } } }';

interface Read {
  endpoints: { name: string; state: string }[];
  endpoint: { state: string; configText: string; instances: { id: string; status: string }[] } | null;
}

const read = async (t: TestServer, name: string) => (await gqlOk(t, READ, { name })) as Read;

/**
 * A PENDING instance written as the controller would: with the current
 * controller term (on a shared store, a record of an older term is dropped
 * by the controller as a stale leader's write).
 */
async function addInstance(t: TestServer, endpoint: string) {
  const { controller } = (await gqlOk(t, '{ controller { term } }')) as { controller: { term: number } | null };
  return t.server.services.instances.create(
    { endpoint, slots: 1, status: 'PENDING', managerId: null, reason: 'test', term: controller?.term ?? 0 },
    InstanceEventKinds.INSTANCE_CREATED,
    'test instance',
  );
}

describe('cached reads on one server', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ agent: false });
    await manage(t, 'web', SEED_CONFIG);
  });
  after(() => t.close());

  it('should answer repeated reads from memory and show every mutation to the very next read', async () => {
    await read(t, 'web');
    const { hits } = t.server.services.reads.counts;
    assert.equal((await read(t, 'web')).endpoint!.state, 'PAUSED');
    assert.ok(t.server.services.reads.counts.hits > hits, 'served from memory');

    await setState(t, 'web', 'RUNNING');
    let now = await read(t, 'web');
    assert.deepEqual(now.endpoints, [{ name: 'web', state: 'RUNNING' }]);
    assert.equal(now.endpoint!.state, 'RUNNING');

    await setOption(t, 'web', 'scaling', 'max_instances', '4');
    assert.match((await read(t, 'web')).endpoint!.configText, /max_instances=4/);

    const created = await addInstance(t, 'web');
    assert.deepEqual((await read(t, 'web')).endpoint!.instances, [{ id: created.id, status: 'PENDING' }]);

    await manage(t, 'api', SEED_CONFIG);
    now = await read(t, 'api');
    assert.deepEqual(now.endpoints.map((e) => e.name).sort(), ['api', 'web']);
    await gqlOk(t, 'mutation($name: String!) { unmanageEndpoint(name: $name) }', { name: 'api' });
    now = await read(t, 'api');
    assert.equal(now.endpoint, null);
    assert.deepEqual(now.endpoints.map((e) => e.name), ['web']);
  });
});

describe('cached reads on two servers of one store (FerretDB)', () => {
  let ferret: RunningFerretDB;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    ferret = await startFerretDB();
    const store = `${ferret.url}reactor_read_model`;
    a = await startTestServer({ agent: false, store, name: 'a' });
    b = await startTestServer({ agent: false, store, name: 'b' });
    await manage(a, 'web', SEED_CONFIG);
    await waitFor(async () => (await read(b, 'web')).endpoint !== null, { what: 'b sees the endpoint' });
    // A controller term has begun, so the instance the test writes carries a term no takeover drops.
    await waitFor(async () => ((await gqlOk(a, '{ controller { term } }')) as { controller: { term: number } | null }).controller, {
      what: 'a controller',
    });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await ferret?.stop();
  });

  it("should show a change made on one server to the other's next reads once its feed delivers it", async () => {
    // b answers from memory (other events of the cluster, such as the controller's, may make it read the store now and then).
    await waitFor(
      async () => {
        const { hits } = b.server.services.reads.counts;
        await read(b, 'web');
        return b.server.services.reads.counts.hits > hits;
      },
      { what: 'b answering from memory' },
    );
    // The endpoint stays PAUSED until the end: the controller (elected among a and b) changes nothing of it meanwhile.
    await setOption(a, 'web', 'scaling', 'max_instances', '3');
    assert.match((await read(a, 'web')).endpoint!.configText, /max_instances=3/, 'at once on the server that made it');
    await waitFor(async () => /max_instances=3/.test((await read(b, 'web')).endpoint!.configText), { what: 'b sees the option' });

    const created = await addInstance(a, 'web');
    await waitFor(async () => (await read(b, 'web')).endpoint!.instances.some((i) => i.id === created.id), { what: 'b sees the instance' });

    await setState(a, 'web', 'STOPPED');
    await waitFor(async () => (await read(b, 'web')).endpoint!.state === 'STOPPED', { what: 'b sees STOPPED' });
    assert.deepEqual((await read(b, 'web')).endpoints, [{ name: 'web', state: 'STOPPED' }]);

    await gqlOk(a, 'mutation($name: String!) { unmanageEndpoint(name: $name) }', { name: 'web' });
    await waitFor(async () => (await read(b, 'web')).endpoint === null, { what: 'b sees it unmanaged' });
    assert.deepEqual((await read(b, 'web')).endpoints, []);
  });
});
