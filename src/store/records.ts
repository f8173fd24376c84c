// Turns what a backend hands back into the exact plain records of the contract (no `_id`, real Dates, nulls not undefined).
import type {
  CustomMetricsRecord,
  DecisionRecord,
  EndpointRecord,
  EventRecord,
  InstanceRecord,
  LeaseRecord,
  ManagerRecord,
  MetricSampleRecord,
  TrafficShareRecord,
} from './types.js';

/** A stored date as a Date (backends give Dates; a string or number is accepted defensively). */
export function asDate(value: unknown): Date {
  return value instanceof Date ? new Date(value.getTime()) : new Date(value as string | number);
}

function asNullableDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : asDate(value);
}

function asNullableString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

type Row = Record<string, unknown>;

export function endpointRecord(row: Row): EndpointRecord {
  return {
    name: String(row.name),
    state: row.state as EndpointRecord['state'],
    configText: String(row.configText),
    version: Number(row.version),
    createdAt: asDate(row.createdAt),
    updatedAt: asDate(row.updatedAt),
  };
}

export function managerRecord(row: Row): ManagerRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    address: String(row.address),
    slots: Number(row.slots),
    usedSlots: Number(row.usedSlots),
    clouds: asStrings(row.clouds),
    loadbalancers: asStrings(row.loadbalancers),
    problems: asStrings(row.problems),
    lastSeen: asDate(row.lastSeen),
    createdAt: asDate(row.createdAt),
    status: row.status === 'LOST' ? 'LOST' : 'READY',
  };
}

export function instanceRecord(row: Row): InstanceRecord {
  return {
    id: String(row.id),
    endpoint: String(row.endpoint),
    managerId: asNullableString(row.managerId),
    containerId: asNullableString(row.containerId),
    address: asNullableString(row.address),
    status: row.status as InstanceRecord['status'],
    slots: Number(row.slots),
    reason: asNullableString(row.reason),
    decommissionedAt: asNullableDate(row.decommissionedAt),
    createdAt: asDate(row.createdAt),
    updatedAt: asDate(row.updatedAt),
    term: row.term === null || row.term === undefined ? 0 : Number(row.term),
  };
}

/** The sequence number of a log item, when it has one (items stored before sequences existed have none). */
function withSeq<T extends object>(record: T, row: Row): T & { seq?: number } {
  return row.seq === null || row.seq === undefined ? record : Object.assign(record, { seq: Number(row.seq) });
}

export function leaseRecord(row: Row): LeaseRecord {
  return {
    name: String(row.name),
    holder: String(row.holder),
    term: Number(row.term),
    renewals: Number(row.renewals),
    expiresAt: asDate(row.expiresAt),
  };
}

export function eventRecord(row: Row): EventRecord {
  return withSeq({
    id: String(row.id),
    endpoint: String(row.endpoint),
    kind: String(row.kind),
    message: String(row.message),
    data: (row.data ?? {}) as Record<string, unknown>,
    at: asDate(row.at),
  }, row);
}

export function metricSampleRecord(row: Row): MetricSampleRecord {
  return withSeq({
    id: String(row.id),
    endpoint: String(row.endpoint),
    at: asDate(row.at),
    instances: Number(row.instances),
    metrics: (row.metrics ?? {}) as Record<string, number>,
  }, row);
}

export function decisionRecord(row: Row): DecisionRecord {
  return withSeq({
    id: String(row.id),
    endpoint: String(row.endpoint),
    at: asDate(row.at),
    record: (row.record ?? {}) as Record<string, unknown>,
  }, row);
}

export function customMetricsRecord(row: Row): CustomMetricsRecord {
  const metrics = (row.metrics ?? {}) as Record<string, unknown>;
  const pairs: Record<string, [number, number]> = {};
  for (const [name, pair] of Object.entries(metrics)) {
    if (Array.isArray(pair) && pair.length === 2) pairs[name] = [Number(pair[0]), Number(pair[1])];
  }
  return {
    endpoint: String(row.endpoint),
    instance: row.instance === null || row.instance === undefined ? '' : String(row.instance),
    metrics: pairs,
    updatedAt: asDate(row.updatedAt),
  };
}

/** The stored key of one custom metrics scope. */
export function customMetricsId(endpoint: string, instance: string): string {
  return `${endpoint}/${instance}`;
}

export function trafficShareRecord(row: Row): TrafficShareRecord {
  return withSeq({
    id: String(row.id),
    endpoint: String(row.endpoint),
    managerId: String(row.managerId),
    at: asDate(row.at),
    seconds: Number(row.seconds),
    backends: (row.backends ?? {}) as TrafficShareRecord['backends'],
    pending: Number(row.pending ?? 0),
  }, row);
}
