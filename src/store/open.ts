// Opens the store a URL names: an embedded SQLite file (`sqlite:PATH`) or a MongoDB database (`mongodb://…`).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as mongodb from 'mongodb';
import type { MongoClientOptions } from 'mongodb';
import { DataSource } from 'typeorm';
import { ReactorError, ErrorCodes, badInput } from '../errors/codes.js';
import { entitySchemas } from './entities.js';
import { sqliteMigrations } from './migrations/index.js';
import { createMongoIndexes, mongoStore } from './mongodb-store.js';
import { DEFAULT_BUSY_RETRY, guardStore } from './busy-retry.js';
import { sqliteStore } from './sqlite-store.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /**
   * SQLite only: also let TypeORM synchronize the schema with the entities
   * after the migrations ran (tests may; production relies on migrations).
   * Default false.
   */
  synchronize?: boolean;
  /**
   * MongoDB only: heard once, with the driver's cause, when the first attempt
   * to reach the store fails and opening goes on trying (for a log line:
   * otherwise the server says nothing while it waits).
   */
  onWait?: (cause: string, waitMs: number) => void;
}

/**
 * How long a statement waits, inside SQLite, for another process's lock: not
 * at all once open, since better-sqlite3 would wait on the event loop (see
 * busy-retry.ts, which retries on timers instead). Opening the file and
 * running migrations still waits up to OPEN_BUSY_TIMEOUT_MS.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 0;
const OPEN_BUSY_TIMEOUT_MS = 5_000;
/**
 * MongoDB client timeouts, each unless the URL sets its own (the URL wins):
 * - once the store is open, a call waits at most
 *   MONGO_SERVER_SELECTION_TIMEOUT_MS for a server to send it to, so when
 *   the store cannot be reached the API answers STORE_UNAVAILABLE within a
 *   second (the driver's default is 30 s). A read or retryable write whose
 *   connection breaks is retried once by the driver, after a second
 *   selection: the worst case is two selections, hence 300 ms (500 ms
 *   answered in 1.2 s on a loaded machine). A healthy server is selected at
 *   once whatever this is;
 * - opening waits up to MONGO_OPEN_WAIT_MS for the first server, with one
 *   client whose monitor keeps trying (every 500 ms while it is waited
 *   for): a first handshake is TCP, TLS and `hello`, 3 to 4 round trips,
 *   over 300 ms to a remote store 80 ms away, so it must not be cut at the
 *   operations' 300 ms. The driver has one selection setting for both; it
 *   reads it from `client.options` for every operation, so the client is
 *   made with the long one and given the short one once it is connected
 *   (per-operation `timeoutMS` would bound whole calls, not the wait for a
 *   server). After that the server stays known while its connections work;
 *   a store that went away and comes back is found again by the monitor;
 * - opening a connection (TCP, TLS, handshake, authentication) may take
 *   MONGO_CONNECT_TIMEOUT_MS, ample on a LAN;
 * - the driver checks each server every MONGO_HEARTBEAT_MS (default 10 s),
 *   and a check that gets no answer within the connect timeout fails the
 *   calls under way, so a store that stops answering without closing its
 *   connections (a partition that drops packets) is found within about
 *   heartbeat + connect timeout = 10 s. Shorter would find it sooner, but a
 *   check is timed by this process's timers: a store, or this event loop,
 *   busy for a moment would then fail healthy calls.
 * After MONGO_OPEN_WAIT_MS the server exits with UNAVAILABLE naming the
 * store and the cause, for its supervisor to start it again (a URL with
 * `serverSelectionTimeoutMS` waits that long, to open and for each call).
 */
export const MONGO_SERVER_SELECTION_TIMEOUT_MS = 300;
export const MONGO_CONNECT_TIMEOUT_MS = 5_000;
export const MONGO_HEARTBEAT_MS = 5_000;
export const MONGO_OPEN_WAIT_MS = 10_000;
/** Database used when a `mongodb://` URL names none. */
export const DEFAULT_MONGO_DATABASE = 'reactor';

const ACCEPTED = 'sqlite:PATH (a database file, created if missing) or mongodb://[user:password@]host[:port][/database]';

/**
 * Opens a store and makes its schema current: pending SQLite migrations run,
 * MongoDB indexes are created. Fails with BAD_USER_INPUT for a URL of another
 * form and with UNAVAILABLE, naming the store, when it cannot be reached.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) return openSqlite(url, sqlitePath(url), options);
  if (/^mongodb(\+srv)?:\/\/[^/?]/.test(url)) return openMongo(url, options.onWait);
  throw badInput(`store URL "${url}" is not supported; use ${ACCEPTED}`, { url });
}

/** The database file of a `sqlite:` store URL, resolved; null for another kind of store or an in-memory one. */
export function sqliteFileOf(url: string): string | null {
  if (!url.startsWith('sqlite:')) return null;
  const file = sqlitePath(url);
  return file === ':memory:' ? null : path.resolve(file);
}

/** `sqlite:PATH`, `sqlite://PATH` or `sqlite:///abs/PATH` → PATH (`:memory:` kept as is). */
function sqlitePath(url: string): string {
  let file = url.slice('sqlite:'.length);
  if (file.startsWith('//')) file = file.slice(2);
  if (file === '') throw badInput(`store URL "${url}" names no file; use ${ACCEPTED}`, { url });
  return file;
}

