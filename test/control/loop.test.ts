// The control loop on a real engine and nginx: readiness, unregistered_timeout, error_marks, draining, recommissioning, PAUSED and STOPPED.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { PEERS_FILE } from '../../src/nginx/lua-balancer.js';
import { freePort } from '../../src/util/ports.js';
import { balancedConf } from '../support/configs.js';
import { containersOf } from '../support/containers.js';
import { decisionsOf, eventsOf, instancesOf, manage, setOption, setState, type InstanceView } from '../support/graphql.js';
import { request } from '../support/http.js';
import { ensureTestImage } from '../support/images.js';
import { holdConnection } from '../support/load.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const docker = new Docker();

describe('control loop', () => {
  let t: TestServer;
  before(async () => {
    ensureTestImage();
    // These tests count evaluations: every one is stored, not only changes.
    t = await startTestServer({ agent: true, name: 'loop-host', interval: 1, decisionKeepEvery: 1 });
  });
  after(async () => {
    await t?.close();
  });

  const running = async (endpoint: string, count: number) =>
    waitFor(
      async () => {
        const list = await instancesOf(t, endpoint);
        return list.length === count && list.every((i) => i.status === 'RUNNING') ? list : null;
      },
      { timeoutMs: 20_000, what: `${count} RUNNING instances of ${endpoint}` },
    );
  /** Resolves once `count` more evaluation decisions of the endpoint were stored. */
  const evaluations = async (endpoint: string, count: number) => {
    const evaluated = async () => (await decisionsOf(t, endpoint)).filter((d) => d.record.round === 'evaluate');
    const start = (await evaluated()).length;
    return waitFor(async () => {
      const list = await evaluated();
      return list.length >= start + count ? list.slice(start) : null;
    }, { timeoutMs: 15_000, what: `${count} evaluations of ${endpoint}` });
  };
  const hostname = async (instance: InstanceView) => (await docker.getContainer(instance.containerId!).inspect()).Config.Hostname;
  const unmanage = async (endpoint: string) => {
    await t.gql('mutation($n: String!) { unmanageEndpoint(name: $n) }', { n: endpoint });
    await waitFor(async () => (await containersOf(t, endpoint)).length === 0, { what: `no containers of ${endpoint}` });
  };

  it('should put a new instance into nginx only once its port answers', async () => {
    const port = await freePort();
    // hold_queue=0: nginx answers 502 itself while nothing serves, instead of holding the request (scale-from-zero.test.ts).
    await manage(t, 'ready', balancedConf({ port, holdQueue: 0, command: `/bin/sh -c 'sleep 2; exec /usr/local/bin/runapp'` }));
    await setState(t, 'ready', 'RUNNING');
    const starting = await waitFor(async () => (await instancesOf(t, 'ready')).find((i) => i.status === 'STARTING' && i.address), {
      what: 'a STARTING instance with an address',
    });
    // Published but not listening yet: nginx has no backend for it.
    const early = await request(`http://127.0.0.1:${port}/`);
    assert.equal(early.status, 502, 'not in the balancer while STARTING');
    const [ready] = await running('ready', 1);
    assert.equal(ready!.id, starting.id);
    const served = await waitFor(async () => {
      const answer = await request(`http://127.0.0.1:${port}/`);
      return answer.status === 200 ? answer : null;
    }, { what: 'the instance served through nginx' });
    assert.equal(served.body.trim(), await hostname(ready!));
    const kinds = (await eventsOf(t, 'ready')).map((e) => e.kind);
    assert.ok(kinds.indexOf('INSTANCE_STARTED') < kinds.indexOf('INSTANCE_RUNNING'), kinds.join(','));
    await unmanage('ready');
  });

  it('should mark an instance that is not ready within unregistered_timeout as errored and replace it', async () => {
    const port = await freePort();
    await manage(t, 'mute', balancedConf({ port, unregisteredTimeout: 2, command: '/bin/sleep 600' }));
    await setState(t, 'mute', 'RUNNING');
    const events = await waitFor(async () => {
      const list = await eventsOf(t, 'mute');
      const failed = list.find((e) => e.kind === 'INSTANCE_ERROR');
      return failed && list.filter((e) => e.kind === 'INSTANCE_CREATED').length >= 2 ? { failed, list } : null;
    }, { timeoutMs: 15_000, what: 'an INSTANCE_ERROR and a replacement' });
    assert.match(events.failed.message, /not ready 2 s after it was created \(unregistered_timeout\)/);
    const first = events.failed.data.instanceId;
    const replacement = events.list.filter((e) => e.kind === 'INSTANCE_CREATED').map((e) => e.data.instanceId).find((id) => id !== first);
    assert.ok(replacement, 'a new instance was created');
    await unmanage('mute');
  });

  it('should replace a RUNNING instance after error_marks failed health checks in a row', async () => {
    const port = await freePort();
    await manage(t, 'sick', balancedConf({ port, healthPath: '/index.html', errorMarks: 2 }));
    await setState(t, 'sick', 'RUNNING');
    const [sick] = await running('sick', 1);
    // The page the health check asks for goes away; the container itself keeps running.
    // (The docker CLI, not dockerode's exec: a hijacked exec stream would keep this process alive.)
    execFileSync('docker', ['exec', sick!.containerId!, '/bin/busybox', 'rm', '/www/index.html']);
    const failed = await waitFor(async () => (await eventsOf(t, 'sick')).find((e) => e.kind === 'INSTANCE_ERROR'), {
      timeoutMs: 15_000,
      what: 'INSTANCE_ERROR after failed health checks',
    });
    assert.equal(failed.data.instanceId, sick!.id);
    assert.match(failed.message, /failed 2 health checks in a row \(GET \/index\.html at 127\.0\.0\.1:\d+; error_marks 2\); replacing it/);
    const replacement = await waitFor(async () => {
      const list = await instancesOf(t, 'sick');
      return list.length === 1 && list[0]!.status === 'RUNNING' && list[0]!.id !== sick!.id ? list[0] : null;
    }, { timeoutMs: 15_000, what: 'a RUNNING replacement' });
    const replacementHost = await hostname(replacement!);
    await waitFor(async () => (await request(`http://127.0.0.1:${port}/index.html`)).body.trim() === replacementHost, {
      what: 'nginx serving the replacement',
    });
    await unmanage('sick');
  });

  it('should decommission the least active instance, keep it out of nginx while it drains, and delete it when its connection closes', async () => {
    const port = await freePort();
    await manage(t, 'drain', balancedConf({ port, min: 2, max: 2, decommissionedTimeout: 60 }));
    await setState(t, 'drain', 'RUNNING');
    const [a, b] = await running('drain', 2);
    // a has one long request open, b two: a is the least active.
    const heldA = await holdConnection(a!.address!);
    const heldB = [await holdConnection(b!.address!), await holdConnection(b!.address!)];
    try {
      await setOption(t, 'drain', 'scaling', 'min_instances', '1'); // no rules: the engine targets min_instances
      await waitFor(async () => (await instancesOf(t, 'drain')).find((i) => i.id === a!.id && i.status === 'DECOMMISSIONED'), {
        what: 'a DECOMMISSIONED',
      });
      const bHost = await hostname(b!);
      // Out of rotation at once: the Lua balancer's peer list loses a (no reload), and everything goes to b.
      const peers = join(t.dataDir, 'nginx', PEERS_FILE);
      await waitFor(() => !readFileSync(peers, 'utf8').includes(a!.address!) && readFileSync(peers, 'utf8').includes(b!.address!), {
        what: 'a out of the peer list',
      });
      await waitFor(async () => {
        for (let i = 0; i < 6; i++) if ((await request(`http://127.0.0.1:${port}/`)).body.trim() !== bHost) return false;
        return true;
      }, { what: 'six answers in a row from b (the peer list pushed)' });
      // Three more evaluations: still draining, since its connection is open and 60 s have not passed.
      await evaluations('drain', 3);
      const draining = (await instancesOf(t, 'drain')).find((i) => i.id === a!.id);
      assert.equal(draining?.status, 'DECOMMISSIONED');
      heldA.close();
      await waitFor(async () => !(await instancesOf(t, 'drain')).some((i) => i.id === a!.id), { what: 'a deleted once drained' });
      const removed = (await eventsOf(t, 'drain')).find((e) => e.kind === 'INSTANCE_REMOVED' && e.data.instanceId === a!.id);
      assert.match(removed!.message, /decommissioned and drained \(0 active connections\)/);
      assert.deepEqual((await containersOf(t, 'drain')).map((c) => c.Id), [b!.containerId]);
    } finally {
      heldA.close();
      for (const held of heldB) held.close();
    }
  });

  it('should delete a draining instance once decommissioned_timeout passes, even with a connection open', async () => {
    await setOption(t, 'drain', 'endpoint', 'decommissioned_timeout', '2');
    await setOption(t, 'drain', 'scaling', 'min_instances', '2');
    const [first, second] = await running('drain', 2);
    const busy = [await holdConnection(first!.address!), await holdConnection(first!.address!), await holdConnection(second!.address!)];
    try {
      await setOption(t, 'drain', 'scaling', 'min_instances', '1');
      const decommissioned = await waitFor(async () => (await instancesOf(t, 'drain')).find((i) => i.status === 'DECOMMISSIONED'), {
        what: 'one DECOMMISSIONED',
      });
      assert.equal(decommissioned.id, second!.id, 'the one with fewer connections goes');
      const removed = await waitFor(
        async () => (await eventsOf(t, 'drain')).find((e) => e.kind === 'INSTANCE_REMOVED' && e.data.instanceId === second!.id),
        { what: 'the busy decommissioned instance deleted after the timeout' },
      );
      assert.match(removed.message, /decommissioned_timeout 2 s passed with 1 connections still open/);
    } finally {
      for (const held of busy) held.close();
    }
    await unmanage('drain');
  });

  it('should recommission draining instances when the target rises again, before launching any', async () => {
    const port = await freePort();
    await manage(t, 'back', balancedConf({ port, min: 1, max: 5, rules: '3 <= instances <= 3' }));
    await setState(t, 'back', 'RUNNING');
    const three = await running('back', 3);
    const held = await Promise.all(three.map((i) => holdConnection(i.address!)));
    try {
      await setOption(t, 'back', 'scaling', 'rules', '1 <= instances <= 1');
      const drained = await waitFor(async () => {
        const list = (await instancesOf(t, 'back')).filter((i) => i.status === 'DECOMMISSIONED');
        return list.length === 2 ? list : null;
      }, { what: '2 DECOMMISSIONED' });
      await setOption(t, 'back', 'scaling', 'rules', '3 <= instances <= 3');
      const again = await running('back', 3);
      assert.deepEqual(again.map((i) => i.id).sort(), three.map((i) => i.id).sort(), 'the same three instances');
      const events = await eventsOf(t, 'back');
      assert.deepEqual(
        events.filter((e) => e.kind === 'INSTANCE_RECOMMISSIONED').map((e) => e.data.instanceId).sort(),
        drained.map((i) => i.id).sort(),
      );
      assert.equal(events.filter((e) => e.kind === 'INSTANCE_CREATED').length, 3, 'nothing new launched');
      const up = (await decisionsOf(t, 'back')).find((d) => d.record.actions.some((a: any) => a.kind === 'recommission'));
      assert.match(up!.summary, /recommissioning 2/);
    } finally {
      for (const h of held) h.close();
    }
  });

  it('should change nothing while PAUSED, and remove every instance when STOPPED', async () => {
    const before = await running('back', 3);
    await setState(t, 'back', 'PAUSED');
    await setOption(t, 'back', 'scaling', 'rules', '5 <= instances <= 5');
    await docker.getContainer(before[0]!.containerId!).remove({ force: true });
    const paused = await evaluations('back', 3);
    for (const decision of paused) assert.match(decision.summary, /^paused, no changes/);
    assert.ok(paused.every((d) => d.record.actions.length === 0));
    const list = await instancesOf(t, 'back');
    assert.deepEqual(list.map((i) => i.id).sort(), before.map((i) => i.id).sort(), 'no instance added or deleted');
    assert.equal(list.find((i) => i.id === before[0]!.id)!.status, 'LOST', 'the vanished container is seen, not replaced');
    assert.equal((await containersOf(t, 'back')).length, 2);

    await setState(t, 'back', 'STOPPED');
    await waitFor(async () => (await instancesOf(t, 'back')).length === 0 && (await containersOf(t, 'back')).length === 0, {
      what: 'no instances or containers once STOPPED',
    });
    const stopped = (await decisionsOf(t, 'back')).at(-1)!;
    assert.equal(stopped.target, 0);
    await unmanage('back');
  });
});
