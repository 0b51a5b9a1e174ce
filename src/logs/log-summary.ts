import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import { findCatalogEntry } from '../platform/errors/catalog.js';
import { countSignInOutcomesSince } from '../sign-ins/sign-in-log-service.js';
import type { LogTimeRange } from './time-range.js';

/** The sign-ins of one outcome in a summary. */
export interface ErrorCodeCount {
  /** 0 for a successful sign-in, else the AADSTS (or Rekey) code it failed with. */
  readonly errorCode: number;
  /** The catalog name (`Success` for 0, `Unknown` for a code the catalog does not define). */
  readonly name: string;
  readonly count: number;
}

/** What failed, and how often, in a time window: the administrator's first look at the sign-in log. */
export interface SignInSummary {
  readonly since: string;
  readonly until: string;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Most frequent first. */
  readonly errorCodes: readonly ErrorCodeCount[];
}

/** The catalog name of a sign-in's error code. */
export function errorCodeName(code: number): string {
  if (code === 0) return 'Success';
  return findCatalogEntry(code)?.name ?? 'Unknown';
}

/**
 * Counts the tenant's sign-ins since `range.since` by error code (one grouped index scan, see
 * countSignInsByErrorCode in the store), with the catalog name of each code. The window runs to now: `until`
 * only reports when the count was taken.
 */
export async function summariseSignIns(
  db: Kysely<Database>,
  tenantId: string,
  range: LogTimeRange,
): Promise<SignInSummary> {
  const counts = await countSignInOutcomesSince(db, tenantId, range.since);
  const errorCodes = counts.map((row) => ({ ...row, name: errorCodeName(row.errorCode) }));
  const total = errorCodes.reduce((sum, row) => sum + row.count, 0);
  const succeeded = errorCodes.find((row) => row.errorCode === 0)?.count ?? 0;
  return { since: range.since, until: range.until, total, succeeded, failed: total - succeeded, errorCodes };
}
