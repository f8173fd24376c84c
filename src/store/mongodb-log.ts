// The MongoDB form of an append-only log (events, samples, decisions): items numbered from a shared counter, so every server reads them in one order.
import type { EntitySchema, MongoEntityManager } from 'typeorm';
import type { Document, Filter } from 'mongodb';
import { alreadyExists, alreadyExistsInBatch } from '../errors/codes.js';
import { listWindow } from './list-window.js';
import type { ListOptions } from './types.js';

export type Target = EntitySchema<object>;

/** Copies a stored document without its ObjectId. */
export function withoutId(doc: Document): Record<string, unknown> {
  const { _id, ...rest } = doc;
  void _id;
  return rest;
}

/** True for a duplicate key on a unique index (E11000). */
export function isMongoDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 11000;
}

/**
 * `jsonField` is the free-form object of each item, stored as JSON text (see
 * entities.ts). Sequence numbers are drawn from the `counters` collection
 * with one atomic `$inc` per append (a batch draws its whole range at once),
 * so they increase across every server sharing the store. A writer may
 * insert after another that drew later numbers; readers handle that gap
 * (events/feed.ts).
 */
export class MongoLog<T extends { id: string; endpoint: string; at: Date; seq?: number }> {
  constructor(
    private readonly manager: MongoEntityManager,
    private readonly target: Target,
    private readonly counters: Target,
    private readonly kind: string,
    private readonly jsonField: keyof T & string,
    private readonly toRecord: (row: Record<string, unknown>) => T,
  ) {}

  private decode(doc: Document): T {
    const row = withoutId(doc);
    const raw = row[this.jsonField];
    row[this.jsonField] = typeof raw === 'string' ? JSON.parse(raw) : raw;
    return this.toRecord(row);
  }

  private encode(item: T): Record<string, unknown> {
    const clean = this.toRecord(item as unknown as Record<string, unknown>) as Record<string, unknown>;
    return { ...clean, [this.jsonField]: JSON.stringify(clean[this.jsonField] ?? {}) };
  }

  /**
   * Draws `items.length` numbers and writes them on the items, in order.
   * The counter is a chain of claims under a unique (name, prev) index: read
   * the last claim's value v, insert {prev: v, value: v + n}. Of two writers
   * that read the same v only one insert succeeds; the other reads again.
   * (An atomic `$inc` would do on MongoDB, but FerretDB runs findAndModify as
   * find-then-write and hands two writers the same numbers.)
   */
  private async number(items: readonly T[]): Promise<void> {
    const name = `seq:${this.kind}`;
    for (let attempt = 0; ; attempt++) {
      const last = await this.manager.createCursor(this.counters, { name }).sort({ value: -1 }).limit(1).next();
      const prev = last ? Number(last.value) : 0;
      try {
        await this.manager.insertOne(this.counters, { name, prev, value: prev + items.length });
      } catch (error) {
        if (isMongoDuplicateKey(error) && attempt < 1000) continue;
        throw error;
      }
      let seq = prev;
      for (const item of items) item.seq = ++seq;
      // Claims far behind the last one are never read again.
      if (prev % 100 === 0) await this.manager.deleteMany(this.counters, { name, value: { $lt: prev - 1000 } });
      return;
    }
  }

  async append(item: T): Promise<void> {
    await this.number([item]);
    try {
      await this.manager.insertOne(this.target, this.encode(item));
    } catch (error) {
      if (isMongoDuplicateKey(error)) throw alreadyExists(this.kind, item.id);
      throw error;
    }
  }

  /** One ordered insertMany: the items land in order, and an id clash stops the batch there. */
  async appendMany(items: readonly T[]): Promise<void> {
    if (items.length === 0) return;
    await this.number(items);
    try {
      await this.manager.insertMany(this.target, items.map((item) => this.encode(item)), { ordered: true });
    } catch (error) {
      if (isMongoDuplicateKey(error)) throw alreadyExistsInBatch(this.kind, items.map((i) => i.id));
      throw error;
    }
  }

  async list(endpoint: string | undefined, options?: ListOptions): Promise<T[]> {
    const window = listWindow(options);
    const query: Filter<Document> = {};
    if (endpoint !== undefined) query.endpoint = endpoint;
    const after = window.afterSeq ?? (window.afterId === undefined ? undefined : await this.seqOf(window.afterId));
    if (after !== undefined) query.seq = { $gt: after };
    else if (window.afterId !== undefined) query.id = { $gt: window.afterId };
    if (window.since !== undefined) query.at = { $gte: window.since };
    const docs = await this.manager
      .createCursor(this.target, query)
      .sort({ seq: window.newestFirst ? -1 : 1 })
      .limit(window.limit)
      .toArray();
    if (window.newestFirst) docs.reverse();
    return docs.map((doc) => this.decode(doc));
  }

  async latest(endpoint: string): Promise<T | null> {
    const doc = await this.manager.createCursor(this.target, { endpoint }).sort({ seq: -1 }).limit(1).next();
    return doc ? this.decode(doc) : null;
  }

  async prune(before: Date): Promise<number> {
    return (await this.manager.deleteMany(this.target, { at: { $lt: before } })).deletedCount;
  }

  async deleteByEndpoint(endpoint: string): Promise<number> {
    return (await this.manager.deleteMany(this.target, { endpoint })).deletedCount;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.manager.deleteOne(this.target, { id })).deletedCount > 0;
  }

  /** The sequence number of a stored item, or undefined when it is gone (the caller then compares ids). */
  async seqOf(id: string): Promise<number | undefined> {
    const doc = await this.manager.createCursor(this.target, { id }).project({ seq: 1 }).limit(1).next();
    return doc?.seq === null || doc?.seq === undefined ? undefined : Number(doc.seq);
  }
}
