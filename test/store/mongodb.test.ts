// Runs the store contract on a real MongoDB-compatible server: $REACTOR_TEST_MONGO_URL, else a private FerretDB.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { startFerretDB, type RunningFerretDB } from '../support/ferretdb.js';
import { runStoreContract } from './contract.js';

let server: RunningFerretDB | undefined;
let baseUrl = '';
const databases: string[] = [];
const urls = new WeakMap<Store, string>();

/** `url` with its database replaced by `database` (keeps credentials and options). */
function withDatabase(url: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error(`REACTOR_TEST_MONGO_URL is not a mongodb:// URL: ${url}`);
  return `${match[1]}/${database}${match[2] ?? ''}`;
}

function freshUrl(): string {
  const database = `reactor_test_${randomBytes(6).toString('hex')}`;
  databases.push(database);
  return withDatabase(baseUrl, database);
}

async function open(url: string): Promise<Store> {
  const store = await openStore(url);
  urls.set(store, url);
  return store;
}

before(async () => {
  if (process.env.REACTOR_TEST_MONGO_URL) {
    baseUrl = process.env.REACTOR_TEST_MONGO_URL;
  } else {
    server = await startFerretDB();
    baseUrl = server.url;
  }
});

after(async () => {
  if (baseUrl) {
    // drop what the tests made (matters on a shared server; cheap on a private FerretDB)
    const client = await MongoClient.connect(withDatabase(baseUrl, 'admin'));
    try {
      for (const database of databases) await client.db(database).dropDatabase();
    } finally {
      await client.close();
    }
  }
  await server?.stop();
});

runStoreContract(
  'mongodb',
  () => open(freshUrl()),
  (store) => open(urls.get(store)!),
);

describe('mongodb store: indexes', () => {
  it('should create the unique keys and the history indexes on open, and open again cleanly', async () => {
    const url = freshUrl();
    await (await open(url)).close();
    const store = await open(url); // creating the same indexes again is a no-op
    await store.close();
    const client = await MongoClient.connect(url);
    try {
      const db = client.db();
      const indexes = async (collection: string) =>
        Object.fromEntries(
          (await db.collection(collection).indexes()).map((index) => [index.name, { key: index.key, unique: !!index.unique }]),
        );
      const endpoints = await indexes('endpoints');
      assert.deepEqual(endpoints.UQ_endpoints_name_version, { key: { name: 1, version: 1 }, unique: true });
      for (const collection of ['managers', 'instances', 'events', 'metric_samples', 'decisions']) {
        assert.deepEqual((await indexes(collection))[`UQ_${collection}_id`], { key: { id: 1 }, unique: true });
      }
      assert.deepEqual((await indexes('instances')).IDX_instances_endpoint, { key: { endpoint: 1 }, unique: false });
      assert.deepEqual((await indexes('events')).IDX_events_endpoint_id, { key: { endpoint: 1, id: 1 }, unique: false });
      const samples = await indexes('metric_samples');
      assert.deepEqual(samples.IDX_metric_samples_endpoint_id, { key: { endpoint: 1, id: 1 }, unique: false });
      assert.deepEqual(samples.IDX_metric_samples_at, { key: { at: 1 }, unique: false });
      assert.deepEqual((await indexes('decisions')).IDX_decisions_endpoint_id, { key: { endpoint: 1, id: 1 }, unique: false });
    } finally {
      await client.close();
    }
  });

  it('should keep only the last few versions of an endpoint document', async () => {
    const url = freshUrl();
    const store = await open(url);
    await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: 'v1' });
    for (let version = 1; version < 10; version++) {
      await store.endpoints.update('web', version, { configText: `v${version + 1}` });
    }
    await store.close();
    const client = await MongoClient.connect(url);
    try {
      const versions = (await client.db().collection('endpoints').find({ name: 'web' }).sort({ version: 1 }).toArray()).map(
        (doc) => doc.version,
      );
      assert.deepEqual(versions, [8, 9, 10]);
    } finally {
      await client.close();
    }
  });

  it('should store dates as BSON dates, so the server can compare them', async () => {
    const url = freshUrl();
    const store = await open(url);
    await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: '' });
    await store.close();
    const client = await MongoClient.connect(url);
    try {
      const doc = await client.db().collection('endpoints').findOne({ name: 'web' });
      assert.ok(doc?.createdAt instanceof Date);
      assert.equal(doc?.version, 1);
    } finally {
      await client.close();
    }
  });
});
