// Runs the store contract on a real SQLite file, plus the SQLite-only promises: migrations, WAL, directories.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { openStore } from '../../src/store/open.js';
import { entitySchemas } from '../../src/store/entities.js';
import type { Store } from '../../src/store/types.js';
import { runStoreContract } from './contract.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'reactor-store-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
const freshFile = () => path.join(root, `store-${++counter}.db`);
const files = new WeakMap<Store, string>();

async function open(file: string, options?: { synchronize?: boolean }): Promise<Store> {
  const store = await openStore(`sqlite:${file}`, options);
  files.set(store, file);
  return store;
}

runStoreContract(
  'sqlite',
  () => open(freshFile()),
  (store) => open(files.get(store)!),
);

const MIGRATIONS = ['InitialSchema1764000000000', 'CustomMetrics1764100000000', 'Cluster1764200000000', 'Secrets1764315000000'];
const TABLES = ['counters', 'custom_metrics', 'decisions', 'endpoints', 'events', 'instances', 'leases', 'managers', 'metric_samples', 'secrets', 'traffic_shares'];

function inspect(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const names = (type: string) =>
      (db.prepare(`SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`).all(type) as { name: string }[]).map(
        (row) => row.name,
      );
    return {
      tables: names('table'),
      indexes: names('index'),
      migrations: (db.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name),
      journalMode: db.pragma('journal_mode', { simple: true }),
    };
  } finally {
    db.close();
  }
}

describe('sqlite store: schema and migrations', () => {
  it('should create the schema by migration, without synchronize, in WAL mode', async () => {
    const file = freshFile();
    const store = await open(file);
    await store.close();
    const seen = inspect(file);
    assert.deepEqual(seen.tables, [...TABLES, 'migrations'].sort());
    for (const index of [
      'IDX_instances_endpoint',
      'IDX_events_endpoint_id',
      'IDX_metric_samples_endpoint_id',
      'IDX_metric_samples_at',
      'IDX_decisions_endpoint_id',
    ]) {
      assert.ok(seen.indexes.includes(index), `index ${index} missing from ${seen.indexes.join(', ')}`);
    }
    assert.deepEqual(seen.migrations, MIGRATIONS);
    assert.equal(seen.journalMode, 'wal');
  });

  it('should open an existing file again without running a migration twice, keeping its data', async () => {
    const file = freshFile();
    const first = await open(file);
    await first.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'x' });
    await first.close();
    const second = await open(file);
    await second.close();
    const third = await open(file);
    try {
      assert.equal((await third.endpoints.get('web'))?.configText, 'x');
    } finally {
      await third.close();
    }
    assert.deepEqual(inspect(file).migrations, MIGRATIONS);
  });

  it('should leave nothing for synchronize to change after the migrations (schema matches the entities)', async () => {
    const file = freshFile();
    await (await open(file)).close();
    const dataSource = new DataSource({ type: 'better-sqlite3', database: file, entities: Object.values(entitySchemas('sqlite')) });
    await dataSource.initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      assert.deepEqual(pending.upQueries.map((q) => q.query), []);
    } finally {
      await dataSource.destroy();
    }
  });

  it('should also open with synchronize on, on a new and on a migrated file', async () => {
    const file = freshFile();
    const synced = await open(file, { synchronize: true });
    await synced.endpoints.create({ name: 'web', state: 'RUNNING', configText: '' });
    await synced.close();
    const again = await open(file, { synchronize: true });
    try {
      assert.equal((await again.endpoints.get('web'))?.state, 'RUNNING');
    } finally {
      await again.close();
    }
    assert.deepEqual(inspect(file).tables, [...TABLES, 'migrations'].sort());
  });

  it('should create missing directories of the file path', async () => {
    const file = path.join(root, 'deep', 'er', 'store.db');
    const store = await open(file);
    await store.close();
    assert.deepEqual(inspect(file).migrations, MIGRATIONS);
  });

  it('should accept sqlite:///absolute paths and an in-memory sqlite::memory:', async () => {
    const file = freshFile();
    const triple = await openStore(`sqlite://${file}`);
    await triple.endpoints.create({ name: 'web', state: 'PAUSED', configText: '' });
    await triple.close();
    assert.ok(inspect(file).tables.includes('endpoints'));

    const memory = await openStore('sqlite::memory:');
    try {
      await memory.endpoints.create({ name: 'web', state: 'PAUSED', configText: '' });
      assert.equal((await memory.endpoints.list()).length, 1);
    } finally {
      await memory.close();
    }
  });
});
