import { type Kysely, sql } from 'kysely';
import { preparedQueries, preparedQuery, rowOfParameters } from '../platform/db/prepared-query.js';
import type {
  Database,
  OperationKind,
  OperationState,
  PasswordOperationRow,
  PasswordOperationsTable,
} from '../platform/db/schema.js';

const operationColumns = [
  'id',
  'tenant_id',
  'user_id',
  'kind',
  'requested_by_user_id',
  'requested_by_app_id',
  'correlation_id',
  'idempotency_key',
  'idempotency_fingerprint',
  'state',
  'step',
  'attempts',
  'next_attempt_at',
  'deadline_at',
  'lease_owner',
  'lease_expires_at',
  'error_code',
  'error_retryable',
  'error_detail',
  'secret_ciphertext',
  'force_change',
  'created_at',
  'updated_at',
  'completed_at',
] as const satisfies ReadonlyArray<keyof PasswordOperationsTable>;

/** The columns a listing reads: all but the sealed password. */
const listedColumns = operationColumns.filter(
  (column): column is Exclude<(typeof operationColumns)[number], 'secret_ciphertext'> =>
    column !== 'secret_ciphertext',
);

/** One entry of an operation's history. */
export interface OperationEvent {
  readonly at: string;
  readonly state: OperationState;
  readonly step: string;
  readonly detail: string | null;
  /** The catalog code of the failure this entry records, and whether it was retryable. */
  readonly error?: { readonly code: number; readonly retryable: boolean } | null | undefined;
}

/** An event as its row stores it. */
function eventRow(operationId: string, event: OperationEvent) {
  return {
    operation_id: operationId,
    at: event.at,
    state: event.state,
    step: event.step,
    detail: event.detail,
    code: event.error?.code ?? null,
    retryable: event.error ? (event.error.retryable ? (1 as const) : (0 as const)) : null,
  };
}

/** The insert of an operation, every column given: prepared once, as every change runs it. */
const operationInsert = preparedQuery((db, p: PasswordOperationRow) =>
  db.insertInto('password_operations').values(rowOfParameters(p, operationColumns)),
);

type EventRow = ReturnType<typeof eventRow>;
const eventColumns = ['operation_id', 'at', 'state', 'step', 'detail', 'code', 'retryable'] as const;

/** Prepared inserts of 1 to 4 history entries at once (a change writes three), by count. */
const preparedEventCounts = 4;
const eventInsert = preparedQueries(
  (count: number) => (db, p: Record<string, unknown>) =>
    db
      .insertInto('password_operation_events')
      .values(
        Array.from(
          { length: count },
          (_, i) =>
            Object.fromEntries(eventColumns.map((column) => [column, p[`${column}${i}`]])) as EventRow,
        ),
      ),
);

/**
 * Inserts an operation with its history so far (at least its first state); run in the
 * transaction of the request that asks for it, so an accepted operation is never lost.
 */
export async function insertOperation(
  db: Kysely<Database>,
  row: PasswordOperationRow,
  events: readonly OperationEvent[] = [
    { at: row.created_at, state: row.state, step: row.step, detail: null },
  ],
): Promise<void> {
  await operationInsert(db, row);
  const rows = events.map((event) => eventRow(row.id, event));
  if (rows.length === 0) return;
  if (rows.length > preparedEventCounts) {
    await db.insertInto('password_operation_events').values(rows).execute();
    return;
  }
  const parameters: Record<string, unknown> = {};
  rows.forEach((eventRowValues, i) => {
    for (const column of eventColumns) parameters[`${column}${i}`] = eventRowValues[column];
  });
  await eventInsert(rows.length)(db, parameters);
}

/** Adds one entry to an operation's history. */
export async function appendOperationEvent(
  db: Kysely<Database>,
  operationId: string,
  event: OperationEvent,
): Promise<void> {
  await db.insertInto('password_operation_events').values(eventRow(operationId, event)).execute();
}

export async function findOperation(
  db: Kysely<Database>,
  tenantId: string,
  operationId: string,
): Promise<PasswordOperationRow | undefined> {
  return db
    .selectFrom('password_operations')
    .select(operationColumns)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', operationId)
    .executeTakeFirst();
}

