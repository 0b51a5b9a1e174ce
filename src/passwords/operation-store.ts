import type { Kysely } from 'kysely';
import type {
  Database,
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

/** Inserts an operation and its first event; run in the transaction of the request that asks for it. */
export async function insertOperation(db: Kysely<Database>, row: PasswordOperationRow): Promise<void> {
  await db.insertInto('password_operations').values(row).execute();
  await appendOperationEvent(db, row.id, row.created_at, row.state, row.step, null);
}

export async function appendOperationEvent(
  db: Kysely<Database>,
  operationId: string,
  at: string,
  state: OperationState,
  step: string,
  detail: string | null,
): Promise<void> {
  await db
    .insertInto('password_operation_events')
    .values({ operation_id: operationId, at, state, step, detail })
    .execute();
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

export async function listOperationEvents(db: Kysely<Database>, operationId: string) {
  return db
    .selectFrom('password_operation_events')
    .select(['at', 'state', 'step', 'detail'])
    .where('operation_id', '=', operationId)
    .orderBy('id')
    .execute();
}

/**
 * Takes the lease on an operation if it is due and nobody holds a live lease, and records the
 * `running` state in its history. A conditional UPDATE, so two workers (or two processes) can
 * never both win; works the same on both dialects. Run it in a transaction so the claim and its
 * event are kept together.
 */
export async function claimOperation(
  db: Kysely<Database>,
  operationId: string,
  owner: string,
  now: string,
  leaseUntil: string,
): Promise<boolean> {
  const result = await db
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
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  const claimed = await db
    .selectFrom('password_operations')
    .select(['step', 'attempts'])
    .where('id', '=', operationId)
    .executeTakeFirstOrThrow();
  await appendOperationEvent(db, operationId, now, 'running', claimed.step, `attempt ${claimed.attempts}`);
  return true;
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
  const result = await db
    .updateTable('password_operations')
    .set({ state: 'terminated', updated_at: at, completed_at: at, secret_ciphertext: null })
    .where('id', '=', operationId)
    .where('state', 'in', ['notStarted', 'retryScheduled'])
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  const row = await db
    .selectFrom('password_operations')
    .select('step')
    .where('id', '=', operationId)
    .executeTakeFirstOrThrow();
  await appendOperationEvent(db, operationId, at, 'terminated', row.step, detail);
  return true;
}

/** Ids of operations a worker could claim now: due ones, and running ones whose lease lapsed. */
export async function listDueOperationIds(
  db: Kysely<Database>,
  now: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('password_operations')
    .select('id')
    .where('state', 'in', ['notStarted', 'retryScheduled', 'running'])
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Moves an operation that `owner` holds to a new state. Returns false if the lease was lost (the
 * caller must then roll back whatever it did in the same transaction).
 */
export async function transitionOperation(
  db: Kysely<Database>,
  operationId: string,
  owner: string,
  change: {
    readonly state: OperationState;
    readonly step: string;
    readonly at: string;
    readonly nextAttemptAt?: string;
    readonly error?: { readonly code: number; readonly retryable: boolean; readonly detail: string } | null;
    readonly detail?: string | null;
  },
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
  await appendOperationEvent(
    db,
    operationId,
    change.at,
    change.state,
    change.step,
    change.detail ?? change.error?.detail ?? null,
  );
  return true;
}
