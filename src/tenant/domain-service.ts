import { recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { DomainRow } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { insertBareFederation } from './federation-service.js';
import { domainNameTaken, findDomain, insertDomain, listDomains } from './tenant-store.js';

/*
 * The tenant's domains. Rekey has no DNS verification step: whoever can add a domain already
 * administers this deployment and decides which names its users sign in with, so a domain is
 * verified the moment a Global Administrator adds it. That is stated in `isVerified: true` rather
 * than hidden behind a verification call that would check nothing.
 */

const dnsName = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export interface AddDomainInput {
  readonly id: string;
  readonly authenticationType?: 'Managed' | 'Federated';
  readonly passwordChangeUrl?: string | null;
}

function checkPasswordChangeUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RekeyError(Codes.RequestValidationFailed, {
      details: { field: 'passwordChangeUrl', problem: 'must be an absolute http or https URL' },
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RekeyError(Codes.RequestValidationFailed, {
      details: { field: 'passwordChangeUrl', problem: 'must be an absolute http or https URL' },
    });
  }
  return url.toString();
}

export type DomainService = ReturnType<typeof createDomainService>;

/** Domains of one tenant: list, read and add (each addition audited). */
export function createDomainService(deps: {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
}) {
  const { db, tenantId, clock } = deps;

  /** Every domain of the tenant, by name. */
  async function listTenantDomains(): Promise<DomainRow[]> {
    return listDomains(db.kysely, tenantId);
  }

  /** One domain by name (any case), or 7700008. */
  async function getDomain(name: string): Promise<DomainRow> {
    const row = await findDomain(db.kysely, tenantId, name);
    if (!row) throw new RekeyError(Codes.ResourceNotFound, { details: { id: name } });
    return row;
  }

  /**
   * Adds a domain, verified at once (see the note at the top of this module). A federated domain
   * may carry the URL where its users change their password; a managed one may not. The name
   * must be a DNS name not used by any tenant (7700010 otherwise).
   */
  async function addDomain(context: RequestContext, input: AddDomainInput): Promise<DomainRow> {
    const name = input.id.trim().toLowerCase();
    if (!dnsName.test(name)) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `${input.id} is not a DNS domain name.`,
        details: { field: 'id', problem: 'must be a DNS name such as contoso.com, at most 253 characters' },
      });
    }
    const authenticationType = input.authenticationType ?? 'Managed';
    const passwordChangeUrl =
      input.passwordChangeUrl === undefined || input.passwordChangeUrl === null
        ? null
        : checkPasswordChangeUrl(input.passwordChangeUrl);
    if (authenticationType === 'Managed' && passwordChangeUrl !== null) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        details: {
          field: 'passwordChangeUrl',
          problem: 'only a federated domain has a password change URL of its own',
        },
      });
    }
    const conflict = () =>
      new RekeyError(Codes.ObjectConflict, {
        message: `The domain ${name} already exists.`,
        details: { id: name },
      });
    if (await domainNameTaken(db.kysely, name)) {
      throw conflict();
    }
    const now = clock.now().toISOString();
    const { password_change_url: _read, ...stored } = {
      name,
      tenant_id: tenantId,
      authentication_type: authenticationType,
      is_default: 0,
      is_initial: 0,
      is_verified: 1,
      password_change_url: passwordChangeUrl,
      created_at: now,
    } satisfies DomainRow;
    const row: DomainRow = { ...stored, password_change_url: passwordChangeUrl };
    try {
      await db.kysely.transaction().execute(async (trx) => {
        await insertDomain(trx, stored);
        // A domain added as federated gets its federation at once, holding the password page
        // (its passwordResetUri); the rest of it is set with PATCH .../federationConfiguration/{id}.
        if (authenticationType === 'Federated')
          await insertBareFederation(trx, tenantId, name, passwordChangeUrl, now);
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: 'addVerifiedDomain',
            result: 'success',
            targets: [
              {
                id: name,
                displayName: name,
                userPrincipalName: null,
                modifiedProperties: [
                  {
                    displayName: 'AuthenticationType',
                    oldValue: null,
                    newValue: JSON.stringify(authenticationType),
                  },
                  ...(passwordChangeUrl === null
                    ? []
                    : [
                        {
                          displayName: 'PasswordChangeUrl',
                          oldValue: null,
                          newValue: JSON.stringify(passwordChangeUrl),
                        },
                      ]),
                ],
              },
            ],
          },
          now,
        );
      });
    } catch (error) {
      // Two additions racing for one name: the primary key decides, the loser gets the same 409.
      if (isWriteConflict(error) && (await domainNameTaken(db.kysely, name))) {
        throw conflict();
      }
      throw error;
    }
    return row;
  }

  return { listTenantDomains, getDomain, addDomain };
}
