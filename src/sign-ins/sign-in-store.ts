import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, SignInRow } from '../platform/db/schema.js';

export type NewSignIn = Omit<SignInRow, 'id'>;

/** Writes one sign-in event; every token-endpoint attempt produces exactly one. */
export async function insertSignIn(db: Kysely<Database>, signIn: NewSignIn): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('sign_ins')
    .values({ id, ...signIn })
    .execute();
  return id;
}

const signInColumns = [
  'id',
  'tenant_id',
  'created_at',
  'user_id',
  'user_principal_name',
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
    .execute();
}
