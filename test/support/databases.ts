import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type Db, type DialectName, migrateToLatest, openDatabase } from '../../src/platform/db/database.js';

/** The dialects every store and API test runs on. */
export const dialects: readonly DialectName[] = ['sqlite', 'postgres'];

/** Creates an empty PostgreSQL database on the suite's server and returns its URL. */
export async function createPostgresDatabase(): Promise<string> {
  const adminUrl = inject('postgresAdminUrl');
  const name = `rekey_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The database URL for a fresh, empty database of `dialect`. */
export async function freshDatabaseUrl(dialect: DialectName): Promise<string> {
  return dialect === 'sqlite' ? 'sqlite::memory:' : createPostgresDatabase();
}

/** Opens a fresh, migrated database of `dialect`. */
export async function openTestDatabase(dialect: DialectName): Promise<Db> {
  const db = openDatabase(await freshDatabaseUrl(dialect));
  await migrateToLatest(db);
  return db;
}
