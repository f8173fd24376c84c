// The stored shape of each kind of record as a plain class, and a factory giving its TypeORM schema for SQLite or MongoDB.
import { EntitySchema, type EntitySchemaColumnOptions, type EntitySchemaIndexOptions } from 'typeorm';
import type { ObjectId } from 'mongodb';
import type {
  CustomMetricsRecord,
  DecisionRecord,
  EndpointRecord,
  EndpointState,
  EventRecord,
  InstanceRecord,
  InstanceStatus,
  LeaseRecord,
  ManagerRecord,
  ManagerStatus,
  MetricSampleRecord,
  TrafficShareRecord,
} from './types.js';

/*
 * One plain class per table/collection, shared by both backends. TypeORM on
 * MongoDB needs an ObjectId primary key (`_id`), and on SQL the natural string
 * key is the primary key; decorators cannot express both, so each backend gets
 * its own EntitySchema (see `entitySchemas`). `_id` is only ever set on MongoDB.
 */

export class EndpointEntity implements EndpointRecord {
  _id?: ObjectId;
  name!: string;
  state!: EndpointState;
  configText!: string;
  version!: number;
  createdAt!: Date;
  updatedAt!: Date;
}

export class ManagerEntity implements ManagerRecord {
  _id?: ObjectId;
  id!: string;
  name!: string;
  address!: string;
  slots!: number;
  usedSlots!: number;
  clouds!: string[];
  loadbalancers!: string[];
  problems!: string[];
  lastSeen!: Date;
  createdAt!: Date;
  status?: ManagerStatus;
}

export class InstanceEntity implements InstanceRecord {
  _id?: ObjectId;
  id!: string;
  endpoint!: string;
  managerId!: string | null;
  containerId!: string | null;
  address!: string | null;
  status!: InstanceStatus;
  slots!: number;
  reason!: string | null;
  decommissionedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
  term!: number;
}

export class EventEntity implements EventRecord {
  _id?: ObjectId;
  id!: string;
  endpoint!: string;
  kind!: string;
  message!: string;
  data!: Record<string, unknown>;
  at!: Date;
  seq?: number;
}

export class MetricSampleEntity implements MetricSampleRecord {
  _id?: ObjectId;
  id!: string;
  endpoint!: string;
  at!: Date;
  instances!: number;
  metrics!: Record<string, number>;
  seq?: number;
}

export class DecisionEntity implements DecisionRecord {
  _id?: ObjectId;
  id!: string;
  endpoint!: string;
  at!: Date;
  record!: Record<string, unknown>;
  seq?: number;
}

export class LeaseEntity implements LeaseRecord {
  _id?: ObjectId;
  name!: string;
  holder!: string;
  term!: number;
  renewals!: number;
  expiresAt!: Date;
  /** +1 on every write: on MongoDB each version is a document of its own under a unique (name, version) index. */
  version!: number;
}

export class TrafficShareEntity implements TrafficShareRecord {
  _id?: ObjectId;
  id!: string;
  endpoint!: string;
  managerId!: string;
  at!: Date;
  seconds!: number;
  backends!: TrafficShareRecord['backends'];
  pending!: number;
  seq?: number;
}

/**
 * A named counter, as a chain of claims (MongoDB: where a log's sequence
 * numbers are drawn from). Each claim extends the one before it: `prev` is
 * the value it starts after, `value` the last number it takes.
 */
export class CounterEntity {
  _id?: ObjectId;
  name!: string;
  prev!: number;
  value!: number;
}

/** Custom metrics of one (endpoint, instance) scope; `id` is `endpoint/instance` (endpoint names hold no '/'). */
export class CustomMetricsEntity implements CustomMetricsRecord {
  _id?: ObjectId;
  id!: string;
  endpoint!: string;
  instance!: string;
  metrics!: Record<string, [number, number]>;
  updatedAt!: Date;
}

/** One shared secret (see SecretRepository). */
export class SecretEntity {
  _id?: ObjectId;
  name!: string;
  value!: string;
  createdAt!: Date;
}

