import type { DomainRow } from '../platform/db/schema.js';
import { metadataUrl } from '../platform/http/graph-envelope.js';
import type { DomainCollection, DomainEntity, GraphDomain } from './domain-schemas.js';

/** Graph's "never expires" value of passwordValidityPeriodInDays (Int32.MaxValue). */
export const passwordNeverExpires = 2_147_483_647;
/** Graph's default passwordNotificationWindowInDays. */
export const defaultPasswordNotificationWindowInDays = 14;

/**
 * What a domain's Graph resource needs beside its row: the tenant's other domains (a verified
 * domain is a root unless another verified domain of the tenant is its parent) and the password
 * policy's maximum age (null: passwords never expire), which every domain of the tenant shares.
 */
export interface DomainContext {
  readonly tenantDomains: readonly DomainRow[];
  readonly passwordMaximumAgeDays: number | null;
}

/**
 * Graph's `domain` resource of a stored row. `passwordChangeUrl` is Rekey's extension, present on
 * federated domains only.
 */
export function toGraphDomain(row: DomainRow, context: DomainContext): GraphDomain {
  const { tenantDomains } = context;
  const isVerified = row.is_verified === 1;
  const hasVerifiedParent = tenantDomains.some(
    (other) => other.is_verified === 1 && other.name !== row.name && row.name.endsWith(`.${other.name}`),
  );
  return {
    id: row.name,
    authenticationType: row.authentication_type,
    availabilityStatus: null,
    isAdminManaged: true,
    isDefault: row.is_default === 1,
    isInitial: row.is_initial === 1,
    isRoot: isVerified && !hasVerifiedParent,
    isVerified,
    // Rekey keeps one password policy per tenant: its maximum age is every domain's validity.
    passwordNotificationWindowInDays: defaultPasswordNotificationWindowInDays,
    passwordValidityPeriodInDays: context.passwordMaximumAgeDays ?? passwordNeverExpires,
    supportedServices: [],
    state: null,
    ...(row.authentication_type === 'Federated' ? { passwordChangeUrl: row.password_change_url } : {}),
  };
}

/** `GET /v1.0/domains`: every domain of the tenant. */
export function toDomainCollection(context: DomainContext, publicUrl: string): DomainCollection {
  return {
    '@odata.context': metadataUrl(publicUrl, 'domains'),
    value: context.tenantDomains.map((row) => toGraphDomain(row, context)),
  };
}

/** One domain, in the context of its tenant (see DomainContext). */
export function toDomainEntity(row: DomainRow, context: DomainContext, publicUrl: string): DomainEntity {
  return {
    '@odata.context': metadataUrl(publicUrl, 'domains/$entity'),
    ...toGraphDomain(row, context),
  };
}
