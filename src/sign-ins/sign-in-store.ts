import type { Kysely } from 'kysely';
import { v7 as timeOrderedUuid } from 'uuid';
import { preparedQuery, rowOfParameters } from '../platform/db/prepared-query.js';
import type { Database, SignInRow } from '../platform/db/schema.js';
import { type CountedPage, fetchListPage, type ListRequest } from '../platform/odata/index.js';
import { signInFields } from './sign-in-query.js';

/** A sign-in event about to be written; `upn_key` is derived here. */
export type NewSignIn = Omit<SignInRow, 'id' | 'upn_key'>;

/** Writes one sign-in event; every token-endpoint attempt produces exactly one. */
export async function insertSignIn(db: Kysely<Database>, signIn: NewSignIn): Promise<string> {
  // Time-ordered (UUIDv7): each new row lands at the end of the primary-key index instead of
  // at a random page, which keeps writes cheap at millions of rows.
  const id = timeOrderedUuid();
  // The user name and user agent are whatever the caller typed or sent: cut to their columns,
  // which PostgreSQL enforces (a longer value failed the whole sign-in with a 500) and SQLite not.
  const upn = signIn.user_principal_name.slice(0, 256);
  await signInInsert(db, {
    id,
    ...signIn,
    user_principal_name: upn,
    upn_key: upn.toLowerCase(),
    user_agent: signIn.user_agent?.slice(0, 512) ?? null,
  });
  return id;
}

/** Every token-endpoint attempt writes one: prepared once, every column given. */
const signInInsert = preparedQuery((db, p: SignInRow) =>
  db.insertInto('sign_ins').values(rowOfParameters(p, signInColumns)),
);

export const signInColumns = [
  'id',
  'tenant_id',
  'created_at',
  'user_id',
  'user_principal_name',
  'upn_key',
  'user_display_name',
  'app_id',
  'app_display_name',
  'client_app_used',
  'ip_address',
  'user_agent',
  'correlation_id',
  'is_interactive',
  'error_code',
  'failure_reason',
  'additional_details',
] as const;

/** One sign-in event of the tenant by id, or undefined. */
export async function findSignInById(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<SignInRow | undefined> {
  return db
    .selectFrom('sign_ins')
    .select(signInColumns)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The sign-ins of one correlation ID, oldest first. */
export async function listSignInsByCorrelation(
  db: Kysely<Database>,
  tenantId: string,
  correlationId: string,
): Promise<SignInRow[]> {
  return db
    .selectFrom('sign_ins')
    .select(signInColumns)
    .where('tenant_id', '=', tenantId)
    .where('correlation_id', '=', correlationId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export type SignInListPage = CountedPage<SignInRow>;

/**
 * One keyset page of the sign-in log matching a checked OData filter (from `signInsResource`).
 * Paging stays exact while new sign-ins arrive: they sort before the cursor of a newest-first
 * listing, so a client following `@odata.nextLink` neither repeats nor skips a row.
 */
export async function listSignInsPage(
  db: Kysely<Database>,
  tenantId: string,
  query: ListRequest,
): Promise<SignInListPage> {
  const scoped = db.selectFrom('sign_ins').select(signInColumns).where('sign_ins.tenant_id', '=', tenantId);
  return fetchListPage(scoped, query, signInFields);
}

/** How many sign-ins ended with each error code (0 = success) since `since`, most frequent first. */
export async function countSignInsByErrorCode(
  db: Kysely<Database>,
  tenantId: string,
  since: string,
): Promise<Array<{ errorCode: number; count: number }>> {
  const rows = await db
    .selectFrom('sign_ins')
    .select((eb) => ['error_code', eb.fn.countAll<number | string>().as('count')])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', since)
    .groupBy('error_code')
    .execute();
  return rows
    .map((row) => ({ errorCode: row.error_code, count: Number(row.count) }))
    .sort((a, b) => b.count - a.count || a.errorCode - b.errorCode);
}