export type Backend = 'sqlite' | 'mongodb';

/** Table (SQL) or collection (MongoDB) names. */
export const TableNames = {
  endpoints: 'endpoints',
  managers: 'managers',
  instances: 'instances',
  events: 'events',
  samples: 'metric_samples',
  decisions: 'decisions',
  customMetrics: 'custom_metrics',
  leases: 'leases',
  counters: 'counters',
  traffic: 'traffic_shares',
  secrets: 'secrets',
} as const;

// Every column has an explicit type: under tsx there is no decorator metadata to infer one from.
const key: EntitySchemaColumnOptions = { type: 'varchar' };
const text: EntitySchemaColumnOptions = { type: 'text' };
const nullableText: EntitySchemaColumnOptions = { type: 'text', nullable: true };
const integer: EntitySchemaColumnOptions = { type: 'integer' };
/** A log item's sequence number: null for items stored before sequences existed. */
const seq: EntitySchemaColumnOptions = { type: 'integer', nullable: true };
const date: EntitySchemaColumnOptions = { type: 'datetime' };
const nullableDate: EntitySchemaColumnOptions = { type: 'datetime', nullable: true };
/** A list of plain strings: JSON text on SQLite, a BSON array on MongoDB. */
const stringList: EntitySchemaColumnOptions = { type: 'simple-json' };

type Columns<T> = { [P in keyof Omit<T, '_id'>]-?: EntitySchemaColumnOptions };

/**
 * The schema of one entity for one backend: on SQL the string key is the
 * primary key; on MongoDB `_id` is an ObjectId primary key and the string key
 * (or `mongoUniqueKey`) gets a unique index (named `UQ_<table>_<columns>`).
 */
function schema<T extends object>(
  backend: Backend,
  target: new () => T,
  tableName: string,
  keyColumn: keyof T & string,
  columns: Columns<T>,
  indices: EntitySchemaIndexOptions[],
  mongoUniqueKey: (keyof T & string)[] = [keyColumn],
): EntitySchema<T> {
  const all: Record<string, EntitySchemaColumnOptions> = {};
  if (backend === 'mongodb') {
    // The value is a BSON ObjectId; TypeORM ignores column types on MongoDB
    // (schema-less), but EntitySchema requires one.
    all._id = { type: String, objectId: true, primary: true };
  }
  for (const [name, options] of Object.entries(columns) as [string, EntitySchemaColumnOptions][]) {
    all[name] = name === keyColumn && backend !== 'mongodb' ? { ...options, primary: true } : options;
  }
  const allIndices =
    backend === 'mongodb'
      ? [{ name: `UQ_${tableName}_${mongoUniqueKey.join('_')}`, columns: mongoUniqueKey, unique: true }, ...indices]
      : indices;
  return new EntitySchema<T>({
    name: target.name,
    target,
    tableName,
    columns: all as EntitySchema<T>['options']['columns'],
    indices: allIndices,
  });
}

