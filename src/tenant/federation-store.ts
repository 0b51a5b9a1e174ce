import type { Kysely } from 'kysely';
import { preparedQuery } from '../platform/db/prepared-query.js';
import type { Database, DomainFederationRow } from '../platform/db/schema.js';
import type { FederationSettings } from './federation-config.js';

const federationColumns = [
  'id',
  'tenant_id',
  'domain_name',
  'display_name',
  'issuer_uri',
  'metadata_exchange_uri',
  'passive_sign_in_uri',
  'active_sign_in_uri',
  'sign_out_uri',
  'password_reset_uri',
  'signing_certificate',
  'next_signing_certificate',
  'preferred_authentication_protocol',
  'federated_idp_mfa_behavior',
  'prompt_login_behavior',
  'is_signed_authentication_request_required',
  'created_at',
  'updated_at',
] as const;

/** The stored columns of a federation's settings. */
export function federationColumnsOf(settings: FederationSettings) {
  return {
    display_name: settings.displayName,
    issuer_uri: settings.issuerUri,
    metadata_exchange_uri: settings.metadataExchangeUri,
    passive_sign_in_uri: settings.passiveSignInUri,
    active_sign_in_uri: settings.activeSignInUri,
    sign_out_uri: settings.signOutUri,
    password_reset_uri: settings.passwordResetUri,
    signing_certificate: settings.signingCertificate,
    next_signing_certificate: settings.nextSigningCertificate,
    preferred_authentication_protocol: settings.preferredAuthenticationProtocol,
    federated_idp_mfa_behavior: settings.federatedIdpMfaBehavior,
    prompt_login_behavior: settings.promptLoginBehavior,
    is_signed_authentication_request_required: settings.isSignedAuthenticationRequestRequired ? 1 : 0,
  } as const;
}

/** The federation of a domain of the tenant (lower-cased name), or undefined. */
const federationOfDomain = preparedQuery((db, p: { tenantId: string; domainName: string }) =>
  db
    .selectFrom('domain_federations')
    .select(federationColumns)
    .where('tenant_id', '=', p.tenantId)
    .where('domain_name', '=', p.domainName),
);

export async function findFederationOfDomain(
  db: Kysely<Database>,
  tenantId: string,
  domainName: string,
): Promise<DomainFederationRow | undefined> {
  // Every password change asks (federation owns the passwords of its domain): prepared once.
  const { rows } = await federationOfDomain(db, { tenantId, domainName: domainName.toLowerCase() });
  return rows[0];
}

/** The federation (of any domain of any tenant) that uses this issuer, or undefined. */
export async function findFederationByIssuer(
  db: Kysely<Database>,
  issuerUri: string,
): Promise<{ readonly id: string; readonly domain_name: string } | undefined> {
  return db
    .selectFrom('domain_federations')
    .select(['id', 'domain_name'])
    .where('issuer_uri', '=', issuerUri)
    .executeTakeFirst();
}

export async function insertFederation(db: Kysely<Database>, row: DomainFederationRow): Promise<void> {
  await db.insertInto('domain_federations').values(row).execute();
}

export async function updateFederation(
  db: Kysely<Database>,
  id: string,
  settings: FederationSettings,
  at: string,
): Promise<void> {
  await db
    .updateTable('domain_federations')
    .set({ ...federationColumnsOf(settings), updated_at: at })
    .where('id', '=', id)
    .execute();
}

export async function deleteFederation(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('domain_federations').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
