// SQLite migration 1: the first schema of every table and index (endpoints, managers, instances, events, samples, decisions).
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Written from what TypeORM's schema builder generates for `entitySchemas('sqlite')`,
 * so `synchronize` after this migration finds nothing to change. `IF NOT EXISTS`
 * lets it run on a file a test synchronized earlier without failing.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE IF NOT EXISTS "endpoints" ("name" varchar PRIMARY KEY NOT NULL, "state" varchar NOT NULL, "configText" text NOT NULL, "version" integer NOT NULL, "createdAt" datetime NOT NULL, "updatedAt" datetime NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS "managers" ("id" varchar PRIMARY KEY NOT NULL, "name" varchar NOT NULL, "address" text NOT NULL, "slots" integer NOT NULL, "usedSlots" integer NOT NULL, "clouds" text NOT NULL, "loadbalancers" text NOT NULL, "problems" text NOT NULL, "lastSeen" datetime NOT NULL, "createdAt" datetime NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS "instances" ("id" varchar PRIMARY KEY NOT NULL, "endpoint" varchar NOT NULL, "managerId" varchar, "containerId" varchar, "address" text, "status" varchar NOT NULL, "slots" integer NOT NULL, "reason" text, "decommissionedAt" datetime, "createdAt" datetime NOT NULL, "updatedAt" datetime NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "IDX_instances_endpoint" ON "instances" ("endpoint")`,
      `CREATE INDEX IF NOT EXISTS "IDX_instances_managerId" ON "instances" ("managerId")`,
      `CREATE TABLE IF NOT EXISTS "events" ("id" varchar PRIMARY KEY NOT NULL, "endpoint" varchar NOT NULL, "kind" varchar NOT NULL, "message" text NOT NULL, "data" text NOT NULL, "at" datetime NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "IDX_events_endpoint_id" ON "events" ("endpoint", "id")`,
      `CREATE INDEX IF NOT EXISTS "IDX_events_at" ON "events" ("at")`,
      `CREATE TABLE IF NOT EXISTS "metric_samples" ("id" varchar PRIMARY KEY NOT NULL, "endpoint" varchar NOT NULL, "at" datetime NOT NULL, "instances" integer NOT NULL, "metrics" text NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "IDX_metric_samples_endpoint_id" ON "metric_samples" ("endpoint", "id")`,
      `CREATE INDEX IF NOT EXISTS "IDX_metric_samples_at" ON "metric_samples" ("at")`,
      `CREATE TABLE IF NOT EXISTS "decisions" ("id" varchar PRIMARY KEY NOT NULL, "endpoint" varchar NOT NULL, "at" datetime NOT NULL, "record" text NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS "IDX_decisions_endpoint_id" ON "decisions" ("endpoint", "id")`,
      `CREATE INDEX IF NOT EXISTS "IDX_decisions_at" ON "decisions" ("at")`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['decisions', 'metric_samples', 'events', 'instances', 'managers', 'endpoints']) {
      await queryRunner.query(`DROP TABLE IF EXISTS "${table}"`);
    }
  }
}
