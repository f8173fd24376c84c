// Instances of real endpoints on a real engine through the API: slots and the pending queue, healing, STOPPED/PAUSED, missing images.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { buildProgram } from '../../src/cli/main.js';
import { unbalancedConf as conf } from '../support/configs.js';
import { containersOf } from '../support/containers.js';
import { eventsOf, instancesOf, manageAndStart, SET_STATE } from '../support/graphql.js';
import { httpGet } from '../support/http.js';
import { ensureTestImage } from '../support/images.js';
import { startTestServer, take, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const docker = new Docker();

describe('instances on 25 slots', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    // A long interval: every round here is triggered by a change, never by the clock.
    t = await startTestServer({ agent: true, name: 'slots-host', slots: 25, interval: 300 });
  });
  after(async () => {
    await t?.close();
  });

  it('should place two 10-slot instances and keep the third pending with its reason', async () => {
    await manageAndStart(t, 'first', conf('first', { min: 3, slots: 10 }));
    const instances = await waitFor(
      async () => {
        const list = await instancesOf(t, 'first');
        return list.filter((i) => i.status === 'RUNNING').length === 2 && list.length === 3 ? list : null;
      },
      { what: '2 RUNNING and 1 PENDING instance' },
    );
    const pending = instances.find((i) => i.status === 'PENDING')!;
    assert.equal(pending.manager, null);
    assert.equal(pending.containerId, null);
    assert.match(pending.reason!, /^no manager can take 10 slots: slots-host: needs 10 slots, 5 of 25 free$/);
    for (const running of instances.filter((i) => i.status === 'RUNNING')) {
      assert.equal(running.manager!.name, 'slots-host');
      assert.match(running.address!, /^127\.0\.0\.1:\d+$/);
    }
    assert.equal((await containersOf(t, 'first')).length, 2);

    const queue = await t.gql('{ instances(status: PENDING) { id endpoint reason } }');
    assert.deepEqual(queue.data.instances, [{ id: pending.id, endpoint: 'first', reason: pending.reason }]);
    const managers = await t.gql('{ managers { name slots usedSlots clouds loadbalancers lastSeen } }');
    assert.deepEqual(managers.data.managers.map((m: any) => [m.name, m.slots, m.usedSlots]), [['slots-host', 25, 20]]);
    assert.deepEqual(managers.data.managers[0].clouds, ['docker']);
    const kinds = (await eventsOf(t, 'first')).map((e) => e.kind);
    assert.ok(kinds.includes('INSTANCE_PENDING'));
  });

  it('should serve the app at each instance address', async () => {
    for (const instance of (await instancesOf(t, 'first')).filter((i) => i.status === 'RUNNING')) {
      const answer = await httpGet(instance.address!, '/');
      assert.equal(answer.status, 200);
      const container = await docker.getContainer(instance.containerId!).inspect();
      assert.equal(answer.body.trim(), container.Config.Hostname);
    }
  });

  it('should print the instances with the CLI', async () => {
    let output = '';
    const program = buildProgram((text) => (output += text));
    await program.parseAsync(['--api', t.url, 'instances', 'first'], { from: 'user' });
    const lines = output.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+STATUS\s+ADDRESS\s+MANAGER\s+REASON$/);
    assert.equal(lines.filter((l) => /\sRUNNING\s+127\.0\.0\.1:\d+\s+slots-host\s+-$/.test(l)).length, 2);
    assert.equal(lines.filter((l) => /\sPENDING\s+-\s+-\s+no manager can take 10 slots/.test(l)).length, 1);
  });

  it('should place a waiting instance of another endpoint when room frees, and STOPPED removes all', async () => {
    await t.gql(SET_STATE, { name: 'first', state: 'PAUSED' });
    await manageAndStart(t, 'second', conf('second', { min: 1, slots: 20 }));
    const waiting = await waitFor(async () => (await instancesOf(t, 'second')).find((i) => i.status === 'PENDING'), {
      what: 'a pending instance of second',
    });
    assert.match(waiting.reason!, /needs 20 slots, 5 of 25 free/);

    await t.gql(SET_STATE, { name: 'first', state: 'STOPPED' });
    await waitFor(async () => (await instancesOf(t, 'first')).length === 0 && (await containersOf(t, 'first')).length === 0, {
      what: 'first without instances or containers',
    });
    const placed = await waitFor(async () => (await instancesOf(t, 'second')).find((i) => i.status === 'RUNNING'), {
      what: 'second placed once first released its slots',
    });
    assert.equal(placed.id, waiting.id, 'the queued instance itself is placed');
    assert.equal((await containersOf(t, 'second')).length, 1);
  });
});

