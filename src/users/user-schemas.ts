import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { GraphCollection } from '../platform/http/graph-envelope.js';
import {
  graphCollectionSchema,
  graphEntitySchema,
  nullable,
  responseArray,
  responseObject,
  selectableSchema,
} from '../platform/http/response-schemas.js';
import type { CreateUserInput, UserChanges } from './user-service.js';

/*
 * The user API in Graph's shapes. The request bodies: the HTTP routes validate with them at the
 * edge; the CLI builds the same bodies from its flags and validates them here, so both accept
 * exactly the same values. The responses: Graph's `user` as user-mapper.ts builds it, and the
 * entity and collection envelopes around it; their static types are for the portal.
 */

const nullableText = (maxLength: number) => Type.Union([Type.String({ maxLength }), Type.Null()]);
const displayName = Type.String({ minLength: 1, maxLength: 256, pattern: '\\S' });
const profileFields = {
  // Some clients send the type annotation with the body; it can only be a user here.
  '@odata.type': Type.Optional(Type.Literal('#microsoft.graph.user')),
  accountEnabled: Type.Optional(Type.Boolean()),
  displayName: Type.Optional(displayName),
  givenName: Type.Optional(nullableText(64)),
  surname: Type.Optional(nullableText(64)),
  mail: Type.Optional(
    Type.Union([Type.String({ maxLength: 256, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' }), Type.Null()]),
  ),
  jobTitle: Type.Optional(nullableText(128)),
  usageLocation: Type.Optional(Type.Union([Type.String({ pattern: '^[A-Za-z]{2}$' }), Type.Null()])),
  passwordPolicies: Type.Optional(nullableText(128)),
};
const passwordProfile = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    forceChangePasswordNextSignIn: Type.Optional(Type.Boolean()),
    forceChangePasswordNextSignInWithMfa: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Graph's POST /users body; required properties are checked by toCreateUserInput to name them all. */
export const createUserBody = Type.Object(
  {
    ...profileFields,
    mailNickname: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, pattern: '^[^@()\\\\[\\]";:<>,\\s]+$' }),
    ),
    userPrincipalName: Type.Optional(Type.String({ minLength: 1, maxLength: 113 })),
    passwordProfile: Type.Optional(passwordProfile),
    onPremisesImmutableId: Type.Optional(nullableText(256)),
  },
  { additionalProperties: false },
);

export type CreateUserBody = Static<typeof createUserBody>;

/** Graph's PATCH /users/{id} body. */
export const updateUserBody = Type.Object(
  { ...profileFields, passwordProfile: Type.Optional(passwordProfile) },
  { additionalProperties: false },
);

export type UpdateUserBody = Static<typeof updateUserBody>;

export const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 113 }) });

/**
 * Graph's create body as the user service's input. Every missing required property is named in
 * one 7700001, so a script learns all of them from one failed call.
 */
export function toCreateUserInput(body: CreateUserBody): CreateUserInput {
  const { accountEnabled, displayName, mailNickname, userPrincipalName } = body;
  const password = body.passwordProfile?.password;
  if (
    accountEnabled === undefined ||
    displayName === undefined ||
    mailNickname === undefined ||
    userPrincipalName === undefined ||
    password === undefined
  ) {
    const required = {
      accountEnabled,
      displayName,
      mailNickname,
      userPrincipalName,
      'passwordProfile.password': password,
    };
    const missing = Object.entries(required)
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: `A new user needs these properties: ${missing.join(', ')}.`,
      details: { missing },
    });
  }
  return {
    accountEnabled,
    displayName,
    mailNickname,
    userPrincipalName,
    password,
    // Graph's default: the user keeps the password unless the creator asks for a change.
    forceChangePasswordNextSignIn: body.passwordProfile?.forceChangePasswordNextSignIn ?? false,
    forceChangePasswordNextSignInWithMfa: body.passwordProfile?.forceChangePasswordNextSignInWithMfa ?? false,
    passwordPolicies: body.passwordPolicies,
    givenName: body.givenName,
    surname: body.surname,
    mail: body.mail,
    jobTitle: body.jobTitle,
    usageLocation: body.usageLocation?.toUpperCase() ?? body.usageLocation,
    onPremisesImmutableId: body.onPremisesImmutableId,
  };
}

/** The PATCH body's direct changes; the password, if any, is handled as an admin reset. */
export function toUserChanges(body: UpdateUserBody): UserChanges {
  return {
    accountEnabled: body.accountEnabled,
    displayName: body.displayName,
    givenName: body.givenName,
    surname: body.surname,
    mail: body.mail,
    jobTitle: body.jobTitle,
    usageLocation: body.usageLocation,
    passwordPolicies: body.passwordPolicies,
    forceChangePasswordNextSignIn: body.passwordProfile?.forceChangePasswordNextSignIn,
    forceChangePasswordNextSignInWithMfa: body.passwordProfile?.forceChangePasswordNextSignInWithMfa,
  };
}

