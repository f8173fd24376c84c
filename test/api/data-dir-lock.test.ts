// SQLite is one host: a second server on a data directory or SQLite file in use is refused at once, naming it and the pid, and a kill -9 leaves no stale lock.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ErrorCodes } from '../../src/errors/codes.js';
import { startServer } from '../../src/server/server.js';
import { SEED_CONFIG } from '../support/configs.js';
import { rejectsWithCode } from '../support/errors.js';
import { gqlOk, manage, postGraphQL, type GraphQLClient } from '../support/graphql.js';
import { ServerProcess } from '../support/server-process.js';
import { silentLogger } from '../../src/log/logger.js';

const root = mkdtempSync(join(tmpdir(), 'reactor-lock-'));
const processes: ServerProcess[] = [];
after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  rmSync(root, { recursive: true, force: true });
});

/** `reactor server` on loopback (port 0) without an agent: the lock is taken before any role starts. */
function serverProcess(...args: string[]): ServerProcess & GraphQLClient {
  const server = new ServerProcess(['--listen', '127.0.0.1:0', '--no-agent', '--interval', '1', ...args]) as ServerProcess & GraphQLClient;
  server.gql = (query, variables) => postGraphQL(server.url, query, variables);
  processes.push(server);
  return server;
}

const ENDPOINTS = '{ endpoints { name version } }';

describe('one server per data directory', () => {
  const dataDir = join(root, 'data');
  const first = serverProcess('--data-dir', dataDir);
  let before: unknown;

  it('should refuse a second server on the data directory, naming it and the pid holding it', async () => {
    await first.start();
    await manage(first, 'kept', SEED_CONFIG);
    before = await gqlOk(first, ENDPOINTS);
    const db = readFileSync(join(dataDir, 'reactor.db'));

    const second = serverProcess('--data-dir', dataDir);
    const refused = await second.startExpectingFailure();
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`data directory ${dataDir} is in use by another reactor server \\(pid ${first.pid}\\)`));
    assert.match(refused.stderr, /--data-dir/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, `one line: ${refused.stderr}`);

    // Nothing touched: the first server goes on, with the same data, and the store file is as it was.
    assert.ok(first.alive());
    assert.deepEqual(await gqlOk(first, ENDPOINTS), before);
    assert.ok(readFileSync(join(dataDir, 'reactor.db')).equals(db), 'the store file is unchanged');
  });

  it('should refuse a second server in the same process too', async () => {
    // The holder here is the first process, so the message names its pid.
    const error = await rejectsWithCode(startServer({ listen: '127.0.0.1:0', dataDir, agent: false, log: silentLogger }), ErrorCodes.CONFLICT, [
      `data directory ${dataDir}`,
      `pid ${first.pid}`,
    ]);
    assert.equal(error.details.pid, first.pid);
  });

  it('should start on the data directory after a kill -9 of the holder, with its data', async () => {
    await first.kill9();
    const next = serverProcess('--data-dir', dataDir);
    await next.start();
    assert.deepEqual(await gqlOk(next, ENDPOINTS), before);
    assert.equal(readFileSync(join(dataDir, 'server.lock.pid'), 'utf8').trim(), String(next.pid));
    await next.stop();
  });
});

describe('one server per SQLite file', () => {
  it('should refuse a second server whose --store names a SQLite file in use, whatever its data directory', async () => {
    const file = join(root, 'shared', 'reactor.db');
    const holder = await startServer({ listen: '127.0.0.1:0', dataDir: join(root, 'a'), store: `sqlite:${file}`, agent: false, log: silentLogger });
    try {
      await rejectsWithCode(
        startServer({ listen: '127.0.0.1:0', dataDir: join(root, 'b'), store: `sqlite:${file}`, agent: false, log: silentLogger }),
        ErrorCodes.CONFLICT,
        [`SQLite store ${file} is in use`, `pid ${process.pid}`, 'mongodb://'],
      );
      // The refused server let go of its data directory's lock: another server may use it at once.
      const other = await startServer({ listen: '127.0.0.1:0', dataDir: join(root, 'b'), agent: false, log: silentLogger });
      await other.close();
    } finally {
      await holder.close();
    }
    // Closing lets go of both locks.
    const again = await startServer({ listen: '127.0.0.1:0', dataDir: join(root, 'a'), store: `sqlite:${file}`, agent: false, log: silentLogger });
    await again.close();
  });
});
