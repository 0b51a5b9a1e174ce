import type { Kysely } from 'kysely';
import type { Database, SignInRow } from '../platform/db/schema.js';

/*
 * Log rows for the retention and export tests, written straight into the tables (the sign-in
 * service and the audit writer have their own tests) so that a test can place rows at any time.
 */

/** A sign-in row with sensible values for everything `overrides` does not give. */
export function signInRow(
  tenantId: string,
  overrides: Partial<SignInRow> & Pick<SignInRow, 'id' | 'created_at'>,
): SignInRow {
  const upn = overrides.user_principal_name ?? 'ada@example.com';
  return {
    tenant_id: tenantId,
    user_id: '0b7d6c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e',
    user_principal_name: upn,
    upn_key: upn.toLowerCase(),
    user_display_name: 'Ada Lovelace',
    app_id: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20',
    app_display_name: 'Rekey CLI',
    client_app_used: 'Mobile Apps and Desktop clients',
    ip_address: '192.0.2.10',
    user_agent: 'rekey-test/1.0',
    correlation_id: `corr-${overrides.id}`,
    is_interactive: 1,
    error_code: 0,
    failure_reason: null,
    additional_details: null,
    ...overrides,
  };
}

/** Inserts `rows` in chunks (one statement per chunk keeps thousands of rows quick on both databases). */
export async function insertSignInRows(db: Kysely<Database>, rows: readonly SignInRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += 500) {
    await db
      .insertInto('sign_ins')
      .values(rows.slice(start, start + 500))
      .execute();
  }
}

/** A sortable, unique id for test row `n` (ids only need to be unique; order comes from time, then id). */
export function rowId(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(8, '0')}`;
}

/** `base` plus `seconds`, in stored form. */
export function isoPlus(base: string, seconds: number): string {
  return new Date(Date.parse(base) + seconds * 1000).toISOString();
}