/**
 * Checks a body built outside Fastify (by the CLI) against one of these schemas; every problem is
 * listed in one 7700001, in the same form the HTTP edge reports.
 */
export function assertValidBody<T extends typeof createUserBody | typeof updateUserBody>(
  schema: T,
  value: unknown,
): asserts value is Static<T> {
  const fields = [...Value.Errors(schema, value)]
    .filter((error) => error.keyword !== 'boolean')
    .map((error) => ({ field: `body${error.instancePath}`, problem: error.message }));
  if (fields.length > 0) throw new RekeyError(Codes.RequestValidationFailed, { details: { fields } });
}

/** Graph's `assignedLicense` (Rekey assigns no licences yet: the list is always empty). */
const assignedLicense = responseObject({ disabledPlans: responseArray(Type.String()), skuId: Type.String() });
const assignedPlan = responseObject({
  assignedDateTime: Type.String(),
  capabilityStatus: Type.String(),
  service: Type.String(),
  servicePlanId: Type.String(),
});

/** Graph's assignLicense body. */
export const assignLicenseBody = Type.Object(
  {
    addLicenses: Type.Array(
      Type.Object(
        {
          skuId: Type.String({ format: 'uuid' }),
          disabledPlans: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 64 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 64 },
    ),
    removeLicenses: Type.Array(Type.String({ format: 'uuid' }), { maxItems: 64 }),
  },
  { additionalProperties: false },
);
export type AssignLicenseBody = Static<typeof assignLicenseBody>;

/** Graph's `user`: every property Rekey supports, in output order (see toGraphUser). */
export const userSchema = responseObject(
  {
    id: Type.String(),
    businessPhones: responseArray(Type.String()),
    displayName: Type.String(),
    givenName: nullable(Type.String()),
    jobTitle: nullable(Type.String()),
    mail: nullable(Type.String()),
    mailNickname: Type.String(),
    mobilePhone: nullable(Type.String()),
    officeLocation: nullable(Type.String()),
    preferredLanguage: nullable(Type.String()),
    surname: nullable(Type.String()),
    userPrincipalName: Type.String(),
    accountEnabled: Type.Boolean(),
    /** `None`, `DisablePasswordExpiration`, `DisableStrongPassword` or both, comma-separated. */
    passwordPolicies: Type.String(),
    passwordProfile: responseObject({
      forceChangePasswordNextSignIn: Type.Boolean(),
      forceChangePasswordNextSignInWithMfa: Type.Boolean(),
      /** Never returned: always null. */
      password: Type.Null(),
    }),
    lastPasswordChangeDateTime: nullable(Type.String()),
    signInSessionsValidFromDateTime: Type.String(),
    createdDateTime: Type.String(),
    deletedDateTime: nullable(Type.String()),
    userType: Type.Union([Type.Literal('Member'), Type.Literal('Guest')]),
    usageLocation: nullable(Type.String()),
    onPremisesSyncEnabled: nullable(Type.Boolean()),
    onPremisesImmutableId: nullable(Type.String()),
    onPremisesDistinguishedName: nullable(Type.String()),
    onPremisesSamAccountName: nullable(Type.String()),
    onPremisesLastSyncDateTime: nullable(Type.String()),
    assignedLicenses: responseArray(assignedLicense),
    assignedPlans: responseArray(assignedPlan),
    /** The user's directory roles by name (Rekey's addition). */
    directoryRoles: responseArray(Type.String()),
  },
  "Graph's user",
);
export type GraphUser = Static<typeof userSchema>;

/** A user as `$select` leaves it: `id` and the chosen properties (the default set without `$select`). */
export const selectedUserSchema = selectableSchema(userSchema, "Graph's user, with the selected properties");
export type SelectedUser = Static<typeof selectedUserSchema>;

/** One user, read or created: `@odata.context`, then the user. */
export const userEntitySchema = graphEntitySchema(selectedUserSchema);
export type UserEntity = Static<typeof userEntitySchema>;

/** One deleted user under `directory/deletedItems`: the entity with its `@odata.type`. */
export const deletedUserEntitySchema = responseObject({
  '@odata.context': Type.String(),
  '@odata.type': Type.Literal('#microsoft.graph.user'),
  ...selectedUserSchema.properties,
});
export type DeletedUserEntity = Static<typeof deletedUserEntitySchema>;

/** One page of users (or of deleted users). */
export const userCollectionSchema = graphCollectionSchema(selectedUserSchema, 'A page of users');
export type UserCollection = GraphCollection<SelectedUser>;

/** `POST /v1.0/users/{id}/revokeSignInSessions`: Graph's Edm.Boolean answer, always true. */
export const revokeSignInSessionsResponseSchema = responseObject(
  { '@odata.context': Type.String(), value: Type.Boolean() },
  'The sessions were revoked',
);
export type RevokeSignInSessionsResponse = Static<typeof revokeSignInSessionsResponseSchema>;
