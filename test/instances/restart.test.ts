// kill -9 of a real `reactor server` at several moments, then a restart: containers adopted, no duplicate, no orphan.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { markedProcesses } from '../../src/nginx/supervisor.js';
import { containersWithLabel, removeContainersWithLabel } from '../support/containers.js';
import { ensureTestImage, TEST_IMAGE } from '../support/images.js';
import { kill9, startServerProcess, terminate, type ServerProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait.js';
import { conf, MANAGE, SET_STATE } from './fixtures.js';

const docker = new Docker();

type Server = ServerProcess;

const startServer = (dataDir: string) => startServerProcess(['--data-dir', dataDir, '--name', 'restart-host', '--interval', '1']);

describe('kill -9 and restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-restart-'));
  let managerId = '';
  let server: Server | undefined;

  const instances = async (s: Server) =>
    (await s.gql('{ endpoint(name: "keep") { instances { id status containerId address } } }')).endpoint.instances as {
      id: string;
      status: string;
      containerId: string | null;
    }[];
  const containers = () => containersWithLabel('reactor.manager', managerId);

  /** Exactly `count` RUNNING instances, each with its own container, and no container without an instance. */
  async function settled(s: Server, count: number) {
    return waitFor(
      async () => {
        const list = await instances(s);
        const found = await containers();
        if (list.length !== count || list.some((i) => i.status !== 'RUNNING')) return null;
        const ids = found.map((c) => c.Id).sort();
        return JSON.stringify(ids) === JSON.stringify(list.map((i) => i.containerId).sort()) ? { list, ids } : null;
      },
      { timeoutMs: 20_000, what: `${count} RUNNING instances matching ${count} containers` },
    );
  }

  before(async () => {
    ensureTestImage();
    server = await startServer(dataDir);
    managerId = readFileSync(join(dataDir, 'manager-id'), 'utf8').trim();
  });
  after(async () => {
    if (server) await terminate(server);
    await removeContainersWithLabel('reactor.manager', managerId);
    // nginx outlives the server (each restart adopts it): end the one this test's servers ran.
    for (const pid of markedProcesses(join(dataDir, 'nginx'))) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('should adopt running containers after a kill -9, starting none', async () => {
    await server!.gql(MANAGE, { name: 'keep', config: conf('keep', { min: 2 }) });
    await server!.gql(SET_STATE, { name: 'keep', state: 'RUNNING' });
    const before = await settled(server!, 2);
    await kill9(server!);
    server = await startServer(dataDir);
    const after = await settled(server, 2);
    assert.deepEqual(after.ids, before.ids, 'the same containers, adopted');
    assert.deepEqual(after.list.map((i) => i.id).sort(), before.list.map((i) => i.id).sort());
  });

  it('should remove a labelled container no instance owns', async () => {
    await kill9(server!);
    const orphan = await docker.createContainer({
      Image: TEST_IMAGE,
      Labels: { 'reactor.endpoint': 'keep', 'reactor.manager': managerId, 'reactor.instance': randomUUID(), 'reactor.slots': '1', 'reactor.port': '5000' },
      HostConfig: { Init: true },
    });
    await orphan.start();
    server = await startServer(dataDir);
    await waitFor(async () => !(await containers()).some((c) => c.Id === orphan.id), { what: 'the orphan removed' });
    await settled(server, 2);
    const events = (await server.gql('{ events(endpoint: "keep", limit: 1000) { kind data } }')).events as { kind: string; data: any }[];
    assert.ok(events.some((e) => e.kind === 'ORPHAN_REMOVED' && e.data.containerId === orphan.id));
  });

  // Kills at moments inside a scale-up of 2 → 5: before, during and after the records and containers are written.
  for (const delayMs of [0, 15, 40, 80, 150, 300]) {
    it(`should leave no duplicate and no orphan after a kill -9 ${delayMs} ms into a scale-up`, async (t) => {
      const seen = new Set((await server!.gql('{ events(endpoint: "keep", limit: 1000) { id } }')).events.map((e: { id: string }) => e.id));
      await settled(server!, 2);
      const change = server!.gql(
        `mutation { setEndpointOption(name: "keep", section: "scaling", key: "min_instances", value: "5") { version } }`,
      );
      await change;
      await new Promise((resolve) => setTimeout(resolve, delayMs)); // the moment of the crash is the point of this test
      await kill9(server!);
      server = await startServer(dataDir);
      await settled(server, 5);
      // Which repairs the restart made (dropped records, adopted or orphaned containers) tells what moment the kill hit.
      const repairs = (await server.gql('{ events(endpoint: "keep", limit: 1000) { id kind data } }')).events
        .filter((e: { id: string; kind: string }) => !seen.has(e.id) && ['INSTANCE_ADOPTED', 'ORPHAN_REMOVED', 'INSTANCE_LOST'].concat('INSTANCE_REMOVED').includes(e.kind))
        .map((e: { kind: string; data: { reason?: string } }) => (e.data.reason ? `${e.kind}(${e.data.reason})` : e.kind));
      t.diagnostic(`repairs after the restart: ${repairs.join(', ') || 'none'}`);
      // Back to 2 for the next moment.
      await server.gql(`mutation { setEndpointOption(name: "keep", section: "scaling", key: "min_instances", value: "2") { version } }`);
      await settled(server, 2);
    });
  }

  it('should remove everything once STOPPED, across a restart', async () => {
    await server!.gql(SET_STATE, { name: 'keep', state: 'STOPPED' });
    await kill9(server!);
    server = await startServer(dataDir);
    await waitFor(async () => (await instances(server!)).length === 0 && (await containers()).length === 0, {
      what: 'no instances and no containers',
    });
  });
});
