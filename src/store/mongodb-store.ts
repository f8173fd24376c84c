// The MongoDB backend of the store: TypeORM's MongoEntityManager over one database (MongoDB or FerretDB).
import type { DataSource, EntitySchema, MongoEntityManager } from 'typeorm';
import type { Document, Filter, IndexDescription } from 'mongodb';
import { alreadyExists } from '../errors/codes.js';
import type { EntitySchemas } from './entities.js';
import { MongoLeases, MongoSecrets } from './mongodb-cluster.js';
import { isMongoDuplicateKey, MongoLog, withoutId, type Target } from './mongodb-log.js';
import {
  customMetricsId,
  customMetricsRecord,
  decisionRecord,
  endpointRecord,
  eventRecord,
  instanceRecord,
  managerRecord,
  trafficShareRecord,
  metricSampleRecord,
} from './records.js';
import type {
  CustomMetricsRecord,
  CustomMetricsRepository,
  DecisionRecord,
  EndpointRecord,
  EndpointRepository,
  EventRecord,
  InstanceChanges,
  InstanceGuard,
  InstanceRecord,
  InstanceRepository,
  TrafficShareRecord,
  ManagerChanges,
  ManagerRecord,
  ManagerRepository,
  MetricSampleRecord,
  Store,
} from './types.js';
import { checkState, updateEndpointVersioned, type EndpointChanges } from './versioning.js';
import { wallClock } from '../time/timers.js';


/**
 * Creates the indexes each schema declares (unique keys, endpoint+id, at)
 * that do not exist yet, one `createIndexes` command per index: FerretDB
 * 1.24 panics on a multi-index `createIndexes` whose indexes all exist.
 */
export async function createMongoIndexes(dataSource: DataSource): Promise<void> {
  const manager = dataSource.mongoManager;
  for (const metadata of dataSource.entityMetadatas) {
    if (metadata.indices.length === 0) continue;
    const existing = new Set<string>();
    try {
      const indexes = (await manager.collectionIndexes(metadata.target)) as { name?: string }[];
      for (const index of indexes) existing.add(String(index.name));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 26) throw error; // 26 NamespaceNotFound: no collection yet
    }
    for (const index of metadata.indices) {
      if (existing.has(index.name)) continue;
      const spec: IndexDescription = {
        name: index.name,
        key: Object.fromEntries(index.columns.map((column) => [column.databaseName, 1 as const])),
        ...(index.isUnique ? { unique: true } : {}),
      };
      await manager.createCollectionIndexes(metadata.target, [spec]);
    }
  }
}

/** How many superseded versions of an endpoint document are kept behind the current one. */
const KEPT_OLD_VERSIONS = 2;

/**
 * Endpoints on MongoDB: one document per (name, version), unique on both; the
 * highest version is the endpoint.
 *
 * Why not `updateOne({name, version}, {$set})`: on MongoDB that is atomic, but
 * FerretDB (the MongoDB-compatible server the tests and small clusters use)
 * runs an update as find-then-write-by-_id, so two updates from the same
 * version both match and both win. An insert under a unique index is atomic on
 * both, so an update inserts version N+1: of two writers from N, exactly one
 * insert succeeds and the other gets a duplicate key, i.e. CONFLICT. Older
 * versions are pruned after each update (the last few are kept so a
 * concurrent writer can still tell "superseded" from "deleted").
 */
class MongoEndpoints implements EndpointRepository {
  constructor(
    private readonly manager: MongoEntityManager,
    private readonly target: Target,
  ) {}

  async list(): Promise<EndpointRecord[]> {
    const docs = await this.manager.createCursor(this.target, {}).sort({ name: 1, version: -1 }).toArray();
    const latest: EndpointRecord[] = [];
    for (const doc of docs) {
      if (latest.at(-1)?.name !== doc.name) latest.push(endpointRecord(withoutId(doc)));
    }
    return latest;
  }

  async get(name: string): Promise<EndpointRecord | null> {
    const doc = await this.manager.createCursor(this.target, { name }).sort({ version: -1 }).limit(1).next();
    return doc ? endpointRecord(withoutId(doc)) : null;
  }

  async create(input: Pick<EndpointRecord, 'name' | 'state' | 'configText'>): Promise<EndpointRecord> {
    checkState(input.state);
    // Version 1 of a long-lived endpoint is pruned, so the unique key alone
    // cannot see it: look first; racing creates still meet at (name, 1).
    if (await this.get(input.name)) throw alreadyExists('endpoint', input.name);
    const now = wallClock();
    const record: EndpointRecord = {
      name: input.name,
      state: input.state,
      configText: input.configText,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.manager.insertOne(this.target, { ...record });
    } catch (error) {
      if (isMongoDuplicateKey(error)) throw alreadyExists('endpoint', input.name);
      throw error;
    }
    return record;
  }