describe('instances that heal, pause and go', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    t = await startTestServer({ agent: true, name: 'heal-host', interval: 300 });
  });
  after(async () => {
    await t?.close();
  });

  it('should stream instance changes over graphql-ws', async () => {
    const client = t.ws();
    const sub = take(
      client,
      'subscription($e: String) { instanceChanges(endpoint: $e) { id endpoint change instance { id status address } } }',
      { e: 'heal' },
      3,
    );
    await t.subscribed('instanceChanges');
    await manageAndStart(t, 'heal', conf('heal', { docker: 'hostname=heal-box' }));
    const items = (await sub.done).map((i) => i.instanceChanges);
    assert.deepEqual(
      items.map((i) => [i.change, i.instance.status]),
      [
        ['CREATED', 'STARTING'],
        ['STATUS_CHANGED', 'STARTING'],
        ['STATUS_CHANGED', 'RUNNING'],
      ],
    );
    assert.ok(items[1].instance.address);
    // The same changes are replayed from the log for a client that resumes.
    const replay = take(client, 'subscription($e: String, $a: ID) { instanceChanges(endpoint: $e, afterId: $a) { id change } }', { e: 'heal', a: items[0].id }, 2);
    assert.deepEqual((await replay.done).map((i) => i.instanceChanges.id), [items[1].id, items[2].id]);
  });

  it('should replace a container removed behind its back', async () => {
    const [before] = await instancesOf(t, 'heal');
    assert.equal(before!.status, 'RUNNING');
    await docker.getContainer(before!.containerId!).remove({ force: true });
    const replacement = await waitFor(
      async () => {
        const list = await instancesOf(t, 'heal');
        return list.length === 1 && list[0]!.status === 'RUNNING' && list[0]!.id !== before!.id ? list[0] : null;
      },
      { what: 'a RUNNING replacement' },
    );
    assert.notEqual(replacement.containerId, before!.containerId);
    assert.equal((await httpGet(replacement.address!, '/')).body.trim(), 'heal-box');
    const containers = await containersOf(t, 'heal');
    assert.deepEqual(containers.map((c) => c.Id), [replacement.containerId]);
    const kinds = (await eventsOf(t, 'heal')).map((e) => e.kind);
    assert.ok(kinds.includes('INSTANCE_LOST'), kinds.join(','));
  });

  it('should change nothing while PAUSED', async () => {
    await t.gql(SET_STATE, { name: 'heal', state: 'PAUSED' });
    await t.gql(`mutation { setEndpointOption(name: "heal", section: "scaling", key: "min_instances", value: "2") { version } }`);
    await t.server.services.controller!.reconcile('heal');
    assert.equal((await instancesOf(t, 'heal')).length, 1);
    assert.equal((await containersOf(t, 'heal')).length, 1);
  });

  it('should keep min_instances when RUNNING again', async () => {
    await t.gql(SET_STATE, { name: 'heal', state: 'RUNNING' });
    await waitFor(async () => (await instancesOf(t, 'heal')).filter((i) => i.status === 'RUNNING').length === 2, {
      what: '2 RUNNING instances',
    });
    assert.equal((await containersOf(t, 'heal')).length, 2);
  });

  it('should remove every container of an unmanaged endpoint', async () => {
    await t.gql('mutation { unmanageEndpoint(name: "heal") }');
    await waitFor(async () => (await containersOf(t, 'heal')).length === 0, { what: 'no containers of heal' });
    assert.deepEqual(await t.gql('{ instances(endpoint: "heal") { id } }').then((r) => r.data.instances), []);
  });

  it('should report a missing image as an event, back off, and stay up', async () => {
    await manageAndStart(t, 'ghost', conf('ghost', { image: 'reactor-test/missing:never' }));
    // Each attempt fails the same way: one event, counted, with the latest back-off.
    const events = await waitFor(
      async () => {
        const list = (await eventsOf(t, 'ghost')).filter((e) => e.kind === 'IMAGE_UNAVAILABLE');
        return list.some((e) => (e.data.repeated ?? 1) >= 2) ? list : null;
      },
      { what: 'a second IMAGE_UNAVAILABLE, folded into the first' },
    );
    assert.equal(events.length, 1);
    const attempts = events[0]!.data.repeated as number;
    const backoffMs = 1000 * 2 ** (attempts - 1); // 1 s, 2 s, 4 s …
    assert.match(events[0]!.message, new RegExp(`^image reactor-test/missing:never is not available: not found locally, and pulling it failed: .+; next attempt in ${backoffMs / 1000} s$`));
    assert.equal(events[0]!.data.image, 'reactor-test/missing:never');
    assert.ok(events[0]!.data.engine);
    assert.equal(events[0]!.data.retryInMs, backoffMs);
    assert.ok(!Number.isNaN(Date.parse(events[0]!.data.firstAt)), 'the first time is kept');
    const [instance, ...others] = await instancesOf(t, 'ghost');
    assert.equal(others.length, 0);
    assert.equal(instance!.status, 'PENDING');
    assert.match(instance!.reason!, /image reactor-test\/missing:never is not available/);
    assert.equal((await containersOf(t, 'ghost')).length, 0);
    assert.match((await t.gql('{ version }')).data.version, /^\d+\.\d+\.\d+/);
    await t.gql(SET_STATE, { name: 'ghost', state: 'STOPPED' });
    await waitFor(async () => (await instancesOf(t, 'ghost')).length === 0, { what: 'ghost without instances' });
  });
});