export async function findOperationByIdempotencyKey(
  db: Kysely<Database>,
  userId: string,
  key: string,
): Promise<PasswordOperationRow | undefined> {
  return db
    .selectFrom('password_operations')
    .select(operationColumns)
    .where('user_id', '=', userId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/** An operation's history, oldest first. */
export async function listOperationEvents(db: Kysely<Database>, operationId: string) {
  return db
    .selectFrom('password_operation_events')
    .select(['at', 'state', 'step', 'detail', 'code', 'retryable'])
    .where('operation_id', '=', operationId)
    .orderBy('id')
    .execute();
}

/**
 * Takes the lease on an operation if it is due and nobody holds a live lease, records the
 * `running` state in its history, and returns the operation as claimed. A conditional UPDATE, so
 * two workers (or two processes) can never both win; works the same on both dialects (RETURNING
 * saves reading the row back). Run it in a transaction so the claim and its event stay together.
 */
export async function claimOperation(
  db: Kysely<Database>,
  operationId: string,
  owner: string,
  now: string,
  leaseUntil: string,
): Promise<PasswordOperationRow | undefined> {
  const claimed = await db
    .updateTable('password_operations')
    .set((eb) => ({
      lease_owner: owner,
      lease_expires_at: leaseUntil,
      state: 'running',
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', operationId)
    .where('state', 'in', ['notStarted', 'retryScheduled', 'running'])
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
    .returning(operationColumns)
    .executeTakeFirst();
  if (!claimed) return undefined;
  await appendOperationEvent(db, operationId, {
    at: now,
    state: 'running',
    step: claimed.step,
    detail: `attempt ${claimed.attempts}`,
  });
  return claimed;
}

/**
 * Extends the lease `owner` holds on a running operation. Returns false when the lease was lost
 * (expired and taken over, or the operation moved on): the attempt must then stop.
 */
export async function renewLease(
  db: Kysely<Database>,
  operationId: string,
  owner: string,
  now: string,
  leaseUntil: string,
): Promise<boolean> {
  const result = await db
    .updateTable('password_operations')
    .set({ lease_expires_at: leaseUntil, updated_at: now })
    .where('id', '=', operationId)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Ends an operation that nobody holds (waiting for a retry, or not started) as terminated, keeping
 * its last error. Returns false when it had already moved on.
 */
export async function abandonOperation(
  db: Kysely<Database>,
  operationId: string,
  at: string,
  detail: string,
): Promise<boolean> {
  const abandoned = await db
    .updateTable('password_operations')
    .set({ state: 'terminated', updated_at: at, completed_at: at, secret_ciphertext: null })
    .where('id', '=', operationId)
    .where('state', 'in', ['notStarted', 'retryScheduled'])
    .returning(['step', 'error_code', 'error_retryable'])
    .executeTakeFirst();
  if (!abandoned) return false;
  await appendOperationEvent(db, operationId, {
    at,
    state: 'terminated',
    step: abandoned.step,
    detail,
    error:
      abandoned.error_code === null
        ? null
        : { code: abandoned.error_code, retryable: abandoned.error_retryable === 1 },
  });
  return true;
}

/**
 * Ids of operations a worker could claim now: due ones, and running ones whose lease lapsed,
 * oldest due first. With `lock`, the rows are locked `FOR UPDATE SKIP LOCKED` (PostgreSQL): two
 * workers claiming at the same moment each get rows the other did not lock, instead of waiting on
 * each other and then losing the conditional UPDATE. SQLite has one writer and no row locks;
 * platform/db drops the clause there. Run it in the transaction that then claims the rows.
 */
export async function listDueOperationIds(
  db: Kysely<Database>,
  now: string,
  limit: number,
  options: { readonly lock?: boolean } = {},
): Promise<string[]> {
  let query = db
    .selectFrom('password_operations')
    .select('id')
    .where('state', 'in', ['notStarted', 'retryScheduled', 'running'])
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
    .orderBy('next_attempt_at')
    .limit(limit);
  if (options.lock) query = query.forUpdate().skipLocked();
  const rows = await query.execute();
  return rows.map((r) => r.id);
}

/** What a list of operations may be narrowed to; every filter is optional. */
export interface OperationFilter {
  readonly userId?: string | undefined;
  readonly state?: OperationState | undefined;
  /** The catalog code of the operation's last failure. */
  readonly errorCode?: number | undefined;
  readonly kind?: OperationKind | undefined;
  /** Created at or after this time (ISO 8601). */
  readonly since?: string | undefined;
  /** Created before this time (ISO 8601). */
  readonly until?: string | undefined;
}

/** Where a page of operations starts: after the last row of the page before, newest first. */
export interface OperationCursor {
  readonly createdAt: string;
  readonly id: string;
}

/**
 * A page of a tenant's operations, newest first, with the filter applied: keyset paging on
 * (created_at, id), so a page is one range read of `password_operations_tenant_time` whatever the
 * page's depth. The secret column is never read.
 */
export async function listOperations(
  db: Kysely<Database>,
  tenantId: string,
  filter: OperationFilter,
  page: { readonly after?: OperationCursor | undefined; readonly limit: number },
): Promise<PasswordOperationRow[]> {
  let query = db.selectFrom('password_operations').select(listedColumns).where('tenant_id', '=', tenantId);
  if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.errorCode !== undefined) query = query.where('error_code', '=', filter.errorCode);
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
  if (filter.since !== undefined) query = query.where('created_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('created_at', '<', filter.until);
  const after = page.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
      ]),
    );
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  return rows.map((row) => ({ ...row, secret_ciphertext: null }));
}

/**
 * The states of an operation still going, as password_operations_unfinished's condition spells
 * them (migration 0023): literals, not parameters, so that either database uses that index.
 */
const stillGoing = sql<boolean>`state in ('notStarted', 'running', 'retryScheduled')`;

const unfinishedOperationIds = preparedQuery((db, p: { userId: string; exceptId: string }) =>
  db
    .selectFrom('password_operations')
    .select('id')
    .where('user_id', '=', p.userId)
    .where(stillGoing)
    .where('id', '<>', p.exceptId),
);

/**
 * Ids of the user's operations that have not ended (not started, running or waiting for a
 * retry), other than `exceptId`: a change must not start while one of them may still apply.
 */
export async function listUnfinishedOperationIds(
  db: Kysely<Database>,
  userId: string,
  exceptId: string,
): Promise<string[]> {
  const { rows } = await unfinishedOperationIds(db, { userId, exceptId });
  return rows.map((r) => r.id);
}

/** A move of an operation that a lease holder makes. */
export interface OperationTransition {
  readonly state: OperationState;
  readonly step: string;
  readonly at: string;
  readonly nextAttemptAt?: string;
  readonly error?: { readonly code: number; readonly retryable: boolean; readonly detail: string } | null;
  readonly detail?: string | null;
}

/**
 * Moves an operation that `owner` holds to a new state (or, with the same `running` state, to a
 * new step: a checkpoint). Returns false if the lease was lost (the caller must then roll back
 * whatever it did in the same transaction). `passed` are history entries of moves this one
 * includes (a checkpoint committed with the steps after it), recorded before its own entry.
 */
export async function transitionOperation(
  db: Kysely<Database>,
  operationId: string,
  owner: string,
  change: OperationTransition,
  passed: readonly OperationEvent[] = [],
): Promise<boolean> {
  const finished = change.state === 'succeeded' || change.state === 'terminated';
  const released = finished || change.state === 'retryScheduled';
  const result = await db
    .updateTable('password_operations')
    .set({
      state: change.state,
      step: change.step,
      updated_at: change.at,
      ...(change.nextAttemptAt ? { next_attempt_at: change.nextAttemptAt } : {}),
      ...(change.error !== undefined
        ? {
            error_code: change.error?.code ?? null,
            error_retryable: change.error ? (change.error.retryable ? 1 : 0) : null,
            error_detail: change.error?.detail ?? null,
          }
        : {}),
      ...(released ? { lease_owner: null, lease_expires_at: null } : {}),
      // The new password is kept only while the operation can still use it.
      ...(finished ? { secret_ciphertext: null, completed_at: change.at } : {}),
    })
    .where('id', '=', operationId)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  const event: OperationEvent = {
    at: change.at,
    state: change.state,
    step: change.step,
    detail: change.detail ?? change.error?.detail ?? null,
    error: change.error ? { code: change.error.code, retryable: change.error.retryable } : null,
  };
  await db
    .insertInto('password_operation_events')
    .values([...passed, event].map((entry) => eventRow(operationId, entry)))
    .execute();
  return true;
}
