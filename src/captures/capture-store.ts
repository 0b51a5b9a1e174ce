import type { Kysely, Selectable } from 'kysely';
import type { CapturesTable, Database } from '../platform/db/schema.js';

/*
 * The rows of captures (migration 0020). Entries hold HAR JSON already redacted by
 * capture-redaction.ts: nothing here ever sees a secret. Counting an entry against its capture's
 * cap is one conditional update (`entry_count < max_entries`), so any number of processes
 * recording for one capture never exceed it.
 */

export type CaptureRow = Selectable<CapturesTable>;

const captureColumns = [
  'id',
  'tenant_id',
  'created_at',
  'created_by_user_id',
  'created_by_upn',
  'target',
  'user_principal_name',
  'user_id',
  'correlation_id',
  'ends_at',
  'stopped_at',
  'max_entries',
  'entry_count',
  'dropped_count',
] as const;

export async function insertCapture(
  db: Kysely<Database>,
  row: Omit<CaptureRow, 'entry_count' | 'dropped_count'>,
): Promise<void> {
  await db.insertInto('captures').values(row).execute();
}

export async function findCapture(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<CaptureRow | undefined> {
  return db
    .selectFrom('captures')
    .select(captureColumns)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The tenant's captures, newest first, at most `limit`. */
export async function listCaptures(
  db: Kysely<Database>,
  tenantId: string,
  limit: number,
): Promise<CaptureRow[]> {
  return db
    .selectFrom('captures')
    .select(captureColumns)
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Captures still recording at `now` (window not over, not stopped): what every process keeps in memory. */
export async function listActiveCaptures(
  db: Kysely<Database>,
  tenantId: string,
  now: string,
): Promise<CaptureRow[]> {
  return db
    .selectFrom('captures')
    .select(captureColumns)
    .where('tenant_id', '=', tenantId)
    .where('ends_at', '>', now)
    .where('stopped_at', 'is', null)
    .orderBy('ends_at')
    .execute();
}

/** The active header capture of one administrator (see recordHeaderExchange), if any. */
export async function findActiveHeaderCapture(
  db: Kysely<Database>,
  tenantId: string,
  userId: string,
  now: string,
): Promise<CaptureRow | undefined> {
  return db
    .selectFrom('captures')
    .select(captureColumns)
    .where('tenant_id', '=', tenantId)
    .where('target', '=', 'header')
    .where('created_by_user_id', '=', userId)
    .where('ends_at', '>', now)
    .where('stopped_at', 'is', null)
    .orderBy('ends_at', 'desc')
    .executeTakeFirst();
}

/** Captures of a user (by lower-case UPN or id) or of a correlation ID, newest first: a support bundle's. */
export async function listCapturesMatching(
  db: Kysely<Database>,
  tenantId: string,
  selectors: {
    readonly userPrincipalName?: string;
    readonly userId?: string;
    readonly correlationId?: string;
  },
  limit: number,
): Promise<CaptureRow[]> {
  const { userPrincipalName, userId, correlationId } = selectors;
  if (userPrincipalName === undefined && userId === undefined && correlationId === undefined) return [];
  return db
    .selectFrom('captures')
    .select(captureColumns)
    .where('tenant_id', '=', tenantId)
    .where((eb) =>
      eb.or([
        ...(userPrincipalName === undefined ? [] : [eb('user_principal_name', '=', userPrincipalName)]),
        ...(userId === undefined ? [] : [eb('user_id', '=', userId)]),
        ...(correlationId === undefined ? [] : [eb('correlation_id', '=', correlationId)]),
      ]),
    )
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/** Ends a capture now (a no-op for one already ended); true when it was still recording. */
export async function stopCapture(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable('captures')
    .set({ stopped_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('stopped_at', 'is', null)
    .where('ends_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface NewCaptureEntry {
  readonly id: string;
  readonly tenantId: string;
  readonly captureId: string;
  readonly createdAt: string;
  readonly correlationId: string | null;
  readonly userId: string | null;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly harEntry: string;
}

/**
 * Stores an entry if its capture has room: counts it first (`entry_count < max_entries`), else
 * counts it as dropped. True when stored.
 */
export async function insertCaptureEntryWithinCap(
  db: Kysely<Database>,
  entry: NewCaptureEntry,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const counted = await trx
      .updateTable('captures')
      .set((eb) => ({ entry_count: eb('entry_count', '+', 1) }))
      .where('tenant_id', '=', entry.tenantId)
      .where('id', '=', entry.captureId)
      .whereRef('entry_count', '<', 'max_entries')
      .executeTakeFirst();
    if (Number(counted.numUpdatedRows) === 0) {
      await trx
        .updateTable('captures')
        .set((eb) => ({ dropped_count: eb('dropped_count', '+', 1) }))
        .where('tenant_id', '=', entry.tenantId)
        .where('id', '=', entry.captureId)
        .execute();
      return false;
    }
    await trx
      .insertInto('capture_entries')
      .values({
        id: entry.id,
        tenant_id: entry.tenantId,
        capture_id: entry.captureId,
        created_at: entry.createdAt,
        correlation_id: entry.correlationId,
        user_id: entry.userId,
        method: entry.method,
        url: entry.url,
        status: entry.status,
        har_entry: entry.harEntry,
      })
      .execute();
    return true;
  });
}

/** The HAR entries of a capture, oldest first. */
export async function listCaptureEntries(
  db: Kysely<Database>,
  tenantId: string,
  captureId: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('capture_entries')
    .select('har_entry')
    .where('tenant_id', '=', tenantId)
    .where('capture_id', '=', captureId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => row.har_entry);
}

/** The HAR entries of one correlation ID, from any capture, oldest first, at most `limit`. */
export async function listCaptureEntriesOfCorrelation(
  db: Kysely<Database>,
  tenantId: string,
  correlationId: string,
  limit: number,
): Promise<Array<{ captureId: string; harEntry: string }>> {
  const rows = await db
    .selectFrom('capture_entries')
    .select(['capture_id', 'har_entry'])
    .where('tenant_id', '=', tenantId)
    .where('correlation_id', '=', correlationId)
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ captureId: row.capture_id, harEntry: row.har_entry }));
}
