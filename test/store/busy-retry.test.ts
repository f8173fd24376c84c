// The store guard on a scripted repository: retries while SQLite is locked, then STORE_UNAVAILABLE; disk failures and a broken MongoDB connection named; other errors untouched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoNetworkError } from 'mongodb';
import { ReactorError } from '../../src/errors/codes.js';
import { guardStore } from '../../src/store/busy-retry.js';
import type { Store } from '../../src/store/types.js';

const busy = () => Object.assign(new Error('database is locked'), { driverError: { code: 'SQLITE_BUSY' } });

/** A store whose events.append fails as `failures` says, then succeeds. */
function scripted(failures: (() => Error)[]): { store: Store; calls: () => number } {
  let calls = 0;
  const events = {
    async append() {
      calls += 1;
      const next = failures.shift();
      if (next) throw next();
    },
  };
  const store = { kind: 'sqlite', events, close: async () => {} } as unknown as Store;
  for (const name of ['endpoints', 'managers', 'instances', 'samples', 'decisions', 'customMetrics', 'secrets']) (store as unknown as Record<string, object>)[name] = {};
  return { store, calls: () => calls };
}

const options = { deadlineMs: 200, firstDelayMs: 5, maxDelayMs: 50, name: 'sqlite:test.db' };
const event = { id: '1', endpoint: 'e', kind: 'K', message: 'm', data: {}, at: new Date() };

describe('guardStore', () => {
  it('should retry a call while the file is locked and succeed once it is free', async () => {
    const { store, calls } = scripted([busy, busy, busy]);
    await guardStore(store, options).events.append(event);
    assert.equal(calls(), 4);
  });

  it('should give up with STORE_UNAVAILABLE, naming the store and the lock, once the deadline passes', async () => {
    const { store, calls } = scripted(Array.from({ length: 1000 }, () => busy));
    await assert.rejects(guardStore(store, options).events.append(event), (error: unknown) => {
      assert.ok(error instanceof ReactorError);
      assert.equal(error.code, 'STORE_UNAVAILABLE');
      assert.match(error.message, /sqlite:test.db is locked by another process/);
      assert.equal(error.details.operation, 'events.append');
      return true;
    });
    assert.ok(calls() > 2 && calls() < 50, `${calls()} attempts`);
  });

  it('should name a full disk or a read-only file at once, and let other errors through as they are', async () => {
    const full = scripted([() => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })]);
    await assert.rejects(guardStore(full.store, options).events.append(event), /STORE_UNAVAILABLE|could not write: the disk is full \(SQLITE_FULL\)/);
    assert.equal(full.calls(), 1);
    const other = scripted([() => new ReactorError('ALREADY_EXISTS', 'event "1" already exists')]);
    await assert.rejects(guardStore(other.store, options).events.append(event), (error: unknown) => (error as ReactorError).code === 'ALREADY_EXISTS');
  });

  it('should answer a MongoDB connection broken under a write with STORE_UNAVAILABLE at once, saying the write may have been made', async () => {
    const broken = scripted([() => new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed')]);
    await assert.rejects(guardStore(broken.store, { ...options, name: 'mongodb://db/reactor' }).events.append(event), (error: unknown) => {
      assert.ok(error instanceof ReactorError);
      assert.equal(error.code, 'STORE_UNAVAILABLE');
      assert.equal(
        error.message,
        'the connection to the store mongodb://db/reactor broke while it was writing (connection 3 to 127.0.0.1:27017 closed); ' +
          'the change may or may not have been made: read it again before retrying',
      );
      return true;
    });
    assert.equal(broken.calls(), 1, 'not retried: the driver already waited');
  });

  it('should say nothing was changed when a MongoDB connection could not even be opened', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), { syscall: 'connect', code: 'ECONNREFUSED' });
    const broken = scripted([() => new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017', { cause: refused })]);
    await assert.rejects(
      guardStore(broken.store, { ...options, name: 'mongodb://db/reactor' }).events.append(event),
      /^ReactorError: the store mongodb:\/\/db\/reactor cannot be reached \(connect ECONNREFUSED 127\.0\.0\.1:27017\), so it could not write; nothing was changed, try again shortly$/,
    );
  });
});
