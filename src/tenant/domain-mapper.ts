import type { DomainRow } from '../platform/db/schema.js';
import { metadataUrl } from '../platform/http/graph-envelope.js';
import type { DomainCollection, DomainEntity, GraphDomain } from './domain-schemas.js';

/** Graph's "never expires" value of passwordValidityPeriodInDays (Int32.MaxValue). */
export const passwordNeverExpires = 2_147_483_647;
/** Graph's default passwordNotificationWindowInDays. */
export const defaultPasswordNotificationWindowInDays = 14;

/**
 * Graph's `domain` resource of a stored row. `isRoot` needs the tenant's other domains: a
 * verified domain is a root unless another verified domain of the tenant is its parent.
 * `passwordChangeUrl` is Rekey's extension, present on federated domains only.
 */
export function toGraphDomain(row: DomainRow, tenantDomains: readonly DomainRow[]): GraphDomain {
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
    // Rekey's password policy sets no expiry yet, so every domain reports Graph's "never".
    passwordNotificationWindowInDays: defaultPasswordNotificationWindowInDays,
    passwordValidityPeriodInDays: passwordNeverExpires,
    supportedServices: [],
    state: null,
    ...(row.authentication_type === 'Federated' ? { passwordChangeUrl: row.password_change_url } : {}),
  };
}

/** `GET /v1.0/domains`: every domain of the tenant. */
export function toDomainCollection(rows: readonly DomainRow[], publicUrl: string): DomainCollection {
  return {
    '@odata.context': metadataUrl(publicUrl, 'domains'),
    value: rows.map((row) => toGraphDomain(row, rows)),
  };
}

/** One domain, with the tenant's other domains (for `isRoot`). */
export function toDomainEntity(
  row: DomainRow,
  tenantDomains: readonly DomainRow[],
  publicUrl: string,
): DomainEntity {
  return {
    '@odata.context': metadataUrl(publicUrl, 'domains/$entity'),
    ...toGraphDomain(row, tenantDomains),
  };
}
