import type { DomainFederationRow } from '../platform/db/schema.js';
import { metadataUrl } from '../platform/http/graph-envelope.js';
import type { FederationCollection, FederationEntity, GraphFederation } from './federation-schemas.js';

/** Graph's `internalDomainFederation` of a stored row. */
export function toGraphFederation(row: DomainFederationRow): GraphFederation {
  return {
    '@odata.type': '#microsoft.graph.internalDomainFederation',
    id: row.id,
    displayName: row.display_name,
    issuerUri: row.issuer_uri,
    metadataExchangeUri: row.metadata_exchange_uri,
    passiveSignInUri: row.passive_sign_in_uri,
    activeSignInUri: row.active_sign_in_uri,
    signOutUri: row.sign_out_uri,
    passwordResetUri: row.password_reset_uri,
    signingCertificate: row.signing_certificate,
    nextSigningCertificate: row.next_signing_certificate,
    preferredAuthenticationProtocol: row.preferred_authentication_protocol,
    federatedIdpMfaBehavior: row.federated_idp_mfa_behavior,
    promptLoginBehavior: row.prompt_login_behavior,
    isSignedAuthenticationRequestRequired: row.is_signed_authentication_request_required === 1,
  };
}

function contextOf(publicUrl: string, domain: string, suffix = ''): string {
  return metadataUrl(publicUrl, `domains('${domain}')/federationConfiguration${suffix}`);
}

/** `GET /v1.0/domains/{id}/federationConfiguration`. */
export function toFederationCollection(
  domain: string,
  rows: readonly DomainFederationRow[],
  publicUrl: string,
): FederationCollection {
  return { '@odata.context': contextOf(publicUrl, domain), value: rows.map(toGraphFederation) };
}

/** One federation, read, created or changed. */
export function toFederationEntity(row: DomainFederationRow, publicUrl: string): FederationEntity {
  return { '@odata.context': contextOf(publicUrl, row.domain_name, '/$entity'), ...toGraphFederation(row) };
}
