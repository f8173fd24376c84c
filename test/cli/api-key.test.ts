// The CLI's API key: from a file or the environment (never needed on the command line), and a warning when it is given there.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { reactor } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('reactor CLI API key', () => {
  const key = 'cli-key-from-a-file-0123456789';
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer({ apiKey: key });
    dir = mkdtempSync(join(tmpdir(), 'reactor-key-'));
    writeFileSync(join(dir, 'key'), `${key}\n`);
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should read the key from --api-key-file and from REACTOR_API_KEY_FILE', async () => {
    const run = await reactor(['--api', t.url, '--api-key-file', join(dir, 'key'), 'version']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const env = await reactor(['--api', t.url, 'version'], { env: { REACTOR_API_KEY_FILE: join(dir, 'key') } });
    assert.equal(env.code, 0, env.stderr);
  });

  it('should read the key from REACTOR_API_KEY without a warning, and warn when it is on the command line', async () => {
    const env = await reactor(['--api', t.url, 'version'], { env: { REACTOR_API_KEY: key } });
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stderr, '');
    const argv = await reactor(['--api', t.url, '--api-key', key, 'version']);
    assert.equal(argv.code, 0, argv.stderr);
    assert.match(argv.stderr, /--api-key is visible to every user of this machine \(ps\); use --api-key-file/);
  });

  it('should say which file it cannot read, and refuse a wrong key with UNAUTHENTICATED', async () => {
    const missing = await reactor(['--api', t.url, '--api-key-file', join(dir, 'nope'), 'version']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--api-key-file .*nope: cannot read it \(ENOENT\)/);
    writeFileSync(join(dir, 'wrong'), 'not-the-key');
    const wrong = await reactor(['--api', t.url, '--api-key-file', join(dir, 'wrong'), 'version']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /missing or wrong API key/);
  });
});
