// SQLite migration 3: what cluster mode needs of every store — log sequence numbers, the instance term, the manager status, traffic shares, leases, counters.
import type { MigrationInterface, QueryRunner } from 'typeorm';

const LOGS = ['events', 'metric_samples', 'decisions'] as const;

/** Matches what TypeORM's schema builder generates for the new columns and tables of `entitySchemas('sqlite')`. */
export class Cluster1764200000000 implements MigrationInterface {
  name = 'Cluster1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of LOGS) {
      await queryRunner.query(`ALTER TABLE "${table}" ADD COLUMN "seq" integer`);
      // Items stored before: numbered in id order (UUIDv7, so in the order they were made on this one host).
      await queryRunner.query(
        `UPDATE "${table}" SET "seq" = (SELECT COUNT(*) FROM "${table}" AS earlier WHERE earlier."id" <= "${table}"."id")`,
      );
      await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_${table}_seq" ON "${table}" ("seq")`);
      await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_${table}_endpoint_seq" ON "${table}" ("endpoint", "seq")`);
    }
    await queryRunner.query(`ALTER TABLE "instances" ADD COLUMN "term" integer NOT NULL DEFAULT (0)`);
    await queryRunner.query(`ALTER TABLE "managers" ADD COLUMN "status" varchar NOT NULL DEFAULT ('READY')`);
    await queryRunner.query(
      `CREATE TABLE IF NOT EXISTS "leases" ("name" varchar PRIMARY KEY NOT NULL, "holder" varchar NOT NULL, "term" integer NOT NULL, "renewals" integer NOT NULL, "expiresAt" datetime NOT NULL, "version" integer NOT NULL)`,
    );
    await queryRunner.query(
      `CREATE TABLE IF NOT EXISTS "traffic_shares" ("id" varchar PRIMARY KEY NOT NULL, "endpoint" varchar NOT NULL, "managerId" varchar NOT NULL, "at" datetime NOT NULL, "seconds" real NOT NULL, "backends" text NOT NULL, "pending" real NOT NULL, "seq" integer)`,
    );
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_traffic_shares_at" ON "traffic_shares" ("at")`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_traffic_shares_seq" ON "traffic_shares" ("seq")`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_traffic_shares_endpoint_seq" ON "traffic_shares" ("endpoint", "seq")`);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS "counters" ("name" varchar PRIMARY KEY NOT NULL, "prev" integer NOT NULL, "value" integer NOT NULL)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "counters"`);
    await queryRunner.query(`DROP TABLE IF EXISTS "traffic_shares"`);
    await queryRunner.query(`DROP TABLE IF EXISTS "leases"`);
    for (const table of LOGS) {
      await queryRunner.query(`DROP INDEX IF EXISTS "IDX_${table}_endpoint_seq"`);
      await queryRunner.query(`DROP INDEX IF EXISTS "IDX_${table}_seq"`);
      await queryRunner.query(`ALTER TABLE "${table}" DROP COLUMN "seq"`);
    }
    await queryRunner.query(`ALTER TABLE "instances" DROP COLUMN "term"`);
    await queryRunner.query(`ALTER TABLE "managers" DROP COLUMN "status"`);
  }
}
