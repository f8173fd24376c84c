// The SQLite backend of the store: TypeORM repositories over one better-sqlite3 file.
import { In, LessThan, LessThanOrEqual, MoreThan, MoreThanOrEqual, type DataSource, type FindOptionsWhere, type ObjectLiteral, type Repository } from 'typeorm';
import { alreadyExists, alreadyExistsInBatch } from '../errors/codes.js';
import type { EntitySchemas } from './entities.js';
import { listWindow } from './list-window.js';
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
  DecisionRepository,
  EndpointRecord,
  EndpointRepository,
  EventRecord,
  EventRepository,
  InstanceChanges,
  InstanceGuard,
  InstanceRecord,
  InstanceRepository,
  TrafficShareRecord,
  TrafficShareRepository,
  ListOptions,
  ManagerChanges,
  ManagerRecord,
  ManagerRepository,
  MetricSampleRecord,
  MetricSampleRepository,
  Store,
} from './types.js';
import { checkState, updateEndpointVersioned, type EndpointChanges } from './versioning.js';
import { SqlLeases, SqlSecrets } from './sqlite-cluster.js';
import { isSqliteUniqueViolation } from './sqlite-errors.js';
import { wallClock } from '../time/timers.js';



type Row = Record<string, unknown>;

class SqlEndpoints implements EndpointRepository {
  constructor(private readonly repo: Repository<ObjectLiteral>) {}

  async list(): Promise<EndpointRecord[]> {
    return (await this.repo.find({ order: { name: 'ASC' } })).map(endpointRecord);
  }

  async get(name: string): Promise<EndpointRecord | null> {
    const row = await this.repo.findOneBy({ name });
    return row ? endpointRecord(row) : null;
  }

  async create(input: Pick<EndpointRecord, 'name' | 'state' | 'configText'>): Promise<EndpointRecord> {
    checkState(input.state);
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
      await this.repo.insert({ ...record });
    } catch (error) {
      if (isSqliteUniqueViolation(error)) throw alreadyExists('endpoint', input.name);
      throw error;
    }
    return record;
  }

  update(name: string, expectedVersion: number, changes: EndpointChanges): Promise<EndpointRecord> {
    return updateEndpointVersioned(
      {
        get: (n) => this.get(n),
        writeIfVersion: async (n, version, write) => {
          const result = await this.repo
            .createQueryBuilder()
            .update()
            .set(write)
            .where('name = :name AND version = :version', { name: n, version })
            .execute();
          return result.affected ?? 0;
        },
      },
      name,
      expectedVersion,
      changes,
    );
  }

  async delete(name: string): Promise<boolean> {
    return ((await this.repo.delete({ name })).affected ?? 0) > 0;
  }
}

class SqlManagers implements ManagerRepository {
  constructor(private readonly repo: Repository<ObjectLiteral>) {}

  async list(): Promise<ManagerRecord[]> {
    return (await this.repo.find({ order: { id: 'ASC' } })).map(managerRecord);
  }

  async get(id: string): Promise<ManagerRecord | null> {
    const row = await this.repo.findOneBy({ id });
    return row ? managerRecord(row) : null;
  }

  async upsert(record: ManagerRecord): Promise<ManagerRecord> {
    const clean = managerRecord(record as unknown as Row);
    await this.repo.upsert({ ...clean }, { conflictPaths: ['id'] });
    return clean;
  }

  /** One UPDATE of the named columns: atomic against other writers of other columns. */
  async update(id: string, changes: ManagerChanges): Promise<ManagerRecord | null> {
    if (Object.keys(changes).length > 0 && ((await this.repo.update({ id }, { ...changes })).affected ?? 0) === 0) return null;
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.repo.delete({ id })).affected ?? 0) > 0;
  }
}

/** The WHERE of a guarded write to one instance record. */
function guarded(id: string, guard: InstanceGuard): FindOptionsWhere<ObjectLiteral> {
  const where: FindOptionsWhere<ObjectLiteral> = { id };
  if (guard.status) where.status = In([...guard.status]);
  if (guard.term !== undefined) where.term = LessThanOrEqual(guard.term);
  return where;
}

class SqlInstances implements InstanceRepository {
  constructor(private readonly repo: Repository<ObjectLiteral>) {}

