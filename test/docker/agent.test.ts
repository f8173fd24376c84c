// The docker agent against the real engine: every option in `docker inspect`, the app reachable, failures that leave nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { LaunchError, type ContainerExit, type ContainerSpec } from '../../src/agents/types.js';
import { parseEndpointConfig } from '../../src/config/index.js';
import { DockerAgent } from '../../src/docker/agent.js';
import { containerSpecFor } from '../../src/docker/spec.js';
import { containersWithLabel, removeContainersWithLabel } from '../support/containers.js';
import { httpGet } from '../support/http.js';
import { ensureTestImage, imageExists, TEST_IMAGE } from '../support/images.js';
import { waitFor } from '../support/wait.js';

/** An image with a shell but no /etc/passwd, where only numeric users work. */
const BARE_IMAGE = 'reactor-test/bare:1';

function ensureBareImage(): void {
  if (imageExists(BARE_IMAGE)) return;
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new Error('busybox-static is not installed: run `bash scripts/setup.sh --test`');
  const root = mkdtempSync(join(tmpdir(), 'reactor-bare-'));
  try {
    mkdirSync(join(root, 'bin'));
    cpSync(busybox, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const applet of ['sh', 'sleep']) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    execFileSync('docker', ['import', '--change', 'CMD ["/bin/sleep", "600"]', '-', BARE_IMAGE], { input: tar, stdio: ['pipe', 'ignore', 'pipe'] });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const docker = new Docker();
const API = 'http://127.0.0.1:9/graphql';

function spec(dockerSection: string, port = 5000, endpoint = 'agent-test'): ContainerSpec {
  const config = parseEndpointConfig(`[endpoint]\nport=${port}\n[cloud:docker]\n${dockerSection}\n`);
  return containerSpecFor(endpoint, config, randomUUID(), API);
}

async function rejectsWith(promise: Promise<unknown>, kind: string, message: RegExp): Promise<LaunchError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LaunchError, `not a LaunchError: ${String(error)}`);
    assert.equal(error.kind, kind);
    assert.match(error.message, message);
    return error;
  }
  assert.fail('launch succeeded');
}

