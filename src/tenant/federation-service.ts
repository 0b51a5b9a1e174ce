import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type ModifiedProperty, recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { Database, DomainFederationRow, DomainRow } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import {
  checkFederationInput,
  defaultFederationSettings,
  type FederationSettings,
} from './federation-config.js';
import {
  deleteFederation,
  findFederationByIssuer,
  findFederationOfDomain,
  insertFederation,
  updateFederation,
} from './federation-store.js';
import { findDomain, setDomainAuthenticationType } from './tenant-store.js';

/*
 * A domain's federation (Graph's `internalDomainFederation` under
 * `/v1.0/domains/{id}/federationConfiguration`). Creating one makes the domain `Federated`;
 * deleting it makes the domain `Managed` again, both in the transaction that writes the
 * federation, with their audit rows. Rekey does not sign anyone in through the federation: it
 * keeps what the federation is, so that it can refuse, with the federation's own pages, what only
 * the federation's identity provider can do (see password-eligibility in src/passwords).
 */

/** A federation's settings read back from its row. */
export function federationSettingsOf(row: DomainFederationRow): FederationSettings {
  return {
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

/** The federation of the domain `name` (any case), or undefined for a managed domain. */
export function findDomainFederation(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
): Promise<DomainFederationRow | undefined> {
  return findFederationOfDomain(db, tenantId, name);
}

/**
 * Creates the federation row of a domain added as `Federated` (POST /v1.0/domains), in the
 * transaction that adds the domain: only the password page is known then.
 */
export async function insertBareFederation(
  trx: Kysely<Database>,
  tenantId: string,
  domain: string,
  passwordResetUri: string | null,
  at: string,
): Promise<void> {
  const settings = { ...defaultFederationSettings(domain), passwordResetUri };
  await insertFederation(trx, rowOf(randomUUID(), tenantId, domain, settings, at));
}

function rowOf(
  id: string,
  tenantId: string,
  domain: string,
  settings: FederationSettings,
  at: string,
): DomainFederationRow {
  return {
    id,
    tenant_id: tenantId,
    domain_name: domain,
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
    created_at: at,
    updated_at: at,
  };
}

/** The properties an audit row shows: certificates by a short prefix, never whole. */
function auditValue(key: keyof FederationSettings, value: unknown): string {
  if ((key === 'signingCertificate' || key === 'nextSigningCertificate') && typeof value === 'string')
    return JSON.stringify(`${value.slice(0, 16)}...`);
  return JSON.stringify(value);
}

function changedProperties(
  before: FederationSettings | undefined,
  after: FederationSettings,
): ModifiedProperty[] {
  return (Object.keys(after) as Array<keyof FederationSettings>)
    .filter((key) => before === undefined || before[key] !== after[key])
    .map((key) => ({
      displayName: key,
      oldValue: before === undefined ? null : auditValue(key, before[key]),
      newValue: auditValue(key, after[key]),
    }));
}

export type FederationService = ReturnType<typeof createFederationService>;

/** The federations of one tenant's domains: list, read, create, change and delete, each audited. */
export function createFederationService(deps: {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
}) {
  const { db, tenantId, clock } = deps;

  async function domainOf(name: string): Promise<DomainRow> {
    const row = await findDomain(db.kysely, tenantId, name);
    if (!row) throw new RekeyError(Codes.ResourceNotFound, { details: { id: name } });
    return row;
  }

  async function federationOf(name: string, id?: string): Promise<DomainFederationRow> {
    const domain = await domainOf(name);
    const row = await findFederationOfDomain(db.kysely, tenantId, domain.name);
    if (!row || (id !== undefined && row.id !== id.toLowerCase()))
      throw new RekeyError(Codes.ResourceNotFound, {
        message:
          id === undefined
            ? `The domain ${domain.name} is managed: it has no federation configuration.`
            : `The domain ${domain.name} has no federation configuration with the id ${id}.`,
        details: { domain: domain.name, ...(id === undefined ? {} : { id }) },
      });
    return row;
  }

  /** Refuses (409) an issuer another federated domain already uses: each federation has its own. */
  async function assertIssuerFree(settings: FederationSettings, ownId: string | undefined): Promise<void> {
    if (settings.issuerUri === null) return;
    const holder = await findFederationByIssuer(db.kysely, settings.issuerUri);
    if (holder && holder.id !== ownId)
      throw new RekeyError(Codes.FederationIssuerInUse, {
        message: `The issuerUri ${settings.issuerUri} is already the issuer of the federated domain ${holder.domain_name}: each federated domain needs an issuer of its own.`,
        details: { issuerUri: settings.issuerUri, domain: holder.domain_name },
      });
  }

  function domainTarget(domain: string, modifiedProperties: ModifiedProperty[]) {
    return { id: domain, displayName: domain, userPrincipalName: null, modifiedProperties };
  }

  /** The federations of a domain: none for a managed domain, one for a federated one. */
  async function listFederations(domainName: string): Promise<DomainFederationRow[]> {
    const domain = await domainOf(domainName);
    const row = await findFederationOfDomain(db.kysely, tenantId, domain.name);
    return row ? [row] : [];
  }

  /** One federation of a domain by its id, or 7700008. */
  async function getFederation(domainName: string, id: string): Promise<DomainFederationRow> {
    return federationOf(domainName, id);
  }

  /**
   * Federates a managed domain. The initial domain stays managed (7701102): the first
   * administrator signs in there with a password Rekey checks. A domain already federated is
   * changed with PATCH (7701101).
   */
  async function createFederation(
    context: RequestContext,
    domainName: string,
    body: unknown,
  ): Promise<DomainFederationRow> {
    const domain = await domainOf(domainName);
    const at = clock.now().toISOString();
    const settings = checkFederationInput(body, undefined, { domain: domain.name, now: new Date(at) });
    if (domain.is_initial === 1)
      throw new RekeyError(Codes.InitialDomainCannotBeFederated, {
        message: `${domain.name} is the tenant's initial domain, which stays managed: federate another domain of the tenant.`,
        details: { domain: domain.name },
      });
    const exists = () =>
      new RekeyError(Codes.FederationAlreadyConfigured, {
        message: `The domain ${domain.name} is already federated: change its federation with PATCH /v1.0/domains/${domain.name}/federationConfiguration/{id}.`,
        details: { domain: domain.name },
      });
    if (await findFederationOfDomain(db.kysely, tenantId, domain.name)) throw exists();
    await assertIssuerFree(settings, undefined);
    const row = rowOf(randomUUID(), tenantId, domain.name, settings, at);
    try {
      await db.kysely.transaction().execute(async (trx) => {
        await insertFederation(trx, row);
        await setDomainAuthenticationType(trx, tenantId, domain.name, 'Federated');
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: 'setDomainAuthentication',
            result: 'success',
            targets: [
              domainTarget(domain.name, [
                {
                  displayName: 'AuthenticationType',
                  oldValue: JSON.stringify(domain.authentication_type),
                  newValue: JSON.stringify('Federated'),
                },
              ]),
            ],
          },
          at,
        );
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: 'setFederationSettingsOnDomain',
            result: 'success',
            targets: [domainTarget(domain.name, changedProperties(undefined, settings))],
            additionalDetails: [{ key: 'federationId', value: row.id }],
          },
          at,
        );
      });
    } catch (error) {
      // Two creates racing for one domain: the unique domain_name decides, the loser gets the 409.
      if (isWriteConflict(error) && (await findFederationOfDomain(db.kysely, tenantId, domain.name)))
        throw exists();
      throw error;
    }
    return row;
  }

  /** Changes the settings a PATCH body gives; the others keep their values. */
  async function updateFederationSettings(
    context: RequestContext,
    domainName: string,
    id: string,
    body: unknown,
  ): Promise<DomainFederationRow> {
    const current = await federationOf(domainName, id);
    const before = federationSettingsOf(current);
    const at = clock.now().toISOString();
    const after = checkFederationInput(body, before, { domain: current.domain_name, now: new Date(at) });
    await assertIssuerFree(after, current.id);
    const modified = changedProperties(before, after);
    if (modified.length === 0) return current;
    await db.kysely.transaction().execute(async (trx) => {
      await updateFederation(trx, current.id, after, at);
      await recordAudit(
        trx,
        tenantId,
        context,
        {
          activity: 'setFederationSettingsOnDomain',
          result: 'success',
          targets: [domainTarget(current.domain_name, modified)],
          additionalDetails: [{ key: 'federationId', value: current.id }],
        },
        at,
      );
    });
    return rowOf(current.id, tenantId, current.domain_name, after, current.created_at);
  }

  /** Deletes the federation: the domain is managed again, and its users' passwords are Rekey's. */
  async function deleteFederationOfDomain(
    context: RequestContext,
    domainName: string,
    id: string,
  ): Promise<void> {
    const current = await federationOf(domainName, id);
    const at = clock.now().toISOString();
    await db.kysely.transaction().execute(async (trx) => {
      if (!(await deleteFederation(trx, current.id)))
        throw new RekeyError(Codes.ResourceNotFound, { details: { domain: current.domain_name, id } });
      await setDomainAuthenticationType(trx, tenantId, current.domain_name, 'Managed');
      await recordAudit(
        trx,
        tenantId,
        context,
        {
          activity: 'setDomainAuthentication',
          result: 'success',
          targets: [
            domainTarget(current.domain_name, [
              {
                displayName: 'AuthenticationType',
                oldValue: JSON.stringify('Federated'),
                newValue: JSON.stringify('Managed'),
              },
            ]),
          ],
          additionalDetails: [{ key: 'federationId', value: current.id }],
        },
        at,
      );
    });
  }

  return {
    listFederations,
    getFederation,
    createFederation,
    updateFederation: updateFederationSettings,
    deleteFederation: deleteFederationOfDomain,
  };
}
