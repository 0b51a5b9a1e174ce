import type { Kysely } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { Database } from '../platform/db/schema.js';

/*
 * The deletes of log retention. Each call removes at most one batch, oldest rows first, found
 * through the (tenant_id, time, ...) index each log table already has.
 *
 * SQLite: one statement, `delete from sign_ins where id in (select id from sign_ins where
 * tenant_id = ? and created_at < ? order by created_at limit ?)`. SQLite has one writer, so
 * purgers in several processes simply take turns; and one statement (rather than a select, then a
 * delete, in one transaction) never meets SQLITE_BUSY_SNAPSHOT, which a transaction that read
 * before another process wrote would get instead of waiting.
 *
 * PostgreSQL: a short transaction that selects the batch `for update skip locked`, then deletes
 * exactly those rows. Purgers in several processes take disjoint batches instead of waiting on (or
 * deadlocking over) each other's row locks. Not one statement with the locking select as its
 * subquery: PostgreSQL may read such a subquery lazily while the delete runs, and a `skip locked`
 * select then skips the rows already deleted and returns the next ones, so one "batch" deletes
 * everything (observed on directory_audit_targets, even with the batch as a materialized CTE).
 *
 * So the two delete functions take the open database, not a transaction: they choose the
 * statements by its dialect and run their own transaction.
 */

/** Every tenant's id: retention runs per tenant so that each batch is one index range. */
export async function listTenantIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('tenants').select('id').orderBy('id').execute();
  return rows.map((row) => row.id);
}

/** The log tables keyed by `id` alone, with the time retention compares. */
const keyedLogs = {
  sign_ins: 'created_at',
  directory_audits: 'activity_at',
  // The connector trace (directory calls), read by an operation's detail and connector health.
  connector_operations: 'at',
  // The event log (docs/event-log.md).
  event_log: 'created_at',
  // Exchanges recorded by HTTP captures (docs/captures.md), then the captures whose window ended
  // before the cutoff (their entries are all older than their end, so already gone).
  capture_entries: 'created_at',
  captures: 'ends_at',
} as const;

/**
 * Deletes up to `limit` of the tenant's oldest rows of `table` from before `cutoff`; returns how
 * many. Serves the sign-in log, the audit events and the connector trace, which differ only in
 * their time column (each has an index on (tenant_id, time)). An
 * audit event's `directory_audit_targets` rows carry the same time and go with
 * deleteAuditTargetsBefore, run after the events (a target row without its event is invisible to
 * every query).
 */
export async function deleteLogRowsBefore(
  { kysely: db, dialect }: Db,
  table: keyof typeof keyedLogs,
  tenantId: string,
  cutoff: string,
  limit: number,
): Promise<number> {
  const time = keyedLogs[table];
  const batch = (trx: Kysely<Database>) =>
    trx
      .selectFrom(table)
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where(time, '<', cutoff)
      .orderBy(time)
      .limit(limit);
  if (dialect === 'sqlite') {
    const result = await db.deleteFrom(table).where('id', 'in', batch(db)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
  return db.transaction().execute(async (trx) => {
    const ids = (await batch(trx).forUpdate().skipLocked().execute()).map((row) => row.id);
    if (ids.length === 0) return 0;
    const result = await trx.deleteFrom(table).where('id', 'in', ids).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

/**
 * Deletes up to `limit` of the tenant's oldest audit target rows before `cutoff`; returns how
 * many. A target row has its event's `activity_at`, so the rows past retention are exactly the
 * targets of purged events. Rows are named by their key (audit_id, target_id) as a row value,
 * which both databases accept.
 */
export async function deleteAuditTargetsBefore(
  { kysely: db, dialect }: Db,
  tenantId: string,
  cutoff: string,
  limit: number,
): Promise<number> {
  const batch = (trx: Kysely<Database>) =>
    trx
      .selectFrom('directory_audit_targets')
      .select(['audit_id', 'target_id'])
      .where('tenant_id', '=', tenantId)
      .where('activity_at', '<', cutoff)
      .orderBy('activity_at')
      .limit(limit);
  if (dialect === 'sqlite') {
    const result = await db
      .deleteFrom('directory_audit_targets')
      .where(({ eb, refTuple }) =>
        eb(refTuple('audit_id', 'target_id'), 'in', batch(db).$asTuple('audit_id', 'target_id')),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
  return db.transaction().execute(async (trx) => {
    const keys = await batch(trx).forUpdate().skipLocked().execute();
    if (keys.length === 0) return 0;
    const result = await trx
      .deleteFrom('directory_audit_targets')
      .where(({ eb, refTuple, tuple }) =>
        eb(
          refTuple('audit_id', 'target_id'),
          'in',
          keys.map((key) => tuple(key.audit_id, key.target_id)),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

/** How many rows of each log table (and of the connector trace) the tenant holds from before `cutoff` (for a dry run). */
export async function countLogRowsBefore(
  db: Kysely<Database>,
  tenantId: string,
  cutoff: string,
): Promise<{
  signIns: number;
  audits: number;
  auditTargets: number;
  connectorCalls: number;
  events: number;
  captureEntries: number;
  captures: number;
}> {
  const [signIns, audits, auditTargets, connectorCalls, events, captureEntries, captures] = await Promise.all(
    [
      db
        .selectFrom('sign_ins')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('created_at', '<', cutoff)
        .executeTakeFirst(),
      db
        .selectFrom('directory_audits')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('activity_at', '<', cutoff)
        .executeTakeFirst(),
      db
        .selectFrom('directory_audit_targets')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('activity_at', '<', cutoff)
        .executeTakeFirst(),
      db
        .selectFrom('connector_operations')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('at', '<', cutoff)
        .executeTakeFirst(),
      db
        .selectFrom('event_log')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('created_at', '<', cutoff)
        .executeTakeFirst(),
      db
        .selectFrom('capture_entries')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('created_at', '<', cutoff)
        .executeTakeFirst(),
      db
        .selectFrom('captures')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('ends_at', '<', cutoff)
        .executeTakeFirst(),
    ],
  );
  return {
    signIns: Number(signIns?.count ?? 0),
    audits: Number(audits?.count ?? 0),
    auditTargets: Number(auditTargets?.count ?? 0),
    connectorCalls: Number(connectorCalls?.count ?? 0),
    events: Number(events?.count ?? 0),
    captureEntries: Number(captureEntries?.count ?? 0),
    captures: Number(captures?.count ?? 0),
  };
}
