import type {
  FieldMap,
  FilterableProperty,
  ResourceDescription,
  SelectMode,
} from '../platform/odata/index.js';
import { defaultUserProperties } from './user-mapper.js';

/*
 * What the user list endpoints accept in their OData query options, and how each property
 * reaches the `users` table. The filterable properties and operators are the ones Graph documents
 * for users; text compares ignoring case, as directory look-ups do in Entra.
 */

/** Every property of Rekey's Graph `user`, in output order (see toGraphUser). */
const userPropertyNames = [
  'id',
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mailNickname',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'accountEnabled',
  'passwordPolicies',
  'passwordProfile',
  'lastPasswordChangeDateTime',
  'signInSessionsValidFromDateTime',
  'createdDateTime',
  'deletedDateTime',
  'userType',
  'usageLocation',
  'onPremisesSyncEnabled',
  'onPremisesImmutableId',
  'onPremisesDistinguishedName',
  'onPremisesSamAccountName',
  'onPremisesLastSyncDateTime',
  'assignedLicenses',
  'assignedPlans',
  'directoryRoles',
] as const;

function selectModes(defaults: readonly string[]): Record<string, SelectMode> {
  return Object.fromEntries(
    userPropertyNames.map((name) => [name, defaults.includes(name) ? 'default' : 'optional']),
  );
}

const text = (nullable: boolean): FilterableProperty => ({
  type: 'string',
  operators: ['eq', 'ne', 'startswith', 'endswith', 'in'],
  nullable,
});

const userFilter: ResourceDescription['filter'] = {
  properties: {
    id: { type: 'guid', operators: ['eq', 'ne', 'in'] },
    userPrincipalName: text(false),
    displayName: text(false),
    givenName: text(true),
    surname: text(true),
    mail: text(true),
    mailNickname: text(false),
    accountEnabled: { type: 'boolean', operators: ['eq', 'ne'] },
    userType: { type: 'string', operators: ['eq', 'ne', 'in'] },
    onPremisesSyncEnabled: { type: 'boolean', operators: ['eq', 'ne'], nullable: true },
    onPremisesImmutableId: {
      type: 'string',
      operators: ['eq', 'ne', 'startswith', 'in', 'ge', 'le'],
      nullable: true,
    },
    createdDateTime: { type: 'datetime', operators: ['eq', 'ge', 'le', 'gt', 'lt'] },
  },
};

/**
 * `GET /v1.0/users`: Graph's default property set without `$select`, ordered by
 * userPrincipalName unless `$orderby` says displayName. `$top` defaults to 100, at most 999.
 */
export const usersResource: ResourceDescription = {
  name: 'users',
  properties: selectModes(defaultUserProperties),
  filter: userFilter,
  orderBy: ['displayName', 'userPrincipalName'],
  defaultOrderBy: [{ property: 'userPrincipalName', direction: 'asc' }],
  key: 'id',
  top: { default: 100, max: 999 },
  count: true,
};

/** `GET /v1.0/directory/deletedItems/microsoft.graph.user`: the same, plus deletedDateTime. */
export const deletedUsersResource: ResourceDescription = {
  name: 'deletedItems/microsoft.graph.user',
  properties: selectModes([...defaultUserProperties, 'deletedDateTime']),
  filter: {
    properties: {
      ...userFilter.properties,
      deletedDateTime: { type: 'datetime', operators: ['eq', 'ge', 'le', 'gt', 'lt'] },
    },
  },
  orderBy: ['displayName', 'userPrincipalName', 'deletedDateTime'],
  defaultOrderBy: [{ property: 'userPrincipalName', direction: 'asc' }],
  key: 'id',
  top: { default: 100, max: 999 },
  count: true,
};

/** How each filterable or sortable user property maps to SQL. */
export const userFields: FieldMap = {
  fields: {
    id: { column: 'users.id' },
    // upn_key is the UPN lower-cased by the application, and indexed.
    userPrincipalName: {
      column: 'users.user_principal_name',
      caseInsensitive: true,
      lowerColumn: 'users.upn_key',
    },
    displayName: { column: 'users.display_name', caseInsensitive: true },
    givenName: { column: 'users.given_name', caseInsensitive: true, nullable: true },
    surname: { column: 'users.surname', caseInsensitive: true, nullable: true },
    mail: { column: 'users.mail', caseInsensitive: true, nullable: true },
    mailNickname: { column: 'users.mail_nickname', caseInsensitive: true },
    accountEnabled: { column: 'users.account_enabled' },
    userType: { column: 'users.user_type', caseInsensitive: true },
    onPremisesSyncEnabled: { column: 'users.on_premises_sync_enabled', nullable: true },
    onPremisesImmutableId: { column: 'users.on_premises_immutable_id', nullable: true },
    createdDateTime: { column: 'users.created_at' },
  },
};

/** The field map of deleted users: every row listed there has a deletion time. */
export const deletedUserFields: FieldMap = {
  fields: { ...userFields.fields, deletedDateTime: { column: 'users.deleted_at' } },
};
