import { type Kysely, sql } from 'kysely';
import type { Database } from '../platform/db/schema.js';

/*
 * The reports' reads: counts grouped by a prefix of the stored time (`2026-12-07T11` is an hour,
 * `2026-12-07` a day: times are stored as `Date.toISOString()`, so the prefix is the bucket on
 * both dialects) within a window, each one range read of an index that exists:
 *
 *   sign-ins     sign_ins_tenant_time             (tenant_id, created_at)
 *   operations   password_operations_tenant_time  (tenant_id, created_at, id)
 *
 * The tables belong to other features; this module only counts their rows.
 */

/** One group of a report: the bucket (a time prefix), what is counted in it, and how many. */
export interface BucketCount<Key> {
  readonly bucket: string;
  readonly key: Key;
  readonly count: number;
}

/** The stored-time prefix length of a bucket: 13 characters for an hour, 10 for a day. */
export type PrefixLength = 13 | 10;

/** Sign-ins in [since, until) by bucket and error code (0 = success). */
export async function countSignInsByBucket(
  db: Kysely<Database>,
  tenantId: string,
  window: { readonly since: string; readonly until: string },
  prefix: PrefixLength,
): Promise<Array<BucketCount<number>>> {
  // A literal, not a parameter: PostgreSQL must see the same expression in SELECT and GROUP BY.
  const bucket = sql<string>`substr(created_at, 1, ${sql.lit(prefix)})`;
  const rows = await db
    .selectFrom('sign_ins')
    .select((eb) => [bucket.as('bucket'), 'error_code', eb.fn.countAll<number | string>().as('count')])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', window.since)
    .where('created_at', '<', window.until)
    .groupBy([bucket, 'error_code'])
    .execute();
  return rows.map((row) => ({ bucket: row.bucket, key: row.error_code, count: Number(row.count) }));
}

/** Password operations created in [since, until) by bucket, state and error code. */
export async function countOperationsByBucket(
  db: Kysely<Database>,
  tenantId: string,
  window: { readonly since: string; readonly until: string },
  prefix: PrefixLength,
): Promise<Array<BucketCount<{ readonly state: string; readonly errorCode: number | null }>>> {
  const bucket = sql<string>`substr(created_at, 1, ${sql.lit(prefix)})`;
  const rows = await db
    .selectFrom('password_operations')
    .select((eb) => [
      bucket.as('bucket'),
      'state',
      'error_code',
      eb.fn.countAll<number | string>().as('count'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', window.since)
    .where('created_at', '<', window.until)
    .groupBy([bucket, 'state', 'error_code'])
    .execute();
  return rows.map((row) => ({
    bucket: row.bucket,
    key: { state: row.state, errorCode: row.error_code },
    count: Number(row.count),
  }));
}