async function openSqlite(url: string, file: string, options: OpenStoreOptions): Promise<Store> {
  const schemas = entitySchemas('sqlite');
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: file,
    enableWAL: true,
    timeout: OPEN_BUSY_TIMEOUT_MS,
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma(`busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
    },
    entities: Object.values(schemas),
    migrations: sqliteMigrations,
    migrationsRun: true,
    synchronize: options.synchronize ?? false,
    logging: false,
  });
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    await dataSource.initialize();
    await dataSource.query(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    throw unavailable(url, error);
  }
  return guardStore(sqliteStore(dataSource, schemas), { ...DEFAULT_BUSY_RETRY, name: redactStoreUrl(url) });
}

async function openMongo(url: string, onWait?: OpenStoreOptions['onWait']): Promise<Store> {
  const schemas = entitySchemas('mongodb');
  const dataSource = new DataSource({
    type: 'mongodb',
    url,
    database: DEFAULT_MONGO_DATABASE, // the URL's database, when it names one, wins
    driver: mongoDriverFor(url, onWait),
    entities: Object.values(schemas),
    synchronize: false,
    logging: false,
  });
  try {
    await dataSource.initialize();
    await createMongoIndexes(dataSource);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    throw unavailable(url, error);
  }
  return guardStore(mongoStore(dataSource, schemas), { ...DEFAULT_BUSY_RETRY, name: redactStoreUrl(url) });
}

/**
 * The `mongodb` module as TypeORM should see it, except that its client
 * connects to `url` exactly as given, with the timeouts above. TypeORM 1.1.1
 * rebuilds the connection string from parsed parts and passes on only the
 * query options it knows, which drops `serverSelectionTimeoutMS`,
 * `directConnection`, `mongodb+srv` hosts and more. One client waits up to
 * MONGO_OPEN_WAIT_MS for a server, then takes the operations' timeout.
 */
function mongoDriverFor(url: string, onWait?: OpenStoreOptions['onWait']): typeof mongodb {
  const given = (option: string) => new RegExp(`[?&]${option}=`, 'i').test(url);
  const selectionGiven = given('serverSelectionTimeoutMS');
  const timeouts: MongoClientOptions = {
    ...(selectionGiven ? {} : { serverSelectionTimeoutMS: MONGO_OPEN_WAIT_MS }),
    ...(given('connectTimeoutMS') ? {} : { connectTimeoutMS: MONGO_CONNECT_TIMEOUT_MS }),
    ...(given('heartbeatFrequencyMS') ? {} : { heartbeatFrequencyMS: MONGO_HEARTBEAT_MS }),
  };
  const connect = async (_rebuiltUrl: string, typeormOptions: MongoClientOptions = {}) => {
    const client = new mongodb.MongoClient(url, { ...(typeormOptions.driverInfo ? { driverInfo: typeormOptions.driverInfo } : {}), ...timeouts });
    // The monitor's first failed check says why the server is not there yet (once: it checks every 500 ms meanwhile).
    const heartbeatFailed = (event: mongodb.ServerHeartbeatFailedEvent) => {
      client.off('serverHeartbeatFailed', heartbeatFailed);
      onWait?.((event.failure.message.split('\n')[0] ?? '').trim(), MONGO_OPEN_WAIT_MS);
    };
    if (!selectionGiven) client.on('serverHeartbeatFailed', heartbeatFailed);
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    } finally {
      client.off('serverHeartbeatFailed', heartbeatFailed);
    }
    if (!selectionGiven) shortenSelection(client, MONGO_SERVER_SELECTION_TIMEOUT_MS);
    return client;
  };
  return { ...mongodb, MongoClient: { connect } } as unknown as typeof mongodb;
}

/**
 * From now on a call waits at most `ms` for a server. The driver has no
 * public setting for this after connecting; it reads the value for each
 * call from `client.options` (a call's first selection, cursors, bulk
 * writes) and from its topology (the selection of a retry), so both are
 * set. Tied to driver 7.x: test/store/open-remote.test.ts and
 * test/api/store-unreachable.test.ts fail if a driver update stops honouring
 * them (calls would then wait MONGO_OPEN_WAIT_MS).
 */
function shortenSelection(client: mongodb.MongoClient, ms: number): void {
  (client.options as { serverSelectionTimeoutMS: number }).serverSelectionTimeoutMS = ms;
  const topology = (client as unknown as { topology?: { s?: { serverSelectionTimeoutMS?: number } } }).topology;
  if (topology?.s && typeof topology.s.serverSelectionTimeoutMS === 'number') topology.s.serverSelectionTimeoutMS = ms;
}

/** The URL with any password replaced, fit for messages and logs. */
export function redactStoreUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

function unavailable(url: string, error: unknown): ReactorError {
  const cause = (error instanceof Error ? error.message : String(error)).split('\n')[0].trim();
  const store = redactStoreUrl(url);
  return new ReactorError(ErrorCodes.UNAVAILABLE, `store ${store} is unavailable: ${cause}`, { store });
}
