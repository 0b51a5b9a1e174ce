import type { Kysely } from 'kysely';
import { EventIds } from '../event-log/event-catalog.js';
import { type NewEvent, recordEvents } from '../event-log/event-log-service.js';
import type { Database, SignInRow } from '../platform/db/schema.js';
import { Codes, findCatalogEntry } from '../platform/errors/catalog.js';
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
 * Refusals that shed load rather than judge a password: a flood of them is in the sign-in log
 * already, and writing each twice would double what the flood costs.
 */
const loadShedding: ReadonlySet<number> = new Set([Codes.RequestThrottled, Codes.PasswordCheckBusy]);

/**
 * The event-log entries of one sign-in: a failure (5001) and, when it locked the account, 5002.
 * Exported for the log generator of `rekey dev seed-logs`, which writes the same entries.
 */
export function signInEventsOf(signIn: NewSignIn, lockedNow: boolean): NewEvent[] {
  if (signIn.error_code === 0 || loadShedding.has(signIn.error_code)) return [];
  const name = findCatalogEntry(signIn.error_code)?.name ?? 'UnknownCode';
  const base = {
    at: signIn.created_at,
    correlationId: signIn.correlation_id,
    userId: signIn.user_id,
    details: {
      errorCode: signIn.error_code,
      userPrincipalName: signIn.user_principal_name.slice(0, 256),
      ipAddress: signIn.ip_address,
      appId: signIn.app_id,
    },
  };
  const events: NewEvent[] = [
    {
      ...base,
      eventId: EventIds.SignInFailed,
      message: `Sign-in of ${signIn.user_principal_name.slice(0, 256)} from ${signIn.ip_address} failed: AADSTS${signIn.error_code} ${name}.`,
    },
  ];
  if (lockedNow) {
    events.push({
      ...base,
      eventId: EventIds.AccountLocked,
      message: `Smart lockout locked ${signIn.user_principal_name.slice(0, 256)} after repeated failed sign-ins from ${signIn.ip_address}.`,
    });
  }
  return events;
}

/**
 * Records one sign-in event; every token-endpoint attempt records exactly one. A failure also
 * writes its event-log entries (5001, and 5002 when `lockedNow`: this attempt locked the
 * account), in the same transaction. Pass the transaction that opens the session to make the
 * event commit with it. Returns the event's id.
 */
export async function recordSignIn(
  db: Kysely<Database>,
  signIn: NewSignIn,
  options: { readonly lockedNow?: boolean } = {},
): Promise<string> {
  const events = signInEventsOf(signIn, options.lockedNow === true);
  if (events.length === 0) return insertSignIn(db, signIn);
  const write = async (trx: Kysely<Database>) => {
    const id = await insertSignIn(trx, signIn);
    await recordEvents(trx, signIn.tenant_id, events);
    return id;
  };
  return db.isTransaction ? write(db) : db.transaction().execute(write);
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
