import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * One target's audit history, newest first, as a page read in order from
 * `directory_audit_targets`: the index gains the audit id, the tie-break of the keyset order
 * (`activity_at, audit_id`), so a page of `targetResources/any(t: t/id eq '...')` is one index
 * range read backwards and a primary-key probe per row, instead of every audit of the target
 * fetched and sorted. The old index is a prefix of the new one and goes.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.dropIndex('directory_audit_targets_target').execute();
  await db.schema
    .createIndex('directory_audit_targets_target')
    .on('directory_audit_targets')
    .columns(['tenant_id', 'target_id', 'activity_at', 'audit_id'])
    .execute();
}