  async list(filter: { endpoint?: string; managerId?: string } = {}): Promise<InstanceRecord[]> {
    const where: FindOptionsWhere<ObjectLiteral> = {};
    if (filter.endpoint !== undefined) where.endpoint = filter.endpoint;
    if (filter.managerId !== undefined) where.managerId = filter.managerId;
    return (await this.repo.find({ where, order: { createdAt: 'ASC', id: 'ASC' } })).map(instanceRecord);
  }

  async get(id: string): Promise<InstanceRecord | null> {
    const row = await this.repo.findOneBy({ id });
    return row ? instanceRecord(row) : null;
  }

  async upsert(record: InstanceRecord): Promise<InstanceRecord> {
    const clean = instanceRecord(record as unknown as Row);
    await this.repo.upsert({ ...clean }, { conflictPaths: ['id'] });
    return clean;
  }

  async update(id: string, changes: InstanceChanges, guard: InstanceGuard = {}): Promise<InstanceRecord | null> {
    const set: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(changes)) if (value !== undefined) set[key] = value;
    if (((await this.repo.update(guarded(id, guard), set)).affected ?? 0) === 0) return null;
    return this.get(id);
  }

  async delete(id: string, guard: InstanceGuard = {}): Promise<boolean> {
    return ((await this.repo.delete(guarded(id, guard))).affected ?? 0) > 0;
  }

  async claim(term: number): Promise<number> {
    return (await this.repo.update({ term: LessThan(term) }, { term })).affected ?? 0;
  }

  async deleteByEndpoint(endpoint: string): Promise<number> {
    return (await this.repo.delete({ endpoint })).affected ?? 0;
  }
}

/** Rows per INSERT statement in `appendMany`. */
const APPEND_BATCH = 500;
/** Rows per DELETE statement in `prune`. */
const PRUNE_CHUNK = 2000;

/**
 * An append-only log (events, samples, decisions), ordered by sequence
 * number. One process writes a SQLite store (the data directory is locked),
 * so numbers come from a counter in memory, started from the largest stored.
 */
class SqlLog<T extends { id: string; endpoint: string; at: Date; seq?: number }> {
  private last: Promise<number> | undefined;

  constructor(
    private readonly repo: Repository<ObjectLiteral>,
    private readonly kind: string,
    private readonly toRecord: (row: Row) => T,
  ) {}

  /** Numbers `items` in order (on the items themselves, so whoever publishes them has them too). */
  private async number(items: readonly T[]): Promise<void> {
    const start =
      this.last ??
      this.repo
        .createQueryBuilder()
        .select('MAX(seq)', 'max')
        .getRawOne<{ max: number | null }>()
        .then((row) => Number(row?.max ?? 0));
    // Chained before any await, so appends started together take consecutive numbers.
    const end = start.then((last) => {
      let next = last;
      for (const item of items) item.seq = ++next;
      return next;
    });
    this.last = end;
    // A failed read of the largest number is tried again by the next append.
    end.catch(() => {
      if (this.last === end) this.last = undefined;
    });
    await end;
  }

  async append(item: T): Promise<void> {
    await this.number([item]);
    try {
      await this.repo.insert({ ...this.toRecord(item as unknown as Row) });
    } catch (error) {
      if (isSqliteUniqueViolation(error)) throw alreadyExists(this.kind, item.id);
      throw error;
    }
  }

  /**
   * Multi-row INSERTs of APPEND_BATCH rows each, well under SQLite's limit of
   * bound parameters per statement, in one transaction when there are
   * several: all land or none, so a call retried after a lock applies once.
   */
  async appendMany(items: readonly T[]): Promise<void> {
    if (items.length === 0) return;
    await this.number(items);
    const insert = async (repo: Repository<ObjectLiteral>) => {
      for (let from = 0; from < items.length; from += APPEND_BATCH) {
        const batch = items.slice(from, from + APPEND_BATCH);
        try {
          await repo.insert(batch.map((item) => ({ ...this.toRecord(item as unknown as Row) })));
        } catch (error) {
          if (isSqliteUniqueViolation(error)) throw alreadyExistsInBatch(this.kind, batch.map((i) => i.id));
          throw error;
        }
      }
    };
    if (items.length <= APPEND_BATCH) return insert(this.repo);
    await this.repo.manager.transaction((manager) => insert(manager.getRepository(this.repo.target)));
  }

