// SQLite migration 2: the custom_metrics table (custom metrics per endpoint and per instance, kept across restarts).
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Matches what TypeORM's schema builder generates for `entitySchemas('sqlite').customMetrics`. */
export class CustomMetrics1764100000000 implements MigrationInterface {
  name = 'CustomMetrics1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE IF NOT EXISTS "custom_metrics" ("id" varchar PRIMARY KEY NOT NULL, "endpoint" varchar NOT NULL, "instance" varchar NOT NULL, "metrics" text NOT NULL, "updatedAt" datetime NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_custom_metrics_endpoint" ON "custom_metrics" ("endpoint")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "custom_metrics"`);
  }
}