describe('DockerAgent', () => {
  const managerId = `test-agent-${randomUUID()}`;
  const agent = new DockerAgent({ managerId, address: '127.0.0.1', pullTimeoutMs: 30_000 });

  before(() => {
    ensureTestImage();
    ensureBareImage();
  });
  after(async () => {
    await agent.close();
    await removeContainersWithLabel('reactor.manager', managerId);
  });

  it('should create a container with every option of the seed visible in docker inspect', async () => {
    const s = spec(
      [
        `image=${TEST_IMAGE}`,
        'command=/usr/local/bin/runapp --unused "two words"',
        'slots=3',
        'user=0:0',
        'environment=GREETING=hello world,MODE=test',
        'mem_limit=64m',
        'dns=10.1.2.3,10.1.2.4',
        'hostname=inspect-box',
      ].join('\n'),
    );
    const launched = await agent.launch(s);
    const inspect = await docker.getContainer(launched.containerId).inspect();
    assert.equal(inspect.State.Running, true);
    assert.equal(inspect.Config.Image, TEST_IMAGE);
    assert.deepEqual(inspect.Config.Cmd, ['/usr/local/bin/runapp', '--unused', 'two words']);
    assert.equal(inspect.Config.User, '0:0');
    assert.equal(inspect.Config.Hostname, 'inspect-box');
    for (const line of ['GREETING=hello world', 'MODE=test', 'PORT=5000', `REACTOR_API=${API}`, `REACTOR_INSTANCE=${s.instanceId}`]) {
      assert.ok(inspect.Config.Env.includes(line), `missing ${line} in ${inspect.Config.Env.join(' ')}`);
    }
    assert.equal(inspect.HostConfig.Memory, 64 * 1024 * 1024);
    assert.deepEqual(inspect.HostConfig.Dns, ['10.1.2.3', '10.1.2.4']);
    assert.equal(inspect.HostConfig.Init, true);
    assert.equal(inspect.HostConfig.Privileged, false);
    assert.equal(inspect.HostConfig.NetworkMode, 'bridge');
    assert.ok(!inspect.HostConfig.Binds?.length, 'no host mounts');
    assert.equal(inspect.Mounts.length, 0);
    assert.deepEqual(inspect.Config.Labels, {
      'reactor.endpoint': 'agent-test',
      'reactor.manager': managerId,
      'reactor.instance': s.instanceId,
      'reactor.slots': '3',
      'reactor.port': '5000',
    });
    const binding = inspect.NetworkSettings.Ports['5000/tcp']![0]!;
    assert.equal(binding.HostIp, '127.0.0.1');
    assert.equal(launched.address, `127.0.0.1:${binding.HostPort}`);
  });

  it('should serve the app at the instance address, with REACTOR_API in its environment', async () => {
    const s = spec(`image=${TEST_IMAGE}\nhostname=reach-me\nenvironment=GREETING=hi`);
    const launched = await agent.launch(s);
    const index = await waitFor(
      async () => {
        const answer = await httpGet(launched.address, '/');
        return answer.status === 200 ? answer.body : null;
      },
      { what: `HTTP from ${launched.address}` },
    );
    assert.equal(index.trim(), 'reach-me');
    const env = (await httpGet(launched.address, '/cgi-bin/env')).body;
    assert.match(env, new RegExp(`^REACTOR_API=${API.replace(/[.:/]/g, '\\$&')}$`, 'm'));
    assert.match(env, /^GREETING=hi$/m);
  });

  it('should list its own containers with their instance, slots and address', async () => {
    const containers = await agent.list();
    assert.equal(containers.length, 2);
    for (const c of containers) {
      assert.equal(c.endpoint, 'agent-test');
      assert.equal(c.running, true);
      assert.match(c.address!, /^127\.0\.0\.1:\d+$/);
    }
    assert.deepEqual(containers.map((c) => c.slots).sort(), [1, 3]);
  });

  it('should run a user name the image knows', async () => {
    const launched = await agent.launch(spec(`image=${TEST_IMAGE}\nuser=nobody`));
    const inspect = await docker.getContainer(launched.containerId).inspect();
    assert.equal(inspect.Config.User, 'nobody');
    assert.equal(inspect.State.Running, true);
    await agent.remove(launched.containerId);
  });

  it('should refuse a user name in an image without /etc/passwd, clearly, leaving no container', async () => {
    const before = (await agent.list()).length;
    const s = spec(`image=${BARE_IMAGE}\nuser=root`);
    await rejectsWith(agent.launch(s), 'BAD_SPEC', /user: "root" is not known in image reactor-test\/bare:1 .*numeric uid\[:gid\] such as 0:0/);
    assert.equal((await agent.list()).length, before);
    // The numeric form works in the same image.
    const numeric = await agent.launch(spec(`image=${BARE_IMAGE}\nuser=0:0\ncommand=sleep 600`));
    await agent.remove(numeric.containerId);
  });

  it('should report a missing image with the engine\'s answer, leaving no container', async () => {
    const before = (await agent.list()).length;
    const error = await rejectsWith(
      agent.launch(spec('image=reactor-test/missing:never')),
      'IMAGE_UNAVAILABLE',
      /^image reactor-test\/missing:never is not available: not found locally, and pulling it failed: \S+/,
    );
    assert.equal(error.details.image, 'reactor-test/missing:never');
    assert.ok(String(error.details.engine).length > 0);
    assert.equal((await agent.list()).length, before);
  });

  it('should refuse a command with a shell operator before creating anything (from a config stored before manage refused them)', async () => {
    const s = spec(`image=${TEST_IMAGE}`);
    await rejectsWith(agent.launch({ ...s, docker: { ...s.docker, command: 'runapp && echo hi' } }), 'BAD_SPEC', /shell operator "&&"/);
  });

  it('should report an exit through the engine events, then remove idempotently', async () => {
    const exits: ContainerExit[] = [];
    const unwatch = agent.watch((exit) => exits.push(exit));
    try {
      const s = spec(`image=${TEST_IMAGE}`);
      const launched = await agent.launch(s);
      await agent.watching();
      // Kill it behind the agent's back.
      await docker.getContainer(launched.containerId).kill();
      const exit = await waitFor(() => exits.find((e) => e.containerId === launched.containerId && e.action === 'die'), {
        what: 'a die event',
      });
      assert.equal(exit.instanceId, s.instanceId);
      assert.equal(exit.endpoint, 'agent-test');
      const listed = (await agent.list()).find((c) => c.containerId === launched.containerId);
      assert.equal(listed?.running, false);
      await agent.remove(launched.containerId);
      await agent.remove(launched.containerId);
      assert.equal((await containersWithLabel('reactor.instance', s.instanceId)).length, 0);
    } finally {
      unwatch();
    }
  });
});
