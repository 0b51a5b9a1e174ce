import type { Kysely } from 'kysely';
import type { Database, SignInRow } from '../platform/db/schema.js';
import type { ListRequest } from '../platform/odata/index.js';
import {
  countSignInsByErrorCode,
  findSignInById,
  insertSignIn,
  listSignInsPage,
  type NewSignIn,
  type SignInListPage,
} from './sign-in-store.js';

/*
 * The sign-in log as the other features use it: the token endpoint records one event per attempt
 * (src/auth), the log API and the export read pages of it, and the summary counts it by outcome.
 */

export type { NewSignIn, SignInListPage } from './sign-in-store.js';

/**
 * Records one sign-in event; every token-endpoint attempt records exactly one. Pass the
 * transaction that opens the session to make the event commit with it. Returns the event's id.
 */
export function recordSignIn(db: Kysely<Database>, signIn: NewSignIn): Promise<string> {
  return insertSignIn(db, signIn);
}

/**
 * One keyset page of the tenant's sign-in log for a checked OData query (from `signInsResource`),
 * newest first unless the query orders otherwise.
 */
export function listSignIns(
  db: Kysely<Database>,
  tenantId: string,
  request: ListRequest,
): Promise<SignInListPage> {
  return listSignInsPage(db, tenantId, request);
}

/** One sign-in event of the tenant by id, or undefined. */
export function findSignIn(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<SignInRow | undefined> {
  return findSignInById(db, tenantId, id);
}

/**
 * How many of the tenant's sign-ins since `since` ended with each error code (0 for a success),
 * most frequent first: the counts behind `rekey logs summary`.
 */
export function countSignInOutcomesSince(
  db: Kysely<Database>,
  tenantId: string,
  since: string,
): Promise<Array<{ errorCode: number; count: number }>> {
  return countSignInsByErrorCode(db, tenantId, since);
}
