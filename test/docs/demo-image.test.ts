// The README's demo image recipe, run as written: the image it builds answers with the container's host name, so a user sees the load spread.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import { httpGet } from '../support/http.js';
import { waitFor } from '../support/wait.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const DOCUMENTED_TAG = 'demo/httpd:1';

/** The shell block right after the README's sentence about making a tiny HTTP image. */
function recipe(): string {
  const text = readFileSync(README, 'utf8');
  const from = text.indexOf('a tiny HTTP image can be made');
  assert.ok(from > 0, 'the README describes the demo image');
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(from));
  assert.ok(block, 'a sh block follows');
  return block[1]!;
}

describe("the README's demo image", () => {
  const docker = new Docker();
  const dir = mkdtempSync(join(tmpdir(), 'reactor-demo-image-'));
  // Built under a tag of this test's own, so a user's demo/httpd:1 is never touched.
  const tag = `reactor-test/demo-${process.pid}:1`;
  let containerId: string | undefined;

  after(async () => {
    if (containerId) await docker.getContainer(containerId).remove({ force: true }).catch(() => undefined);
    await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("should answer with the container's host name", async () => {
    const script = recipe();
    assert.ok(script.includes(DOCUMENTED_TAG), `the recipe builds ${DOCUMENTED_TAG}`);
    execFileSync('sh', ['-e', '-c', script.replaceAll(DOCUMENTED_TAG, tag)], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const container = await docker.createContainer({
      Image: tag,
      ExposedPorts: { '5000/tcp': {} },
      HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, Init: true },
    });
    containerId = container.id;
    await container.start();
    const info = await container.inspect();
    const address = `127.0.0.1:${info.NetworkSettings.Ports['5000/tcp']![0]!.HostPort}`;
    const answer = await waitFor(async () => {
      const got = await httpGet(address).catch(() => null);
      return got?.status === 200 ? got : null;
    }, { what: 'the demo container answering' });
    assert.equal(answer.body.trim(), info.Config.Hostname);
    assert.match(answer.body.trim(), /^[0-9a-f]{12}$/, 'a container host name, not a fixed page');
  });
});
