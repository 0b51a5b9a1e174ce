import { type Static, Type } from 'typebox';
import { nullable, responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * The password API's requests and answers: the self-service change, the expired-password change,
 * an administrator's reset and its long-running operation, and the policy dry run. The routes
 * validate with the request schemas and declare the answers; the static types are for the portal.
 */

/** Any password field: as long as any password Rekey accepts. */
const password = Type.String({ minLength: 1, maxLength: 1024 });

/** `POST /v1.0/me/changePassword`. */
export const changePasswordBody = Type.Object(
  { currentPassword: password, newPassword: password },
  { additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof changePasswordBody>;

/** `POST /{tenant}/password/change`: the change of an expired password, without a token. */
export const expiredPasswordChangeBody = Type.Object(
  {
    userPrincipalName: Type.String({ minLength: 3, maxLength: 113 }),
    currentPassword: password,
    newPassword: password,
  },
  { additionalProperties: false },
);
export type ExpiredPasswordChangeBody = Static<typeof expiredPasswordChangeBody>;

/** `POST .../resetPassword`: without `newPassword`, Rekey generates one and returns it. */
export const resetPasswordBody = Type.Object(
  { newPassword: Type.Optional(password) },
  { additionalProperties: false },
);
export type ResetPasswordBody = Static<typeof resetPasswordBody>;

/** The 202 of a reset: empty, or the generated password when none was given. */
export const passwordResetResponseSchema = responseObject(
  {
    '@odata.context': Type.Optional(Type.String()),
    /** Only when Rekey generated the password; shown this once. */
    newPassword: Type.Optional(Type.String()),
  },
  "Accepted; Location is the operation. Graph's passwordResetResponse when the password was generated",
);
export type PasswordResetResponse = Static<typeof passwordResetResponseSchema>;

/** Graph's `longRunningOperation` of a password change or reset. */
export const longRunningOperationSchema = responseObject(
  {
    '@odata.context': Type.String(),
    id: Type.String(),
    createdDateTime: Type.String(),
    lastActionDateTime: Type.String(),
    resourceLocation: Type.String(),
    status: Type.Union([
      Type.Literal('notStarted'),
      Type.Literal('running'),
      Type.Literal('succeeded'),
      Type.Literal('failed'),
    ]),
    /** For a failure, the terminating code and its cause; for a scheduled retry, when and why. */
    statusDetail: nullable(Type.String()),
  },
  "Graph's longRunningOperation",
);
export type LongRunningOperation = Static<typeof longRunningOperationSchema>;

/** `POST /rekey/v1/passwordPolicy/evaluate`: the policy dry run. */
export const policyEvaluationBody = Type.Object(
  {
    password,
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    userPrincipalName: Type.Optional(Type.String({ minLength: 3, maxLength: 113 })),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    checkHistory: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type PolicyEvaluationBody = Static<typeof policyEvaluationBody>;

/** `POST /rekey/v1/me/passwordPolicy/evaluate`: the signed-in user's own dry run, as they type. */
export const selfPolicyEvaluationBody = Type.Object({ password }, { additionalProperties: false });
export type SelfPolicyEvaluationBody = Static<typeof selfPolicyEvaluationBody>;

/** The dry run's verdict; it never carries the password. */
export const policyEvaluationSchema = responseObject(
  {
    valid: Type.Boolean(),
    /** Every failing rule, in rule order. */
    failures: responseArray(
      responseObject({
        rule: Type.String(),
        /** 120002, 120003 or 120018. */
        code: Type.Integer(),
        message: Type.String(),
      }),
    ),
    passwordProtection: responseObject({
      score: Type.Number(),
      required: Type.Number(),
      /** Distinct banned terms and names found, normalised. */
      matchedTerms: responseArray(Type.String()),
      /** `global`, `custom`, `tenantName`, `userName`. */
      matchedSources: responseArray(Type.String()),
      mode: Type.Union([Type.Literal('Enforced'), Type.Literal('Audit')]),
      enabled: Type.Boolean(),
      passed: Type.Boolean(),
      /** Would have failed, but the mode is `Audit`. */
      auditOnly: Type.Boolean(),
    }),
    /** The rules applied, so "passed" reads apart from "not checked". */
    rulesChecked: responseArray(Type.String()),
    /** Who the password was judged for; null when no user was named. */
    user: nullable(
      responseObject({
        id: nullable(Type.String()),
        userPrincipalName: nullable(Type.String()),
        /** False when the user principal name belongs to no account: judged as a new account. */
        exists: Type.Boolean(),
      }),
    ),
    /** How many recent passwords were compared (0 unless checkHistory). */
    historyChecked: Type.Integer(),
  },
  'The password policy verdict',
);
export type PolicyEvaluation = Static<typeof policyEvaluationSchema>;
