import type { Kysely } from 'kysely';
import { preparedQuery } from '../platform/db/prepared-query.js';
import type { Database, LockoutNetwork, LockoutStateRow } from '../platform/db/schema.js';
import { type LockoutCounters, parseFingerprints } from './lockout-policy.js';

/*
 * Smart lockout counters (`lockout_states`) and familiar networks (`familiar_networks`).
 *
 * Every change to a counter is a compare-and-set on its `version`: the row is read, the new
 * counters computed in the application (the fingerprint list is easier to get right there than
 * in SQL), and written back only if nobody wrote in between. The same statements work on SQLite,
 * PostgreSQL and the PostgreSQL-compatible distributed databases, with no explicit locks.
 */

const stateColumns = [
  'user_id',
  'network',
  'tenant_id',
  'failure_count',
  'bad_fingerprints',
  'locked_until',
  'lockout_count',
  'last_failure_at',
  'last_lockout_at',
  'version',
  'updated_at',
] as const satisfies ReadonlyArray<keyof LockoutStateRow>;

/** The counters of a stored row. */
export function countersOf(row: LockoutStateRow): LockoutCounters {
  return {
    failureCount: row.failure_count,
    fingerprints: parseFingerprints(row.bad_fingerprints),
    lockedUntil: row.locked_until,
    lockoutCount: row.lockout_count,
    lastFailureAt: row.last_failure_at,
    lastLockoutAt: row.last_lockout_at,
  };
}

/** The counter of one user on one kind of network, if it was ever written. */
const lockoutState = preparedQuery((db, p: { userId: string; network: LockoutNetwork }) =>
  db
    .selectFrom('lockout_states')
    .select(stateColumns)
    .where('user_id', '=', p.userId)
    .where('network', '=', p.network),
);

export async function findLockoutState(
  db: Kysely<Database>,
  userId: string,
  network: LockoutNetwork,
): Promise<LockoutStateRow | undefined> {
  // Every sign-in and change reads it, so it is prepared once.
  const { rows } = await lockoutState(db, { userId, network });
  return rows[0];
}

/** Both counters of a user that exist. */
export async function listLockoutStates(db: Kysely<Database>, userId: string): Promise<LockoutStateRow[]> {
  return db.selectFrom('lockout_states').select(stateColumns).where('user_id', '=', userId).execute();
}

/**
 * Creates an empty counter (version 0) unless one exists. Concurrent callers may all try: the
 * primary key lets one insert win and the others do nothing, so a compare-and-set always has a row.
 */
export async function ensureLockoutState(
  db: Kysely<Database>,
  row: {
    readonly userId: string;
    readonly network: LockoutNetwork;
    readonly tenantId: string;
    readonly at: string;
  },
): Promise<void> {
  await db
    .insertInto('lockout_states')
    .values({
      user_id: row.userId,
      network: row.network,
      tenant_id: row.tenantId,
      failure_count: 0,
      bad_fingerprints: '',
      locked_until: null,
      lockout_count: 0,
      last_failure_at: null,
      last_lockout_at: null,
      version: 0,
      updated_at: row.at,
    })
    .onConflict((conflict) => conflict.columns(['user_id', 'network']).doNothing())
    .execute();
}

/**
 * Writes `next` if the counter is still at `expectedVersion`, as the next version. Returns false
 * when another attempt wrote first; the caller reads again and judges its attempt anew.
 */
export async function compareAndSetLockoutState(
  db: Kysely<Database>,
  key: { readonly userId: string; readonly network: LockoutNetwork; readonly expectedVersion: number },
  next: LockoutCounters,
  at: string,
): Promise<boolean> {
  const result = await db
    .updateTable('lockout_states')
    .set({
      failure_count: next.failureCount,
      bad_fingerprints: next.fingerprints.join(','),
      locked_until: next.lockedUntil,
      lockout_count: next.lockoutCount,
      last_failure_at: next.lastFailureAt,
      last_lockout_at: next.lastLockoutAt,
      version: key.expectedVersion + 1,
      updated_at: at,
    })
    .where('user_id', '=', key.userId)
    .where('network', '=', key.network)
    .where('version', '=', key.expectedVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * After a right password: clears the counter's failures, fingerprints and lockout count, but only
 * if it is not locked at `now` and holds something to clear. One conditional UPDATE, so a lock
 * that another attempt set a moment earlier is never undone by a password check that raced it.
 * Returns whether it cleared anything.
 */
export async function clearLockoutStateIfUnlocked(
  db: Kysely<Database>,
  userId: string,
  network: LockoutNetwork,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable('lockout_states')
    .set((eb) => ({
      failure_count: 0,
      bad_fingerprints: '',
      locked_until: null,
      lockout_count: 0,
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('user_id', '=', userId)
    .where('network', '=', network)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .where((eb) =>
      eb.or([eb('failure_count', '>', 0), eb('lockout_count', '>', 0), eb('bad_fingerprints', '<>', '')]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Ends every lock of a user and restarts both counters (admin unlock, password reset). Returns
 * the rows as they were, for the audit record. The version moves on, so an attempt that read the
 * old counter cannot write over the reset.
 */
export async function resetLockoutStates(
  db: Kysely<Database>,
  userId: string,
  at: string,
): Promise<LockoutStateRow[]> {
  const before = await listLockoutStates(db, userId);
  if (before.length === 0) return before;
  await db
    .updateTable('lockout_states')
    .set((eb) => ({
      failure_count: 0,
      bad_fingerprints: '',
      locked_until: null,
      lockout_count: 0,
      version: eb('version', '+', 1),
      updated_at: at,
    }))
    .where('user_id', '=', userId)
    .execute();
  return before;
}

/** How many users of the tenant are locked on some network at `now`. */
export async function countLockedUsers(db: Kysely<Database>, tenantId: string, now: string): Promise<number> {
  const row = await db
    .selectFrom('lockout_states')
    .select((eb) => eb.fn.count<number>('user_id').distinct().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('locked_until', '>', now)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** When the user last signed in from `networkKey`, if ever. */
const familiarNetwork = preparedQuery((db, p: { userId: string; networkKey: string }) =>
  db
    .selectFrom('familiar_networks')
    .select('last_seen_at')
    .where('user_id', '=', p.userId)
    .where('network_key', '=', p.networkKey),
);

export async function findFamiliarNetwork(
  db: Kysely<Database>,
  userId: string,
  networkKey: string,
): Promise<{ readonly lastSeenAt: string } | undefined> {
  const row = (await familiarNetwork(db, { userId, networkKey })).rows[0];
  return row && { lastSeenAt: row.last_seen_at };
}

/** Records a first successful sign-in from `networkKey` (nothing if another request just did). */
export async function insertFamiliarNetwork(
  db: Kysely<Database>,
  userId: string,
  networkKey: string,
  at: string,
): Promise<void> {
  await db
    .insertInto('familiar_networks')
    .values({ user_id: userId, network_key: networkKey, first_seen_at: at, last_seen_at: at })
    .onConflict((conflict) => conflict.columns(['user_id', 'network_key']).doNothing())
    .execute();
}

/** Moves `last_seen_at` to `at` if it is older than `staleBefore` (so at most one write an hour). */
export async function touchFamiliarNetwork(
  db: Kysely<Database>,
  userId: string,
  networkKey: string,
  at: string,
  staleBefore: string,
): Promise<void> {
  await db
    .updateTable('familiar_networks')
    .set({ last_seen_at: at })
    .where('user_id', '=', userId)
    .where('network_key', '=', networkKey)
    .where('last_seen_at', '<', staleBefore)
    .execute();
}
