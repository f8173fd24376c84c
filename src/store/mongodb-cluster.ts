// The MongoDB forms of the small shared records a cluster needs: the controller lease (compare-and-set by versions) and named secrets.
import type { MongoEntityManager } from 'typeorm';
import { isMongoDuplicateKey, withoutId, type Target } from './mongodb-log.js';
import { leaseRecord } from './records.js';
import type { LeaseRecord, LeaseRepository, SecretRepository } from './types.js';
import { wallClock } from '../time/timers.js';

/** Lease versions kept behind the current one (the rest are deleted as leases are renewed). */
const KEPT_LEASE_VERSIONS = 2;

/**
 * Leases, compare-and-set by (term, renewals). Like endpoints, every write
 * inserts the next version under a unique (name, version) index: a server
 * that implements updateOne as find-then-write (FerretDB) would let two
 * simultaneous takeovers both succeed, while only one insert of version v+1
 * can. If v+1 is free, v is still the current lease, so checking `expected`
 * against v and inserting v+1 is one atomic compare-and-set.
 */
export class MongoLeases implements LeaseRepository {
  constructor(
    private readonly manager: MongoEntityManager,
    private readonly target: Target,
  ) {}

  private async current(name: string): Promise<(LeaseRecord & { version: number }) | null> {
    const doc = await this.manager.createCursor(this.target, { name }).sort({ version: -1 }).limit(1).next();
    return doc ? { ...leaseRecord(withoutId(doc)), version: Number(doc.version) } : null;
  }

  async get(name: string): Promise<LeaseRecord | null> {
    const lease = await this.current(name);
    if (!lease) return null;
    const { version: _version, ...record } = lease;
    return record;
  }

  async create(record: LeaseRecord): Promise<LeaseRecord | null> {
    return this.insert({ ...leaseRecord(record as unknown as Record<string, unknown>), version: 1 });
  }

  async swap(name: string, expected: Pick<LeaseRecord, 'term' | 'renewals'>, next: Omit<LeaseRecord, 'name'>): Promise<LeaseRecord | null> {
    const lease = await this.current(name);
    if (!lease || lease.term !== expected.term || lease.renewals !== expected.renewals) return null;
    const swapped = await this.insert({ name, ...next, version: lease.version + 1 });
    if (swapped) await this.manager.deleteMany(this.target, { name, version: { $lt: lease.version + 1 - KEPT_LEASE_VERSIONS } });
    return swapped;
  }

  /** Inserts one version; null when that version exists already (someone else wrote first). */
  private async insert(doc: LeaseRecord & { version: number }): Promise<LeaseRecord | null> {
    try {
      await this.manager.insertOne(this.target, { ...doc });
    } catch (error) {
      if (isMongoDuplicateKey(error)) return null;
      throw error;
    }
    const { version: _version, ...record } = doc;
    return leaseRecord(record as unknown as Record<string, unknown>);
  }
}

/** Shared secrets: the unique index on `name` makes the first insert win; later callers read it. */
export class MongoSecrets implements SecretRepository {
  constructor(
    private readonly manager: MongoEntityManager,
    private readonly target: Target,
  ) {}

  async getOrCreate(name: string, candidate: string): Promise<string> {
    const existing = await this.manager.findOne(this.target, { where: { name } });
    if (existing) return String((existing as { value: unknown }).value);
    try {
      await this.manager.insertOne(this.target, { name, value: candidate, createdAt: wallClock() });
      return candidate;
    } catch (error) {
      if (!isMongoDuplicateKey(error)) throw error;
      const stored = await this.manager.findOne(this.target, { where: { name } });
      return String((stored as { value: unknown }).value);
    }
  }
}
