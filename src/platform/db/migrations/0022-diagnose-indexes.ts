import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * The troubleshooter's reads over a day of a large log (`npm run bench -- diagnose`, 10 million
 * sign-ins and 1 million audits), each made an index range instead of a scan of the window:
 *
 * - sign_ins_error gains upn_key at its end, so counting the users a code hit and ranking the most
 *   hit (every diagnosis by code) reads the index alone rather than one table row per failure
 *   (some 10,000 random reads for 50126 in a day). It still ends with the keyset order
 *   (created_at, id), so the log API's `status/errorCode eq` pages are read as before.
 * - directory_audits_activity (tenant_id, activity_display_name, activity_at, id): the
 *   configuration changes in the window (every diagnosis) are the few rows of those activities,
 *   not a read of the day's audits (33,000 at that size) filtered down to them.
 * - directory_audits_result (tenant_id, result, activity_at, id): the refused changes and resets
 *   with a code (a diagnosis by code) are read among the window's failures, newest first, not
 *   among all of its password changes.
 * - password_operations_error (tenant_id, error_code, created_at, id): the operations that failed
 *   with a code in the window, without reading the window's operations.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.dropIndex('sign_ins_error').execute();
  await db.schema
    .createIndex('sign_ins_error')
    .on('sign_ins')
    .columns(['tenant_id', 'error_code', 'created_at', 'id', 'upn_key'])
    .execute();
  await db.schema
    .createIndex('directory_audits_activity')
    .on('directory_audits')
    .columns(['tenant_id', 'activity_display_name', 'activity_at', 'id'])
    .execute();
  await db.schema
    .createIndex('directory_audits_result')
    .on('directory_audits')
    .columns(['tenant_id', 'result', 'activity_at', 'id'])
    .execute();
  await db.schema
    .createIndex('password_operations_error')
    .on('password_operations')
    .columns(['tenant_id', 'error_code', 'created_at', 'id'])
    .execute();
}
