// An external exclusive lock on the SQLite file does not freeze the server: the API answers, writes fail fast with STORE_UNAVAILABLE, and the loop resumes.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { SEED_CONFIG } from '../support/configs.js';

/** Another process (like the sqlite3 shell or a backup) holding the database locked for `ms`. */
async function lockExternally(file: string, ms: number): Promise<{ released: Promise<void> }> {
  const script = join(file, '..', 'lock.cjs');
  writeFileSync(
    script,
    `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
     const db = new Database(process.argv[2]);
     db.exec('BEGIN EXCLUSIVE');
     db.prepare("INSERT INTO events (id, endpoint, kind, message, data, at) VALUES ('lock', 'lock', 'LOCK', 'held', '{}', '2026-01-01 00:00:00.000')").run();
     process.send('locked');
     setTimeout(() => { db.exec('ROLLBACK'); db.close(); process.exit(0); }, Number(process.argv[3]));`,
  );
  const child = fork(script, [file, String(ms)], { stdio: 'ignore' as never });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the locking process exited with ${code}`)));
  });
  return { released: new Promise((resolve) => child.once('exit', () => resolve())) };
}

const require = (await import('node:module')).createRequire(import.meta.url);

describe('a store locked by another process', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ agent: false, interval: 0.5 });
    const managed = await t.gql('mutation($c: String!) { manageEndpoint(name: "locked", config: $c) { name } }', { c: SEED_CONFIG });
    assert.equal(managed.errors, undefined);
  });
  after(async () => t?.close());

  it('should answer { version } within a second throughout a 10 s exclusive lock, refuse writes with STORE_UNAVAILABLE, and resume after', async () => {
    const file = join(t.dataDir, 'reactor.db');
    let last = performance.now();
    let worstGap = 0;
    const beat = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 10);
    const lock = await lockExternally(file, 10_000);
    const lockedAt = Date.now();
    let released = false;
    void lock.released.then(() => (released = true));
    const versionTimes: number[] = [];
    const writeTimes: number[] = [];
    let refusal: { message: string; extensions?: Record<string, unknown> } | undefined;
    try {
      while (!released && Date.now() - lockedAt < 9_000) {
        const started = performance.now();
        const version = await t.gql('{ version }');
        versionTimes.push(performance.now() - started);
        assert.match(version.data.version, /^\d+\.\d+\.\d+/);
        if (writeTimes.length < 3) {
          const writeStarted = performance.now();
          const write = await t.gql('mutation { setEndpointState(name: "locked", state: STOPPED) { state } }');
          writeTimes.push(performance.now() - writeStarted);
          refusal = write.errors?.[0];
          assert.equal(refusal?.extensions?.code, 'STORE_UNAVAILABLE', JSON.stringify(write));
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await lock.released;
      clearInterval(beat);
    }
    assert.ok(versionTimes.length >= 10, `${versionTimes.length} version queries during the lock`);
    assert.ok(Math.max(...versionTimes) < 1000, `{ version } took up to ${Math.max(...versionTimes).toFixed(0)} ms`);
    assert.ok(Math.max(...writeTimes) < 1000, `a refused write took up to ${Math.max(...writeTimes).toFixed(0)} ms`);
    assert.match(refusal!.message, /locked by another process/);
    // Not frozen: the event loop kept turning (a frozen one showed a 10 s gap).
    assert.ok(worstGap < 500, `the event loop stalled for ${worstGap.toFixed(0)} ms`);

    // After the lock: writes work again and the sampler's loop stores samples again.
    const after = new Date();
    const write = await t.gql('mutation { setEndpointState(name: "locked", state: STOPPED) { state } }');
    assert.equal(write.errors, undefined, JSON.stringify(write.errors));
    await waitFor(async () => ((await t.server.services.store.samples.latest('locked'))?.at ?? new Date(0)) > after, { what: 'a sample stored after the lock' });
    assert.ok(t.logs.some((line) => /sampling failed: .*locked by another process/.test(String(line.msg))), 'the loop said why it skipped');
  });
});
