import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import { preparedQueries } from '../platform/db/prepared-query.js';
import type { Database } from '../platform/db/schema.js';

/** The settings documents Rekey keeps per tenant. */
export type SettingsDocumentName = 'passwordPolicy' | 'passwordProtection' | 'smartLockout' | 'signIn';

/** A stored settings document: the JSON text as written, and its version. */
export interface StoredSettingsDocument {
  readonly name: SettingsDocumentName;
  readonly value: string;
  readonly version: number;
  readonly updatedAt: string;
  readonly updatedBy: string | null;
}

function isDocumentName(name: string): name is SettingsDocumentName {
  return (
    name === 'passwordPolicy' || name === 'passwordProtection' || name === 'smartLockout' || name === 'signIn'
  );
}

/** The read of `count` documents, prepared once per count (every sign-in and change reads some). */
const documentsRead = preparedQueries(
  (count: number) => (db, p: { readonly tenantId: string; readonly [name: `name${number}`]: string }) =>
    db
      .selectFrom('tenant_settings')
      .select(['name', 'value', 'version', 'updated_at', 'updated_by'])
      .where('tenant_id', '=', p.tenantId)
      .where(
        'name',
        'in',
        Array.from({ length: count }, (_, i) => p[`name${i}`] as string),
      ),
);

/** The stored documents among `names` (a document never written is absent: it has its defaults). */
export async function readSettingsDocuments(
  db: Kysely<Database>,
  tenantId: string,
  names: readonly SettingsDocumentName[],
): Promise<StoredSettingsDocument[]> {
  if (names.length === 0) return [];
  const parameters: { tenantId: string; [name: `name${number}`]: string } = { tenantId };
  names.forEach((name, i) => {
    parameters[`name${i}`] = name;
  });
  const { rows } = await documentsRead(names.length)(db, parameters);
  return rows
    .filter((row) => isDocumentName(row.name))
    .map((row) => ({
      name: row.name as SettingsDocumentName,
      value: row.value,
      version: row.version,
      updatedAt: row.updated_at,
      updatedBy: row.updated_by,
    }));
}

/**
 * Writes a document if it is still at `expectedVersion` (0: never written), as version
 * `expectedVersion + 1`. Returns false when someone else wrote it first; the caller then reads
 * again and reapplies its change. A conditional UPDATE, or an INSERT that the primary key lets
 * only one writer win, so it behaves the same on both dialects without locks.
 */
export async function writeSettingsDocument(
  db: Kysely<Database>,
  tenantId: string,
  document: {
    readonly name: SettingsDocumentName;
    readonly value: string;
    readonly expectedVersion: number;
    readonly at: string;
    readonly by: string | null;
  },
): Promise<boolean> {
  if (document.expectedVersion === 0) {
    const result = await db
      .insertInto('tenant_settings')
      .values({
        tenant_id: tenantId,
        name: document.name,
        value: document.value,
        version: 1,
        updated_at: document.at,
        updated_by: document.by,
      })
      .onConflict((conflict) => conflict.columns(['tenant_id', 'name']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
  const result = await db
    .updateTable('tenant_settings')
    .set({
      value: document.value,
      version: document.expectedVersion + 1,
      updated_at: document.at,
      updated_by: document.by,
    })
    .where('tenant_id', '=', tenantId)
    .where('name', '=', document.name)
    .where('version', '=', document.expectedVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Password ages that a maximum-age change is judged against, as ISO cut-off instants. */
export interface ExpiryWindow {
  /** Passwords changed at or before this instant are expired; null when passwords never expire. */
  readonly expiredAtOrBefore: string | null;
  /** Passwords changed at or before this instant (and after the one above) are in the warning window. */
  readonly warnAtOrBefore: string | null;
}

export interface ExpiryImpactCounts {
  readonly usersExpiredImmediately: number;
  /** The first user principal names of those, longest-expired first. */
  readonly sample: string[];
  readonly usersEnteringWarningWindow: number;
  readonly usersNoLongerExpired: number;
}

type UsersBuilder = ExpressionBuilder<Database, 'users' | 'credentials'>;

/** Whether the user's password falls under `window`: expired, or in the warning window. */
function isExpired(eb: UsersBuilder, window: ExpiryWindow) {
  if (window.expiredAtOrBefore === null) return sql<boolean>`(1 = 0)`;
  return eb('users.last_password_change_at', '<=', window.expiredAtOrBefore);
}

function isWarned(eb: UsersBuilder, window: ExpiryWindow) {
  if (window.expiredAtOrBefore === null || window.warnAtOrBefore === null) return sql<boolean>`(1 = 0)`;
  return eb.and([
    eb('users.last_password_change_at', '>', window.expiredAtOrBefore),
    eb('users.last_password_change_at', '<=', window.warnAtOrBefore),
  ]);
}

/**
 * How a change of the maximum password age would land on the tenant's users, counted in SQL
 * over users and credentials: live (not deleted) users with a password, a known change time and
 * no `DisablePasswordExpiration`. ISO 8601 UTC strings sort as time on both dialects, so the
 * windows are plain string comparisons. It reads the users table directly because it is an
 * aggregate over the whole directory that no user-service call offers.
 */
export async function countExpiryImpact(
  db: Kysely<Database>,
  tenantId: string,
  before: ExpiryWindow,
  after: ExpiryWindow,
  sampleSize: number,
): Promise<ExpiryImpactCounts> {
  const base = db
    .selectFrom('users')
    .innerJoin('credentials', 'credentials.user_id', 'users.id')
    .where('users.tenant_id', '=', tenantId)
    .where('users.deleted_at', 'is', null)
    .where('users.last_password_change_at', 'is not', null)
    // password_policies is stored normalised ("DisablePasswordExpiration, DisableStrongPassword"),
    // so a substring test is exact, and LIKE's case rules (PostgreSQL: sensitive) do not matter.
    .where((eb) =>
      eb.or([
        eb('users.password_policies', 'is', null),
        eb('users.password_policies', 'not like', '%DisablePasswordExpiration%'),
      ]),
    );
  const newlyExpired = base.where((eb) => eb.and([isExpired(eb, after), eb.not(isExpired(eb, before))]));
  const count = async (query: typeof base): Promise<number> => {
    const row = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  };
  const sampleRows = await newlyExpired
    .select('users.user_principal_name')
    .orderBy('users.last_password_change_at')
    .orderBy('users.upn_key')
    .limit(sampleSize)
    .execute();
  return {
    usersExpiredImmediately: await count(newlyExpired),
    sample: sampleRows.map((row) => row.user_principal_name),
    usersEnteringWarningWindow: await count(
      base.where((eb) =>
        eb.and([isWarned(eb, after), eb.not(isWarned(eb, before)), eb.not(isExpired(eb, before))]),
      ),
    ),
    usersNoLongerExpired: await count(
      base.where((eb) => eb.and([isExpired(eb, before), eb.not(isExpired(eb, after))])),
    ),
  };
}