  update(name: string, expectedVersion: number, changes: EndpointChanges): Promise<EndpointRecord> {
    return updateEndpointVersioned(
      {
        get: (n) => this.get(n),
        writeIfVersion: async (n, version, _write, next) => {
          try {
            await this.manager.insertOne(this.target, { ...next });
          } catch (error) {
            if (isMongoDuplicateKey(error)) return 0; // someone else wrote version + 1 first
            throw error;
          }
          // Deleted while we wrote? Then the version we built on is gone: undo.
          const base = await this.manager.createCursor(this.target, { name: n, version }).limit(1).next();
          if (!base) {
            await this.manager.deleteOne(this.target, { name: n, version: next.version });
            return 0;
          }
          await this.manager.deleteMany(this.target, { name: n, version: { $lt: next.version - KEPT_OLD_VERSIONS } });
          return 1;
        },
      },
      name,
      expectedVersion,
      changes,
    );
  }

  /**
   * Deletes every version, repeating until a pass finds none: a version an
   * update inserts during a pass is caught by the next one, and an update
   * that inserts after the last pass finds its base version gone and undoes
   * itself (see `update`), so a deleted endpoint stays deleted.
   */
  async delete(name: string): Promise<boolean> {
    let total = 0;
    for (;;) {
      const { deletedCount } = await this.manager.deleteMany(this.target, { name });
      if (deletedCount === 0) return total > 0;
      total += deletedCount;
    }
  }
}

/** Insert-or-replace by string id; a concurrent first insert of the same id is retried once as a replace. */
async function upsertById(manager: MongoEntityManager, target: Target, doc: { id: string }): Promise<void> {
  const attempt = () => manager.replaceOne(target, { id: doc.id }, { ...doc }, { upsert: true });
  try {
    await attempt();
  } catch (error) {
    if (!isMongoDuplicateKey(error)) throw error;
    await attempt();
  }
}

class MongoManagers implements ManagerRepository {
  constructor(
    private readonly manager: MongoEntityManager,
    private readonly target: Target,
  ) {}

  async list(): Promise<ManagerRecord[]> {
    const docs = await this.manager.createCursor(this.target, {}).sort({ id: 1 }).toArray();
    return docs.map((doc) => managerRecord(withoutId(doc)));
  }

  async get(id: string): Promise<ManagerRecord | null> {
    const doc = await this.manager.createCursor(this.target, { id }).limit(1).next();
    return doc ? managerRecord(withoutId(doc)) : null;
  }

  async upsert(record: ManagerRecord): Promise<ManagerRecord> {
    const clean = managerRecord(record as unknown as Record<string, unknown>);
    await upsertById(this.manager, this.target, clean);
    return clean;
  }

  /** `$set` of the named fields only (atomic on MongoDB; FerretDB applies it as find-then-write, see endpoints above). */
  async update(id: string, changes: ManagerChanges): Promise<ManagerRecord | null> {
    if (Object.keys(changes).length > 0 && (await this.manager.updateOne(this.target, { id }, { $set: { ...changes } })).matchedCount === 0) {
      return null;
    }
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.manager.deleteOne(this.target, { id })).deletedCount > 0;
  }
}

/** The filter of a guarded write to one instance record. */
function guarded(id: string, guard: InstanceGuard): Record<string, unknown> {
  const filter: Record<string, unknown> = { id };
  if (guard.status) filter.status = { $in: [...guard.status] };
  if (guard.term !== undefined) filter.$or = [{ term: { $lte: guard.term } }, { term: { $exists: false } }];
  return filter;
}

class MongoInstances implements InstanceRepository {
  constructor(
    private readonly manager: MongoEntityManager,
    private readonly target: Target,
  ) {}

  async list(filter: { endpoint?: string; managerId?: string } = {}): Promise<InstanceRecord[]> {
    const query: Filter<Document> = {};
    if (filter.endpoint !== undefined) query.endpoint = filter.endpoint;
    if (filter.managerId !== undefined) query.managerId = filter.managerId;
    const docs = await this.manager.createCursor(this.target, query).sort({ createdAt: 1, id: 1 }).toArray();
    return docs.map((doc) => instanceRecord(withoutId(doc)));
  }

