import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { CreateUserInput, UserChanges } from './user-service.js';

/*
 * The request bodies of the user API in Graph's shapes. The HTTP routes validate with them at the
 * edge; the CLI builds the same bodies from its flags and validates them here, so both accept
 * exactly the same values.
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
    throw new RekeyError(7700001, {
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
  if (fields.length > 0) throw new RekeyError(7700001, { details: { fields } });
}
