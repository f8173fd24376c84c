// The store contract: one repository interface for every piece of state Reactor keeps, whatever the backend.

import type { EndpointState, InstanceStatus } from '../model/states.js';

export type { EndpointState, InstanceStatus };

/** An endpoint as stored: its INI text is the source of truth for its configuration. */
export interface EndpointRecord {
  name: string;
  state: EndpointState;
  /** Canonical INI text (rendered from the parsed model). */
  configText: string;
  /** Optimistic-concurrency version: 1 on create, +1 on every update. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ManagerRecord {
  /** Stable id (chosen by the agent, kept across its restarts). */
  id: string;
  name: string;
  /** Address the balancer uses to reach this host's published ports. */
  address: string;
  slots: number;
  usedSlots: number;
  clouds: string[];
  loadbalancers: string[];
  /** What this manager lacks (e.g. "docker: connect ENOENT /var/run/docker.sock"); empty when healthy. */
  problems: string[];
  lastSeen: Date;
  createdAt: Date;
}


export interface InstanceRecord {
  id: string;
  endpoint: string;
  /** Manager it is placed on; null while pending placement. */
  managerId: string | null;
  containerId: string | null;
  /** `host:port` the balancer uses; null until published. */
  address: string | null;
  status: InstanceStatus;
  slots: number;
  /** Why the instance is in its status (pending reason, error text). */
  reason: string | null;
  decommissionedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One change to an endpoint (config, state, instances, errors): the endpoint's log. */
export interface EventRecord {
  /** Time-ordered id (UUIDv7): ids sort in the order events happened. */
  id: string;
  endpoint: string;
  /** Machine-readable kind, e.g. `CONFIG_CHANGED`, `STATE_CHANGED`, `INSTANCE_STARTED`. */
  kind: string;
  /** One human line. */
  message: string;
  data: Record<string, unknown>;
  at: Date;
}

/** One aggregated metric reading of an endpoint. */
export interface MetricSampleRecord {
  id: string;
  endpoint: string;
  at: Date;
  /** Instances that reported. */
  instances: number;
  /** Metric name → per-instance average (built-in and custom). */
  metrics: Record<string, number>;
}

/**
 * Custom metrics of one scope of an endpoint, as last set: endpoint-wide
 * (`instance` = '', through setCustomMetrics / `reactor set-metrics`) or
 * reported by one instance (`instance` = its id). A set replaces the scope's
 * whole map.
 */
export interface CustomMetricsRecord {
  endpoint: string;
  /** '' = endpoint-wide; otherwise the id of the instance that reported them. */
  instance: string;
  /** Metric name → [weight, value]. */
  metrics: Record<string, [number, number]>;
  updatedAt: Date;
}

/** One evaluation of an endpoint's rules; `record` is the decision value of src/scaling. */
export interface DecisionRecord {
  id: string;
  endpoint: string;
  at: Date;
  record: Record<string, unknown>;
}

export interface ListOptions {
  /** Only items strictly after this id (resume after the last one seen). */
  afterId?: string;
  /** Only items at or after this time. */
  since?: Date;
  /** Most items returned, newest last. Default 100. */
  limit?: number;
}

export interface EndpointRepository {
  list(): Promise<EndpointRecord[]>;
  get(name: string): Promise<EndpointRecord | null>;
  /** Fails with ALREADY_EXISTS if the name is taken. */
  create(record: Pick<EndpointRecord, 'name' | 'state' | 'configText'>): Promise<EndpointRecord>;
  /**
   * Applies `changes` only if the stored version is still `expectedVersion`;
   * returns the new record (version + 1). Fails with CONFLICT if someone else
   * updated it first, NOT_FOUND if it is gone.
   */
  update(
    name: string,
    expectedVersion: number,
    changes: Partial<Pick<EndpointRecord, 'state' | 'configText'>>,
  ): Promise<EndpointRecord>;
  /** True if it existed. */
  delete(name: string): Promise<boolean>;
}

export interface ManagerRepository {
  list(): Promise<ManagerRecord[]>;
  get(id: string): Promise<ManagerRecord | null>;
  /** Insert or replace by id. */
  upsert(record: ManagerRecord): Promise<ManagerRecord>;
  /**
   * Changes only the given fields (a heartbeat's used slots must not undo an
   * operator's slots set meanwhile); the record after, or null if there is none.
   */
  update(id: string, changes: ManagerChanges): Promise<ManagerRecord | null>;
  delete(id: string): Promise<boolean>;
}

export type ManagerChanges = Partial<Omit<ManagerRecord, 'id' | 'createdAt'>>;

export interface InstanceRepository {
  list(filter?: { endpoint?: string; managerId?: string }): Promise<InstanceRecord[]>;
  get(id: string): Promise<InstanceRecord | null>;
  /** Insert or replace by id. */
  upsert(record: InstanceRecord): Promise<InstanceRecord>;
  /**
   * Changes only the given fields, and only while the record exists (and,
   * with `expectStatus`, has one of those statuses), in one atomic write:
   * the controller and a host may change one record at the same time, and
   * neither may bring back a record the other deleted. The record after, or
   * null when it is gone or in another status.
   */
  update(id: string, changes: InstanceChanges, expectStatus?: readonly InstanceStatus[]): Promise<InstanceRecord | null>;
  delete(id: string): Promise<boolean>;
  deleteByEndpoint(endpoint: string): Promise<number>;
}

export type InstanceChanges = Partial<Omit<InstanceRecord, 'id' | 'endpoint' | 'createdAt'>>;

export interface EventRepository {
  append(event: EventRecord): Promise<void>;
  /** Appends many at once (one write per batch, not one per item); items keep their order. */
  appendMany(events: readonly EventRecord[]): Promise<void>;
  /** Oldest first. `endpoint` undefined = all endpoints. */
  list(endpoint: string | undefined, options?: ListOptions): Promise<EventRecord[]>;
  /** Deletes items older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
  /** Deletes one event (a repeated one is recorded again, once, with its count); true if it existed. */
  delete(id: string): Promise<boolean>;
}

export interface MetricSampleRepository {
  append(sample: MetricSampleRecord): Promise<void>;
  /** Appends many at once (one write per batch, not one per item); items keep their order. */
  appendMany(samples: readonly MetricSampleRecord[]): Promise<void>;
  latest(endpoint: string): Promise<MetricSampleRecord | null>;
  list(endpoint: string | undefined, options?: ListOptions): Promise<MetricSampleRecord[]>;
  prune(before: Date): Promise<number>;
}

export interface DecisionRepository {
  append(decision: DecisionRecord): Promise<void>;
  /** Appends many at once (one write per batch, not one per item); items keep their order. */
  appendMany(decisions: readonly DecisionRecord[]): Promise<void>;
  list(endpoint: string | undefined, options?: ListOptions): Promise<DecisionRecord[]>;
  prune(before: Date): Promise<number>;
}

export interface CustomMetricsRepository {
  /** Inserts or replaces the record of (endpoint, instance). */
  set(record: CustomMetricsRecord): Promise<CustomMetricsRecord>;
  /** Every scope of one endpoint, or of all; ordered by endpoint, then instance ('' first). */
  list(endpoint?: string): Promise<CustomMetricsRecord[]>;
  /** Deletes one scope (instance given, '' = endpoint-wide) or every scope of the endpoint; returns how many. */
  delete(endpoint: string, instance?: string): Promise<number>;
}

/** Everything Reactor persists. Open one with `openStore(url)`. */
export interface Store {
  /** `sqlite` or `mongodb`. */
  readonly kind: 'sqlite' | 'mongodb';
  readonly endpoints: EndpointRepository;
  readonly managers: ManagerRepository;
  readonly instances: InstanceRepository;
  readonly events: EventRepository;
  readonly samples: MetricSampleRepository;
  readonly decisions: DecisionRepository;
  readonly customMetrics: CustomMetricsRepository;
  /** Flushes and closes connections. */
  close(): Promise<void>;
}