  async get(id: string): Promise<InstanceRecord | null> {
    const doc = await this.manager.createCursor(this.target, { id }).limit(1).next();
    return doc ? instanceRecord(withoutId(doc)) : null;
  }

  async upsert(record: InstanceRecord): Promise<InstanceRecord> {
    const clean = instanceRecord(record as unknown as Record<string, unknown>);
    await upsertById(this.manager, this.target, clean);
    return clean;
  }

  /** One `$set` guarded by the filter (atomic on MongoDB; FerretDB applies it as find-then-write). */
  async update(id: string, changes: InstanceChanges, guard: InstanceGuard = {}): Promise<InstanceRecord | null> {
    const set: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(changes)) if (value !== undefined) set[key] = value;
    if ((await this.manager.updateOne(this.target, guarded(id, guard), { $set: set })).matchedCount === 0) return null;
    return this.get(id);
  }

  async delete(id: string, guard: InstanceGuard = {}): Promise<boolean> {
    return (await this.manager.deleteOne(this.target, guarded(id, guard))).deletedCount > 0;
  }

  async claim(term: number): Promise<number> {
    // Records stored before terms existed have none: they are older than any term.
    const older = { $or: [{ term: { $lt: term } }, { term: { $exists: false } }] };
    return (await this.manager.updateMany(this.target, older, { $set: { term } })).modifiedCount;
  }

  async deleteByEndpoint(endpoint: string): Promise<number> {
    return (await this.manager.deleteMany(this.target, { endpoint })).deletedCount;
  }
}

/** Custom metrics per (endpoint, instance); the metrics map is JSON text, like the logs' free-form objects. */
class MongoCustomMetrics implements CustomMetricsRepository {
  constructor(
    private readonly manager: MongoEntityManager,
    private readonly target: Target,
  ) {}

  private decode(doc: Document): CustomMetricsRecord {
    const row = withoutId(doc);
    row.metrics = typeof row.metrics === 'string' ? JSON.parse(row.metrics) : row.metrics;
    return customMetricsRecord(row);
  }

  async set(record: CustomMetricsRecord): Promise<CustomMetricsRecord> {
    const clean = customMetricsRecord(record as unknown as Record<string, unknown>);
    const id = customMetricsId(clean.endpoint, clean.instance);
    await upsertById(this.manager, this.target, { id, ...clean, metrics: JSON.stringify(clean.metrics) } as { id: string });
    return clean;
  }

  async list(endpoint?: string): Promise<CustomMetricsRecord[]> {
    const query: Filter<Document> = endpoint === undefined ? {} : { endpoint };
    const docs = await this.manager.createCursor(this.target, query).sort({ endpoint: 1, instance: 1 }).toArray();
    return docs.map((doc) => this.decode(doc));
  }

  async delete(endpoint: string, instance?: string): Promise<number> {
    const query = instance === undefined ? { endpoint } : { id: customMetricsId(endpoint, instance) };
    return (await this.manager.deleteMany(this.target, query)).deletedCount;
  }
}

/** A Store over an initialized MongoDB DataSource (indexes created by `createMongoIndexes`). */
export function mongoStore(dataSource: DataSource, schemas: EntitySchemas): Store {
  const manager = dataSource.mongoManager;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schemas of different entity types
  const t = (schema: EntitySchema<any>): Target => schema;
  return {
    kind: 'mongodb',
    endpoints: new MongoEndpoints(manager, t(schemas.endpoints)),
    managers: new MongoManagers(manager, t(schemas.managers)),
    instances: new MongoInstances(manager, t(schemas.instances)),
    events: new MongoLog<EventRecord>(manager, t(schemas.events), t(schemas.counters), 'event', 'data', eventRecord),
    samples: new MongoLog<MetricSampleRecord>(
      manager,
      t(schemas.samples),
      t(schemas.counters),
      'metric sample',
      'metrics',
      metricSampleRecord,
    ),
    decisions: new MongoLog<DecisionRecord>(
      manager,
      t(schemas.decisions),
      t(schemas.counters),
      'scaling decision',
      'record',
      decisionRecord,
    ),
    customMetrics: new MongoCustomMetrics(manager, t(schemas.customMetrics)),
    leases: new MongoLeases(manager, t(schemas.leases)),
    traffic: new MongoLog<TrafficShareRecord>(manager, t(schemas.traffic), t(schemas.counters), 'traffic share', 'backends', trafficShareRecord),
    secrets: new MongoSecrets(manager, t(schemas.secrets)),
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}
