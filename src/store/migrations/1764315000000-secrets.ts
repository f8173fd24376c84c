// SQLite migration 3: the secrets table (values every server of one store shares, such as the instance token key).
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Matches what TypeORM's schema builder generates for `entitySchemas('sqlite').secrets`. */
export class Secrets1764315000000 implements MigrationInterface {
  name = 'Secrets1764315000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE IF NOT EXISTS "secrets" ("name" varchar PRIMARY KEY NOT NULL, "value" text NOT NULL, "createdAt" datetime NOT NULL)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "secrets"`);
  }
}
