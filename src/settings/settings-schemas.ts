import { type Static, Type } from 'typebox';
import { passwordPolicySettingsSchema } from '../passwords/policy/settings.js';
import { responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * What `/rekey/v1/settings/...` answers: each settings document, and the preview of a change
 * (`?preview=true`) with its impact. The PATCH bodies are checked by the policy engine's
 * apply...Patch functions, not by a route schema (see settings-routes.ts); their types are
 * PasswordPolicyPatch and PasswordProtectionPatch in passwords/policy/settings.ts. The static
 * types are for the portal.
 */

/** The password policy settings. */
export const passwordPolicySettingsResponse = responseObject(
  passwordPolicySettingsSchema.properties,
  'The password policy settings',
);

/** The Password Protection settings. */
export const passwordProtectionSettingsResponse = responseObject(
  {
    enabled: Type.Boolean(),
    /** `Enforced` rejects a password that scores too low; `Audit` only reports that it would have. */
    mode: Type.Union([Type.Literal('Enforced'), Type.Literal('Audit')]),
    customBannedPasswords: responseArray(Type.String()),
    checkTenantName: Type.Boolean(),
  },
  'The Password Protection settings',
);

/** The smart lockout settings. */
export const smartLockoutSettingsResponse = responseObject(
  {
    /** Counted failed attempts on one kind of network that lock the account. */
    lockoutThreshold: Type.Integer(),
    /** How long the first lockout lasts; later ones last longer. */
    lockoutDurationInSeconds: Type.Integer(),
  },
  'The smart lockout settings',
);

/** The sign-in settings: what a refused sign-in tells a caller who has not proven who they are. */
export const signInSettingsResponse = responseObject(
  {
    /** `uniform` (the default) or `entraCompatible`; see docs/smart-lockout.md. */
    signInErrorDisclosure: Type.Union([Type.Literal('uniform'), Type.Literal('entraCompatible')]),
  },
  'The sign-in settings',
);

/** One changed field of a preview. */
const settingsChange = responseObject({
  field: Type.String(),
  oldValue: Type.Unknown(),
  newValue: Type.Unknown(),
});

/** What a change would do, without applying it: the changed fields and its impact. */
function previewSchema<Impact extends ReturnType<typeof responseObject>>(
  impact: Impact,
  description: string,
) {
  return responseObject({ changes: responseArray(settingsChange), impact }, description);
}

export const passwordPolicyPreviewSchema = previewSchema(
  responseObject({
    /** Users whose password would expire at once (50055 at their next sign-in). */
    usersExpiredImmediately: Type.Integer(),
    /** Up to 20 of them, longest-expired first. */
    sample: responseArray(Type.String()),
    usersEnteringWarningWindow: Type.Integer(),
    usersNoLongerExpired: Type.Integer(),
    /** Fields whose rules apply only to passwords set from now on. */
    appliesAtNextChange: responseArray(Type.String()),
    note: Type.String(),
  }),
  'What the password policy change would do',
);

export const passwordProtectionPreviewSchema = previewSchema(
  responseObject({
    customBannedPasswords: responseObject({
      before: Type.Integer(),
      after: Type.Integer(),
      added: responseArray(Type.String()),
      removed: responseArray(Type.String()),
    }),
    globalBannedTerms: Type.Integer(),
    note: Type.String(),
  }),
  'What the Password Protection change would do',
);

export const smartLockoutPreviewSchema = previewSchema(
  responseObject({ usersLockedNow: Type.Integer(), note: Type.String() }),
  'What the smart lockout change would do',
);

export const signInPreviewSchema = previewSchema(
  responseObject({ note: Type.String() }),
  'What the sign-in settings change would do',
);

/** A PATCH answers the settings as applied, or with `?preview=true` what it would do. */
export const passwordPolicyPatchResponse = Type.Union([
  passwordPolicySettingsResponse,
  passwordPolicyPreviewSchema,
]);
export const passwordProtectionPatchResponse = Type.Union([
  passwordProtectionSettingsResponse,
  passwordProtectionPreviewSchema,
]);
export const smartLockoutPatchResponse = Type.Union([
  smartLockoutSettingsResponse,
  smartLockoutPreviewSchema,
]);
export const signInPatchResponse = Type.Union([signInSettingsResponse, signInPreviewSchema]);

export type PasswordPolicySettingsBody = Static<typeof passwordPolicySettingsResponse>;
export type PasswordProtectionSettingsBody = Static<typeof passwordProtectionSettingsResponse>;
export type SmartLockoutSettingsBody = Static<typeof smartLockoutSettingsResponse>;
export type PasswordPolicyPreview = Static<typeof passwordPolicyPreviewSchema>;
export type PasswordProtectionPreview = Static<typeof passwordProtectionPreviewSchema>;
export type SmartLockoutPreview = Static<typeof smartLockoutPreviewSchema>;
export type SignInSettingsBody = Static<typeof signInSettingsResponse>;
export type SignInPreview = Static<typeof signInPreviewSchema>;
