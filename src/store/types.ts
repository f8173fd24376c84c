// The store contract: one repository interface for every piece of state Reactor keeps, whatever the backend.

import type { EndpointState, InstanceStatus, ManagerStatus } from '../model/states.js';

export type { EndpointState, InstanceStatus, ManagerStatus };

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
  /** What the controller makes of its heartbeat; absent = READY (see ManagerStatus). */
  status?: ManagerStatus;
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
  /**
   * The controller term that last wrote this record's desired state (0 before
   * any controller did). A controller's writes are fenced by it: a record a
   * newer term wrote is never changed by an older one, and hosts act only on
   * records of the current term (see LeaseRepository).
   */
  term: number;
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
  /** Position in the store's log of events, assigned when stored (see `LogSequence`). */
  seq?: number;
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
  /** Position in the store's log of samples, assigned when stored. */
  seq?: number;
}

/** What one backend did, as one host's balancer saw it over one interval. */
export interface BackendShare {
  hits: number;
  bytes: number;
  /** Sum of upstream response times, milliseconds, over `timed` answers. */
  responseMs: number;
  timed: number;
  errors: number;
  /** Open connections at the end of the interval. */
  active: number;
}

/**
 * One host's share of one endpoint's traffic over one of its intervals: what
 * its own nginx measured. With several hosts every front balances over every
 * instance, so an endpoint's traffic is the sum of the shares of every host;
 * the controller adds them up before it decides.
 */
export interface TrafficShareRecord {
  id: string;
  endpoint: string;
  /** The manager whose host measured it. */
  managerId: string;
  at: Date;
  /** The host's measurement window. */
  seconds: number;
  /** Backend address (`host:port`) → what it did. */
  backends: Record<string, BackendShare>;
  /** Requests that found no instance. */
  pending: number;
  /** Position in the store's log of shares, assigned when stored. */
  seq?: number;
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
  /** Position in the store's log of decisions, assigned when stored. */
  seq?: number;
}

/**
 * Every log (events, samples, decisions) is ordered by `seq`, a number the
 * store gives each item when it is stored, increasing across every server
 * that writes to the store. Ids are UUIDv7, ordered by the clock of the
 * server that made them; with several servers whose clocks differ by a
 * second or two, "ids after the last one seen" would skip items, so readers
 * resume by sequence. Two writers may store their items in another order
 * than they drew their numbers: a reader that finds a gap waits for it to
 * fill (see events/feed.ts).
 */
export interface ListOptions {
  /** Only items strictly after this one (resume after the last one seen): by its sequence number when it is still stored, else by id. */
  afterId?: string;
  /** Only items with a sequence number above this one. */
  afterSeq?: number;
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

/** What an instance update requires of the stored record, checked in the same atomic write. */
export interface InstanceGuard {
  /** It has one of these statuses. */
  status?: readonly InstanceStatus[];
  /** Its term is at most this one (a controller's fenced write: a newer term's record is not an older term's to change). */
  term?: number;
}

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
  update(id: string, changes: InstanceChanges, guard?: InstanceGuard): Promise<InstanceRecord | null>;
  /** True if it existed (and met the guard). */
  delete(id: string, guard?: InstanceGuard): Promise<boolean>;
  /** A new controller term takes over every record of older terms; returns how many. */
  claim(term: number): Promise<number>;
  deleteByEndpoint(endpoint: string): Promise<number>;
}

export type InstanceChanges = Partial<Omit<InstanceRecord, 'id' | 'endpoint' | 'createdAt'>>;

export interface EventRepository {
  append(event: EventRecord): Promise<void>;
  /** Appends many at once (one write per batch, not one per item); items keep their order. */
  appendMany(events: readonly EventRecord[]): Promise<void>;
  /** Oldest first. `endpoint` undefined = all endpoints. */
  list(endpoint: string | undefined, options?: ListOptions): Promise<EventRecord[]>;
  /** The sequence number of a stored item, or undefined when it is gone (or was stored before sequence numbers). */
  seqOf(id: string): Promise<number | undefined>;
  /** Deletes items older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
  /** Deletes every item of one endpoint (an unmanaged one); returns how many. */
  deleteByEndpoint(endpoint: string): Promise<number>;
  /** Deletes one event (a repeated one is recorded again, once, with its count); true if it existed. */
  delete(id: string): Promise<boolean>;
}

export interface MetricSampleRepository {
  append(sample: MetricSampleRecord): Promise<void>;
  /** Appends many at once (one write per batch, not one per item); items keep their order. */
  appendMany(samples: readonly MetricSampleRecord[]): Promise<void>;
  latest(endpoint: string): Promise<MetricSampleRecord | null>;
  list(endpoint: string | undefined, options?: ListOptions): Promise<MetricSampleRecord[]>;
  /** The sequence number of a stored item, or undefined when it is gone (or was stored before sequence numbers). */
  seqOf(id: string): Promise<number | undefined>;
  prune(before: Date): Promise<number>;
  deleteByEndpoint(endpoint: string): Promise<number>;
}

export interface DecisionRepository {
  append(decision: DecisionRecord): Promise<void>;
  /** Appends many at once (one write per batch, not one per item); items keep their order. */
  appendMany(decisions: readonly DecisionRecord[]): Promise<void>;
  list(endpoint: string | undefined, options?: ListOptions): Promise<DecisionRecord[]>;
  /** The sequence number of a stored item, or undefined when it is gone (or was stored before sequence numbers). */
  seqOf(id: string): Promise<number | undefined>;
  prune(before: Date): Promise<number>;
  deleteByEndpoint(endpoint: string): Promise<number>;
}

/**
 * Secrets the servers of one store share (the key instance tokens are signed
 * with). Each is made once, by whichever server asks first, and never changes.
 */
export interface SecretRepository {
  /** The stored value of `name`; when there is none yet, `candidate` is stored and returned (racing callers all get the first one stored). */
  getOrCreate(name: string, candidate: string): Promise<string>;
}

/**
 * A lease: who holds a role (the controller) for which term. `renewals`
 * counts the holder's renewals; the others watch it change instead of
 * comparing `expiresAt` with their own clocks, which may differ from the
 * holder's. `expiresAt` is the holder's own estimate, for operators.
 */
export interface LeaseRecord {
  name: string;
  holder: string;
  term: number;
  renewals: number;
  expiresAt: Date;
}

export interface LeaseRepository {
  get(name: string): Promise<LeaseRecord | null>;
  /** Creates the lease if there is none; null when one exists already. */
  create(record: LeaseRecord): Promise<LeaseRecord | null>;
  /** Compare-and-set: writes `next` only if the stored lease still has `expected`'s term and renewals; null otherwise. */
  swap(name: string, expected: Pick<LeaseRecord, 'term' | 'renewals'>, next: Omit<LeaseRecord, 'name'>): Promise<LeaseRecord | null>;
}

export interface TrafficShareRepository {
  append(share: TrafficShareRecord): Promise<void>;
  appendMany(shares: readonly TrafficShareRecord[]): Promise<void>;
  list(endpoint: string | undefined, options?: ListOptions): Promise<TrafficShareRecord[]>;
  prune(before: Date): Promise<number>;
  /** Every share of one endpoint (it was unmanaged); returns how many. */
  deleteByEndpoint(endpoint: string): Promise<number>;
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
  readonly leases: LeaseRepository;
  /** Each host's share of each endpoint's traffic, per interval. */
  readonly traffic: TrafficShareRepository;
  readonly secrets: SecretRepository;
  /** Flushes and closes connections. */
  close(): Promise<void>;
}
