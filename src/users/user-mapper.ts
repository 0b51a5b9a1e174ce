import type { UserLicenseView } from '../licenses/license-service.js';
import type { UserRow } from '../platform/db/schema.js';
import {
  type GraphPage,
  metadataUrl,
  selectedContext,
  selectProperties,
  toGraphCollection,
} from '../platform/http/graph-envelope.js';
import type { Selection } from '../platform/odata/index.js';
import { parseRoles } from '../roles/directory-roles.js';
import type {
  DeletedUserEntity,
  GraphUser,
  SelectedUser,
  UserCollection,
  UserEntity,
} from './user-schemas.js';

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

/** Graph's default property set of a user. */
export type DefaultGraphUser = Pick<GraphUser, (typeof defaultUserProperties)[number]>;

/** The licences of the users being mapped, by user id (see LicenseService.licensesOf). */
export type LicensesByUser = ReadonlyMap<string, readonly UserLicenseView[]>;

/**
 * The Graph `user` resource of a stored row and its licences: every property Rekey supports. The
 * output mapper is the only way a user leaves Rekey, and it has no access to credentials.
 */
export function toGraphUser(row: UserRow, licenses: LicensesByUser): GraphUser {
  const held = licenses.get(row.id) ?? [];
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
    assignedLicenses: held.map((license) => ({ disabledPlans: license.disabledPlans, skuId: license.skuId })),
    assignedPlans: held.flatMap((license) => license.assignedPlans),
    directoryRoles: parseRoles(row.roles),
  };
}

/** Graph's default property set of a user. */
export function toDefaultGraphUser(row: UserRow): DefaultGraphUser {
  // The default set holds no licence property: no licences need be read for it.
  const full = toGraphUser(row, new Map());
  return Object.fromEntries(defaultUserProperties.map((p) => [p, full[p]])) as DefaultGraphUser;
}

/** The user with the selected properties only. */
function toSelectedUser(row: UserRow, selection: Selection, licenses: LicensesByUser): SelectedUser {
  return selectProperties(toGraphUser(row, licenses), selection);
}

/** Whether `selection` shows a licence property, so that the licences must be read for it. */
export function selectsLicenses(selection: Selection): boolean {
  return selection.properties.includes('assignedLicenses') || selection.properties.includes('assignedPlans');
}

/** `GET /v1.0/users/{id}` and `/v1.0/me`: one user with `$select` applied. */
export function toUserEntity(
  row: UserRow,
  selection: Selection,
  publicUrl: string,
  licenses: LicensesByUser,
): UserEntity {
  return {
    '@odata.context': selectedContext(publicUrl, 'users', selection, '/$entity'),
    ...toSelectedUser(row, selection, licenses),
  };
}

/** `POST /v1.0/users`: the new user, with Graph's default properties. */
export function toCreatedUserEntity(row: UserRow, publicUrl: string): UserEntity {
  return { '@odata.context': metadataUrl(publicUrl, 'users/$entity'), ...toDefaultGraphUser(row) };
}

/** One page of users (`entitySet` is `users` or `directory/deletedItems/microsoft.graph.user`). */
export function toUserCollection(
  page: GraphPage<UserRow>,
  options: {
    readonly entitySet: string;
    readonly selection: Selection;
    readonly publicUrl: string;
    /** The request's URL as Fastify has it (path and query), for `@odata.nextLink`. */
    readonly requestUrl: string;
    readonly licenses: LicensesByUser;
  },
): UserCollection {
  return toGraphCollection(page, {
    context: selectedContext(options.publicUrl, options.entitySet, options.selection),
    requestUrl: `${options.publicUrl}${options.requestUrl}`,
    toEntity: (row) => toSelectedUser(row, options.selection, options.licenses),
  });
}

/** A deleted user under `directory/deletedItems`, with `$select` applied. */
export function toDeletedUserEntity(
  row: UserRow,
  selection: Selection,
  publicUrl: string,
  licenses: LicensesByUser,
): DeletedUserEntity {
  return {
    '@odata.context': metadataUrl(publicUrl, 'directoryObjects/$entity'),
    '@odata.type': '#microsoft.graph.user',
    ...toSelectedUser(row, selection, licenses),
  };
}

/** A restored user: the directory object with Graph's default properties. */
export function toRestoredUserEntity(row: UserRow, publicUrl: string): DeletedUserEntity {
  return {
    '@odata.context': metadataUrl(publicUrl, 'directoryObjects/$entity'),
    '@odata.type': '#microsoft.graph.user',
    ...toDefaultGraphUser(row),
  };
}
