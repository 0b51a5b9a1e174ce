import type { Kysely } from 'kysely';
import { findConnectorWriteback } from '../connectors/connector-service.js';
import { assertLicensedFor } from '../licenses/license-service.js';
import type { Database, DomainFederationRow, OperationKind, UserRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { findDomainFederation } from '../tenant/federation-service.js';

/*
 * Whether Rekey may change a user's password at all, before any password is looked at: the rules
 * of federated domains and of licences, the same for every path (a user's own change, the
 * expired-password change, an administrator's reset, a self-service reset) and checked again by
 * the operation's `validate` step, since a licence or a federation can change while an accepted
 * reset waits for a worker.
 *
 * - A federated domain's users sign in at the federation's identity provider, which owns their
 *   passwords. Rekey changes such a password only when it reaches the directory behind the
 *   federation itself: the user is synced from a connector that writes passwords back. Any other
 *   user of the domain is refused with 120012 and the federation's password page.
 * - A change or reset that is written back needs a licence that includes writeback (7701007);
 *   a self-service reset needs one that includes it (7701006). Changing one's own cloud password
 *   needs none.
 */

/** The lower-cased domain of a user principal name. */
export function domainOfUpn(upn: string): string {
  return upn.slice(upn.lastIndexOf('@') + 1).toLowerCase();
}

/** Where a federated user changes their password: the federation's password page, else its sign-in page. */
export function federationPasswordPage(federation: DomainFederationRow): string | null {
  return federation.password_reset_uri ?? federation.passive_sign_in_uri;
}

/** Whether `user` is synced from a connector (still there) that writes passwords back. */
export async function isWrittenBack(db: Kysely<Database>, tenantId: string, user: UserRow): Promise<boolean> {
  if (user.on_premises_connector_id === null || user.on_premises_distinguished_name === null) return false;
  return (await findConnectorWriteback(db, tenantId, user.on_premises_connector_id))?.writeback === true;
}

/** 120012 for a user whose password the federation of their domain owns, naming its password page. */
export function federatedPasswordRefusal(upn: string, federation: DomainFederationRow): RekeyError {
  const page = federationPasswordPage(federation);
  return new RekeyError(Codes.PasswordChangeNeedsToHappenOnPrem, {
    message: `${upn} is in ${federation.domain_name}, a domain federated with ${federation.display_name}, which owns the password: ${page === null ? "change or reset it with the federation's identity provider" : `change or reset it at ${page}`}.`,
    details: {
      domain: federation.domain_name,
      federationId: federation.id,
      passwordResetUri: federation.password_reset_uri,
      passiveSignInUri: federation.passive_sign_in_uri,
    },
  });
}

/**
 * The federation that owns `upn`'s password, or undefined: the upn's domain is federated and the
 * user (`user`, undefined when there is no such user) is not synced from a writeback connector.
 * Decided by the domain for an unknown user too, so the answer does not tell who exists.
 */
export async function federationOwningPassword(
  db: Kysely<Database>,
  tenantId: string,
  upn: string,
  user: UserRow | undefined,
): Promise<DomainFederationRow | undefined> {
  const federation = await findDomainFederation(db, tenantId, domainOfUpn(upn));
  if (!federation) return undefined;
  if (user && (await isWrittenBack(db, tenantId, user))) return undefined;
  return federation;
}

/**
 * Refuses a password operation of `kind` on `user` that federation or licences forbid (120012,
 * 7701006, 7701007); the caller writes the refusal's audit row.
 */
export async function assertPasswordOperationAllowed(
  db: Kysely<Database>,
  tenantId: string,
  user: UserRow,
  kind: OperationKind,
): Promise<void> {
  const writtenBack = await isWrittenBack(db, tenantId, user);
  if (!writtenBack) {
    const federation = await findDomainFederation(db, tenantId, domainOfUpn(user.user_principal_name));
    if (federation) throw federatedPasswordRefusal(user.user_principal_name, federation);
  }
  if (kind === 'selfServiceReset') await assertLicensedFor(db, tenantId, user, 'selfServicePasswordReset');
  if (writtenBack) await assertLicensedFor(db, tenantId, user, 'passwordWriteback');
}
