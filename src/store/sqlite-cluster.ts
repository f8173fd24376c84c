// The SQLite forms of the small shared records a cluster needs: the controller lease (compare-and-set) and named secrets.
import type { ObjectLiteral, Repository } from 'typeorm';
import { leaseRecord } from './records.js';
import { isSqliteUniqueViolation } from './sqlite-errors.js';
import type { LeaseRecord, LeaseRepository, SecretRepository } from './types.js';
import { wallClock } from '../time/timers.js';

type Row = Record<string, unknown>;


export class SqlSecrets implements SecretRepository {
  constructor(private readonly repo: Repository<ObjectLiteral>) {}

  async getOrCreate(name: string, candidate: string): Promise<string> {
    await this.repo.createQueryBuilder().insert().values({ name, value: candidate, createdAt: wallClock() }).orIgnore().execute();
    const row = await this.repo.findOneBy({ name });
    return String(row!.value);
  }

}

/** Leases: compare-and-set by (term, renewals). */
export class SqlLeases implements LeaseRepository {
  constructor(private readonly repo: Repository<ObjectLiteral>) {}

  async get(name: string): Promise<LeaseRecord | null> {
    const row = await this.repo.findOneBy({ name });
    return row ? leaseRecord(row) : null;
  }

  async create(record: LeaseRecord): Promise<LeaseRecord | null> {
    try {
      await this.repo.insert({ ...leaseRecord(record as unknown as Row), version: 1 });
      return this.get(record.name);
    } catch (error) {
      if (isSqliteUniqueViolation(error)) return null;
      throw error;
    }
  }

  async swap(name: string, expected: Pick<LeaseRecord, 'term' | 'renewals'>, next: Omit<LeaseRecord, 'name'>): Promise<LeaseRecord | null> {
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set({ ...next, version: () => 'version + 1' })
      .where('name = :name AND term = :term AND renewals = :renewals', { name, term: expected.term, renewals: expected.renewals })
      .execute();
    return (result.affected ?? 0) === 0 ? null : this.get(name);
  }
}
