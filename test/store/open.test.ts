// openStore's answers to URLs it cannot use: BAD_USER_INPUT for the wrong form, UNAVAILABLE when the store is unreachable.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes } from '../../src/errors/codes.js';
import { openStore, redactStoreUrl } from '../../src/store/open.js';
import { freePort } from '../../src/util/ports.js';
import { rejectsWithCode } from '../support/errors.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'reactor-store-open-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('openStore', () => {
  for (const url of ['postgres://localhost/reactor', '/var/lib/reactor.db', '', 'sqlite:', 'mongodb://']) {
    it(`should refuse ${JSON.stringify(url)} with BAD_USER_INPUT naming the accepted forms`, async () => {
      await rejectsWithCode(openStore(url), ErrorCodes.BAD_USER_INPUT, [`"${url}"`, 'sqlite:PATH', 'mongodb://']);
    });
  }

  it('should fail with a one-line UNAVAILABLE naming a MongoDB store nobody serves, without its password', async () => {
    const port = await freePort(); // nobody listens there
    const url = `mongodb://reactor:s3cret@127.0.0.1:${port}/reactor?serverSelectionTimeoutMS=300`;
    const error = await rejectsWithCode(openStore(url), ErrorCodes.UNAVAILABLE);
    assert.ok(error.message.startsWith(`store mongodb://reactor:***@127.0.0.1:${port}/reactor`), error.message);
    assert.ok(!error.message.includes('s3cret'), error.message);
    assert.ok(!error.message.includes('\n'), error.message);
  });

  it('should fail with UNAVAILABLE when a SQLite file cannot be opened', async () => {
    const notADirectory = path.join(root, 'file');
    writeFileSync(notADirectory, 'x');
    const error = await rejectsWithCode(openStore(`sqlite:${notADirectory}/store.db`), ErrorCodes.UNAVAILABLE);
    assert.match(error.message, /^store sqlite:.*store\.db is unavailable: /);
    const notADatabase = path.join(root, 'garbage.db');
    writeFileSync(notADatabase, 'this is not a database file, just text that is long enough to look like a header');
    await rejectsWithCode(openStore(`sqlite:${notADatabase}`), ErrorCodes.UNAVAILABLE);
  });

  it('should redact only the password of a store URL', () => {
    assert.equal(redactStoreUrl('mongodb://u:p@h:1/db'), 'mongodb://u:***@h:1/db');
    assert.equal(redactStoreUrl('mongodb://h:1/db'), 'mongodb://h:1/db');
    assert.equal(redactStoreUrl('sqlite:/tmp/x.db'), 'sqlite:/tmp/x.db');
  });
});