  async list(endpoint: string | undefined, options?: ListOptions): Promise<T[]> {
    const window = listWindow(options);
    const where: FindOptionsWhere<ObjectLiteral> = {};
    if (endpoint !== undefined) where.endpoint = endpoint;
    const after = window.afterSeq ?? (window.afterId === undefined ? undefined : await this.seqOf(window.afterId));
    if (after !== undefined) where.seq = MoreThan(after);
    else if (window.afterId !== undefined) where.id = MoreThan(window.afterId);
    if (window.since !== undefined) where.at = MoreThanOrEqual(window.since);
    const rows = await this.repo.find({
      where,
      order: { seq: window.newestFirst ? 'DESC' : 'ASC' },
      take: window.limit,
    });
    if (window.newestFirst) rows.reverse();
    return rows.map(this.toRecord);
  }

  async latest(endpoint: string): Promise<T | null> {
    const row = await this.repo.findOne({ where: { endpoint }, order: { seq: 'DESC' } });
    return row ? this.toRecord(row) : null;
  }

  /**
   * Deletes in chunks of PRUNE_CHUNK rows, yielding to the event loop between
   * them: better-sqlite3 runs each statement synchronously, and one DELETE of
   * a day of samples would hold the whole process for seconds.
   */
  async prune(before: Date): Promise<number> {
    const table = this.repo.metadata.tableName;
    let total = 0;
    for (;;) {
      const result = await this.repo
        .createQueryBuilder()
        .delete()
        .where(`rowid IN (SELECT rowid FROM "${table}" WHERE "at" < :before LIMIT ${PRUNE_CHUNK})`, { before })
        .execute();
      const deleted = result.affected ?? 0;
      total += deleted;
      if (deleted < PRUNE_CHUNK) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async deleteByEndpoint(endpoint: string): Promise<number> {
    return (await this.repo.delete({ endpoint })).affected ?? 0;
  }

  /** The sequence number of a stored item, or undefined when it is gone (the caller then compares ids). */
  async seqOf(id: string): Promise<number | undefined> {
    const row = await this.repo.findOne({ where: { id }, select: { seq: true } });
    return row?.seq === null || row?.seq === undefined ? undefined : Number(row.seq);
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.repo.delete({ id })).affected ?? 0) > 0;
  }
}

class SqlCustomMetrics implements CustomMetricsRepository {
  constructor(private readonly repo: Repository<ObjectLiteral>) {}

  async set(record: CustomMetricsRecord): Promise<CustomMetricsRecord> {
    const clean = customMetricsRecord(record as unknown as Row);
    await this.repo.upsert({ id: customMetricsId(clean.endpoint, clean.instance), ...clean }, { conflictPaths: ['id'] });
    return clean;
  }

  async list(endpoint?: string): Promise<CustomMetricsRecord[]> {
    const where: FindOptionsWhere<ObjectLiteral> = endpoint === undefined ? {} : { endpoint };
    return (await this.repo.find({ where, order: { endpoint: 'ASC', instance: 'ASC' } })).map(customMetricsRecord);
  }

  async delete(endpoint: string, instance?: string): Promise<number> {
    const where = instance === undefined ? { endpoint } : { id: customMetricsId(endpoint, instance) };
    return (await this.repo.delete(where)).affected ?? 0;
  }
}

/** A Store over an initialized better-sqlite3 DataSource whose schema is in place. */
export function sqliteStore(dataSource: DataSource, schemas: EntitySchemas): Store {
  const events = new SqlLog<EventRecord>(dataSource.getRepository(schemas.events), 'event', eventRecord);
  const samples = new SqlLog<MetricSampleRecord>(
    dataSource.getRepository(schemas.samples),
    'metric sample',
    metricSampleRecord,
  );
  const decisions = new SqlLog<DecisionRecord>(
    dataSource.getRepository(schemas.decisions),
    'scaling decision',
    decisionRecord,
  );
  return {
    kind: 'sqlite',
    endpoints: new SqlEndpoints(dataSource.getRepository(schemas.endpoints)),
    managers: new SqlManagers(dataSource.getRepository(schemas.managers)),
    instances: new SqlInstances(dataSource.getRepository(schemas.instances)),
    events: events satisfies EventRepository,
    samples: samples satisfies MetricSampleRepository,
    decisions: decisions satisfies DecisionRepository,
    customMetrics: new SqlCustomMetrics(dataSource.getRepository(schemas.customMetrics)),
    leases: new SqlLeases(dataSource.getRepository(schemas.leases)),
    traffic: new SqlLog<TrafficShareRecord>(dataSource.getRepository(schemas.traffic), 'traffic share', trafficShareRecord) satisfies TrafficShareRepository,
    secrets: new SqlSecrets(dataSource.getRepository(schemas.secrets)),
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}