/** The TypeORM schemas of every stored entity, for one backend. */
export function entitySchemas(backend: Backend) {
  // Free-form JSON objects (event data, metrics, decision records) are JSON
  // text on both backends: their keys are user-chosen (custom metric names,
  // rule texts) and MongoDB-compatible servers reject keys with `.` or a
  // leading `$` (FerretDB: "invalid key"). The MongoDB store encodes them itself.
  const json: EntitySchemaColumnOptions = backend === 'sqlite' ? { type: 'simple-json' } : { type: 'text' };
  return {
    endpoints: schema(backend, EndpointEntity, TableNames.endpoints, 'name', {
      name: key,
      state: key,
      configText: text,
      version: integer,
      createdAt: date,
      updatedAt: date,
      // MongoDB keeps one document per (name, version): see mongodb-store.ts for why.
    }, [], ['name', 'version']),
    managers: schema(backend, ManagerEntity, TableNames.managers, 'id', {
      id: key,
      name: key,
      address: text,
      slots: integer,
      usedSlots: integer,
      clouds: stringList,
      loadbalancers: stringList,
      problems: stringList,
      lastSeen: date,
      createdAt: date,
      status: { type: 'varchar', default: 'READY' },
    }, []),
    instances: schema(backend, InstanceEntity, TableNames.instances, 'id', {
      id: key,
      endpoint: key,
      managerId: { ...key, nullable: true },
      containerId: { ...key, nullable: true },
      address: nullableText,
      status: key,
      slots: integer,
      reason: nullableText,
      decommissionedAt: nullableDate,
      createdAt: date,
      updatedAt: date,
      term: { type: 'integer', default: 0 },
    }, [
      { name: 'IDX_instances_endpoint', columns: ['endpoint'] },
      { name: 'IDX_instances_managerId', columns: ['managerId'] },
    ]),
    events: schema(backend, EventEntity, TableNames.events, 'id', {
      id: key,
      endpoint: key,
      kind: key,
      message: text,
      data: json,
      at: date,
      seq,
    }, [
      { name: 'IDX_events_endpoint_id', columns: ['endpoint', 'id'] },
      { name: 'IDX_events_at', columns: ['at'] },
      { name: 'IDX_events_seq', columns: ['seq'] },
      { name: 'IDX_events_endpoint_seq', columns: ['endpoint', 'seq'] },
    ]),
    samples: schema(backend, MetricSampleEntity, TableNames.samples, 'id', {
      id: key,
      endpoint: key,
      at: date,
      instances: integer,
      metrics: json,
      seq,
    }, [
      { name: 'IDX_metric_samples_endpoint_id', columns: ['endpoint', 'id'] },
      { name: 'IDX_metric_samples_at', columns: ['at'] },
      { name: 'IDX_metric_samples_seq', columns: ['seq'] },
      { name: 'IDX_metric_samples_endpoint_seq', columns: ['endpoint', 'seq'] },
    ]),
    decisions: schema(backend, DecisionEntity, TableNames.decisions, 'id', {
      id: key,
      endpoint: key,
      at: date,
      record: json,
      seq,
    }, [
      { name: 'IDX_decisions_endpoint_id', columns: ['endpoint', 'id'] },
      { name: 'IDX_decisions_at', columns: ['at'] },
      { name: 'IDX_decisions_seq', columns: ['seq'] },
      { name: 'IDX_decisions_endpoint_seq', columns: ['endpoint', 'seq'] },
    ]),
    customMetrics: schema(backend, CustomMetricsEntity, TableNames.customMetrics, 'id', {
      id: key,
      endpoint: key,
      instance: key,
      metrics: json,
      updatedAt: date,
    }, [{ name: 'IDX_custom_metrics_endpoint', columns: ['endpoint'] }]),
    traffic: schema(backend, TrafficShareEntity, TableNames.traffic, 'id', {
      id: key,
      endpoint: key,
      managerId: key,
      at: date,
      seconds: { type: 'real' },
      backends: json,
      pending: { type: 'real' },
      seq,
    }, [
      { name: 'IDX_traffic_shares_at', columns: ['at'] },
      { name: 'IDX_traffic_shares_seq', columns: ['seq'] },
      { name: 'IDX_traffic_shares_endpoint_seq', columns: ['endpoint', 'seq'] },
    ]),
    leases: schema(backend, LeaseEntity, TableNames.leases, 'name', {
      name: key,
      holder: key,
      term: integer,
      renewals: integer,
      expiresAt: date,
      version: integer,
      // MongoDB keeps one document per (name, version), as for endpoints: see mongodb-store.ts for why.
    }, [], ['name', 'version']),
    counters: schema(backend, CounterEntity, TableNames.counters, 'name', {
      name: key,
      prev: integer,
      value: integer,
      // MongoDB: one claim per (name, prev), so two writers cannot extend the same claim (see mongodb-log.ts).
    }, [], ['name', 'prev']),
    secrets: schema(backend, SecretEntity, TableNames.secrets, 'name', {
      name: key,
      value: text,
      createdAt: date,
    }, []),
  };
}

export type EntitySchemas = ReturnType<typeof entitySchemas>;
