// kill -9 of a real `reactor server` at several moments, then a restart: containers adopted, no duplicate, no orphan.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { markedProcesses } from '../../src/nginx/supervisor.js';
import { CLI_ENTRY } from '../support/cli.js';
import { unbalancedConf } from '../support/configs.js';
import { containersWithLabel, removeContainersWithLabel } from '../support/containers.js';
import { eventsOf, instancesOf, manageAndStart, postGraphQL, setOption, setState, type GraphQLClient } from '../support/graphql.js';
import { ensureTestImage, TEST_IMAGE } from '../support/images.js';
import { waitFor } from '../support/wait.js';

const docker = new Docker();

interface Server extends GraphQLClient {
  child: ChildProcess;
  url: string;
}

/** Starts `reactor server` as its own process; resolves with its URL from the "listening on" line. */
async function startServerProcess(dataDir: string): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI_ENTRY, 'server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--name', 'restart-host', '--interval', '1'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], { timeoutMs: 20_000, what: `the server to listen (${stderr})` });
  return { child, url, gql: (query, variables) => postGraphQL(url, query, variables) };
}

function kill9(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

async function stop(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

const startServer = startServerProcess;
const terminate = stop;

describe('kill -9 and restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-restart-'));
  let managerId = '';
  let server: Server | undefined;

  const instances = (s: Server) => instancesOf(s, 'keep');
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
    await manageAndStart(server!, 'keep', unbalancedConf('keep', { min: 2 }));
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
    const events = await eventsOf(server, 'keep');
    assert.ok(events.some((e) => e.kind === 'ORPHAN_REMOVED' && e.data.containerId === orphan.id));
  });

  // Kills at moments inside a scale-up of 2 → 5: before, during and after the records and containers are written.
  for (const delayMs of [0, 15, 40, 80, 150, 300]) {
    it(`should leave no duplicate and no orphan after a kill -9 ${delayMs} ms into a scale-up`, async (t) => {
      const seen = new Set((await eventsOf(server!, 'keep')).map((e) => e.id));
      await settled(server!, 2);
      await setOption(server!, 'keep', 'scaling', 'min_instances', '5');
      await new Promise((resolve) => setTimeout(resolve, delayMs)); // the moment of the crash is the point of this test
      await kill9(server!);
      server = await startServer(dataDir);
      await settled(server, 5);
      // Which repairs the restart made (dropped records, adopted or orphaned containers) tells what moment the kill hit.
      const repairs = (await eventsOf(server, 'keep'))
        .filter((e) => !seen.has(e.id) && ['INSTANCE_ADOPTED', 'ORPHAN_REMOVED', 'INSTANCE_LOST'].concat('INSTANCE_REMOVED').includes(e.kind))
        .map((e) => (e.data.reason ? `${e.kind}(${e.data.reason})` : e.kind));
      t.diagnostic(`repairs after the restart: ${repairs.join(', ') || 'none'}`);
      // Back to 2 for the next moment.
      await setOption(server, 'keep', 'scaling', 'min_instances', '2');
      await settled(server, 2);
    });
  }

  it('should remove everything once STOPPED, across a restart', async () => {
    await setState(server!, 'keep', 'STOPPED');
    await kill9(server!);
    server = await startServer(dataDir);
    await waitFor(async () => (await instances(server!)).length === 0 && (await containers()).length === 0, {
      what: 'no instances and no containers',
    });
  });
});
