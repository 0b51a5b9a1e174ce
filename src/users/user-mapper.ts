import type { UserRow } from '../platform/db/schema.js';
import { parseRoles } from '../roles/directory-roles.js';

/** Properties Graph returns for a user when no `$select` is given. */
export const defaultUserProperties = [
  'id',
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
] as const;

/**
 * The Graph `user` resource of a stored row: every property Rekey supports. The output mapper is
 * the only way a user leaves Rekey, and it has no access to credentials.
 */
export function toGraphUser(row: UserRow): Record<string, unknown> {
  return {
    id: row.id,
    businessPhones: [],
    displayName: row.display_name,
    givenName: row.given_name,
    jobTitle: row.job_title,
    mail: row.mail,
    mailNickname: row.mail_nickname,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: row.surname,
    userPrincipalName: row.user_principal_name,
    accountEnabled: row.account_enabled === 1,
    passwordPolicies: row.password_policies ?? 'None',
    passwordProfile: {
      forceChangePasswordNextSignIn: row.force_change_password_next_sign_in === 1,
      forceChangePasswordNextSignInWithMfa: row.force_change_password_next_sign_in_with_mfa === 1,
      password: null,
    },
    lastPasswordChangeDateTime: row.last_password_change_at,
    signInSessionsValidFromDateTime: row.sign_in_sessions_valid_from,
    createdDateTime: row.created_at,
    deletedDateTime: row.deleted_at,
    userType: row.user_type,
    usageLocation: row.usage_location,
    onPremisesSyncEnabled: row.on_premises_sync_enabled === null ? null : row.on_premises_sync_enabled === 1,
    onPremisesImmutableId: row.on_premises_immutable_id,
    onPremisesDistinguishedName: row.on_premises_distinguished_name,
    onPremisesSamAccountName: row.on_premises_sam_account_name,
    onPremisesLastSyncDateTime: row.on_premises_last_sync_at,
    assignedLicenses: [],
    directoryRoles: parseRoles(row.roles),
  };
}

/** Graph's default property set of a user. */
export function toDefaultGraphUser(row: UserRow): Record<string, unknown> {
  const full = toGraphUser(row);
  return Object.fromEntries(defaultUserProperties.map((p) => [p, full[p]]));
}
