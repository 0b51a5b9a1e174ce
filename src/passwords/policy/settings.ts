import { type Static, Type } from 'typebox';
import {
  isSettingsObject,
  rejectSettingsPatch,
  type SettingsProblem,
  unknownSettings,
} from '../../platform/settings-patch.js';

/*
 * The two tenant settings the policy engine reads, their defaults (Entra's), their TypeBox schemas
 * (for `GET/PATCH /rekey/v1/settings/passwordPolicy` and `.../passwordProtection`) and their
 * validation. The schemas give shapes and types; the `apply...Patch` functions are the authority:
 * they check ranges, cross-field rules and the custom banned list, and name every bad field in one
 * 7700001 so a caller fixes them all at once.
 */

export const passwordProtectionModes = ['Enforced', 'Audit'] as const;
export type PasswordProtectionMode = (typeof passwordProtectionModes)[number];

export interface PasswordPolicySettings {
  /** Shortest password accepted (4..256). */
  readonly minLength: number;
  /** Longest password accepted (minLength..256). */
  readonly maxLength: number;
  /** How many of the four character categories a password must use (1..4). */
  readonly requiredCategories: number;
  /** On a change, how many of the newest passwords (the current one first) may not be reused (0..24). */
  readonly historyCountOnChange: number;
  /** The same on an administrator's reset; 0 lets a reset set the current password again, as in Entra. */
  readonly historyCountOnReset: number;
  /** Days a password must be kept before the user may change it again (0..730); resets are exempt. */
  readonly minimumAgeDays: number;
  /** Days after which a password expires (1..730), or null for never. */
  readonly maximumAgeDays: number | null;
  /** Days before expiry in which sign-in warns the user (0..90). */
  readonly expiryWarningDays: number;
}

export interface PasswordProtectionSettings {
  readonly enabled: boolean;
  /** `Enforced` rejects a password that scores too low; `Audit` only reports that it would have. */
  readonly mode: PasswordProtectionMode;
  /** The tenant's own banned terms: at most 1000, each 4 to 16 characters, trimmed, unique ignoring case. */
  readonly customBannedPasswords: readonly string[];
  /** Whether the tenant name (REKEY_TENANT_NAME) counts as a banned term. */
  readonly checkTenantName: boolean;
}

/** Entra's defaults: 8-256 characters, 3 of 4 categories, not the current password on change, no expiry. */
export const defaultPasswordPolicySettings: PasswordPolicySettings = Object.freeze({
  minLength: 8,
  maxLength: 256,
  requiredCategories: 3,
  historyCountOnChange: 1,
  historyCountOnReset: 0,
  minimumAgeDays: 0,
  maximumAgeDays: null,
  expiryWarningDays: 14,
});

export const defaultPasswordProtectionSettings: PasswordProtectionSettings = Object.freeze({
  enabled: true,
  mode: 'Enforced',
  customBannedPasswords: Object.freeze([]),
  checkTenantName: true,
});

/** The hard limits of each numeric setting. */
export const passwordPolicyLimits = {
  minLength: { minimum: 4, maximum: 256 },
  maxLength: { minimum: 4, maximum: 256 },
  requiredCategories: { minimum: 1, maximum: 4 },
  historyCountOnChange: { minimum: 0, maximum: 24 },
  historyCountOnReset: { minimum: 0, maximum: 24 },
  minimumAgeDays: { minimum: 0, maximum: 730 },
  maximumAgeDays: { minimum: 1, maximum: 730 },
  expiryWarningDays: { minimum: 0, maximum: 90 },
} as const;

export const customBannedPasswordLimits = { maxTerms: 1000, minLength: 4, maxLength: 16 } as const;

const integer = (name: keyof typeof passwordPolicyLimits) => Type.Integer(passwordPolicyLimits[name]);

const passwordPolicyProperties = {
  minLength: integer('minLength'),
  maxLength: integer('maxLength'),
  requiredCategories: integer('requiredCategories'),
  historyCountOnChange: integer('historyCountOnChange'),
  historyCountOnReset: integer('historyCountOnReset'),
  minimumAgeDays: integer('minimumAgeDays'),
  maximumAgeDays: Type.Union([integer('maximumAgeDays'), Type.Null()]),
  expiryWarningDays: integer('expiryWarningDays'),
};

/** The full password-policy settings, as GET returns them. */
export const passwordPolicySettingsSchema = Type.Object(passwordPolicyProperties, {
  additionalProperties: false,
});
/** A PATCH body: any subset of the settings. */
export const passwordPolicyPatchSchema = Type.Partial(passwordPolicySettingsSchema);
export type PasswordPolicyPatch = Static<typeof passwordPolicyPatchSchema>;

const passwordProtectionProperties = {
  enabled: Type.Boolean(),
  mode: Type.Union([Type.Literal('Enforced'), Type.Literal('Audit')]),
  // The per-term length is checked after trimming by applyPasswordProtectionPatch; the schema
  // only bounds the size of what may be sent.
  customBannedPasswords: Type.Array(Type.String({ maxLength: 256 }), {
    maxItems: customBannedPasswordLimits.maxTerms,
  }),
  checkTenantName: Type.Boolean(),
};

/** The full Password Protection settings, as GET returns them. */
export const passwordProtectionSettingsSchema = Type.Object(passwordProtectionProperties, {
  additionalProperties: false,
});
export const passwordProtectionPatchSchema = Type.Partial(passwordProtectionSettingsSchema);
export type PasswordProtectionPatch = Static<typeof passwordProtectionPatchSchema>;

function describeRange(limits: { readonly minimum: number; readonly maximum: number }): string {
  return `must be a whole number from ${limits.minimum} to ${limits.maximum}`;
}

/**
 * Applies a PATCH body to the current password-policy settings and returns the validated result.
 * Fields left out keep their current value; `maximumAgeDays: null` means passwords never expire.
 * Throws 7700001 naming every bad field (range, type, unknown property, and the cross-field
 * rules: minLength <= maxLength, minimumAgeDays < maximumAgeDays).
 *
 * @example applyPasswordPolicyPatch(defaultPasswordPolicySettings, { maximumAgeDays: 90 })
 */
export function applyPasswordPolicyPatch(
  current: PasswordPolicySettings,
  patch: unknown,
): PasswordPolicySettings {
  if (!isSettingsObject(patch)) rejectSettingsPatch([{ field: 'body', problem: 'must be a JSON object' }]);
  const problems = unknownSettings(patch, Object.keys(passwordPolicyLimits));
  const next: Record<keyof PasswordPolicySettings, number | null> = { ...current };
  for (const name of Object.keys(passwordPolicyLimits) as Array<keyof typeof passwordPolicyLimits>) {
    if (!(name in patch)) continue;
    const value = patch[name];
    if (name === 'maximumAgeDays' && value === null) {
      next.maximumAgeDays = null;
      continue;
    }
    const limits = passwordPolicyLimits[name];
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < limits.minimum ||
      value > limits.maximum
    ) {
      const range = describeRange(limits);
      problems.push({
        field: `body/${name}`,
        problem: name === 'maximumAgeDays' ? `${range}, or null` : range,
      });
      continue;
    }
    next[name] = value;
  }
  const settings: PasswordPolicySettings = {
    minLength: next.minLength ?? current.minLength,
    maxLength: next.maxLength ?? current.maxLength,
    requiredCategories: next.requiredCategories ?? current.requiredCategories,
    historyCountOnChange: next.historyCountOnChange ?? current.historyCountOnChange,
    historyCountOnReset: next.historyCountOnReset ?? current.historyCountOnReset,
    minimumAgeDays: next.minimumAgeDays ?? current.minimumAgeDays,
    maximumAgeDays: next.maximumAgeDays,
    expiryWarningDays: next.expiryWarningDays ?? current.expiryWarningDays,
  };
  const hasProblem = (name: string) => problems.some((p) => p.field === `body/${name}`);
  // A cross-field rule is reported on the field the caller changed, so the message points at the
  // value they just sent rather than at one they did not touch.
  if (settings.minLength > settings.maxLength && !hasProblem('minLength') && !hasProblem('maxLength')) {
    problems.push(
      'maxLength' in patch
        ? { field: 'body/maxLength', problem: `must be at least minLength (${settings.minLength})` }
        : { field: 'body/minLength', problem: `must be at most maxLength (${settings.maxLength})` },
    );
  }
  if (
    settings.maximumAgeDays !== null &&
    settings.minimumAgeDays >= settings.maximumAgeDays &&
    !hasProblem('minimumAgeDays') &&
    !hasProblem('maximumAgeDays')
  ) {
    // Otherwise a password would expire before its owner is allowed to change it.
    problems.push(
      'maximumAgeDays' in patch
        ? {
            field: 'body/maximumAgeDays',
            problem: `must be greater than minimumAgeDays (${settings.minimumAgeDays})`,
          }
        : {
            field: 'body/minimumAgeDays',
            problem: `must be less than maximumAgeDays (${settings.maximumAgeDays})`,
          },
    );
  }
  if (problems.length > 0) rejectSettingsPatch(problems);
  return Object.freeze(settings);
}

/** Printable ASCII: the only characters a password may hold, so the only ones a term can match. */
const passwordCharacters = /^[\x20-\x7e]*$/;

/**
 * Validates the tenant's custom banned list: each entry a string of 4 to 16 characters after
 * trimming, made of characters a password can hold; at most 1000 entries. Entries are trimmed and
 * duplicates that differ only in case are dropped (the first spelling is kept), which is not an
 * error. Returns the cleaned list and the problems found.
 */
export function cleanCustomBannedPasswords(value: unknown): {
  readonly terms: string[];
  readonly problems: SettingsProblem[];
} {
  const field = 'body/customBannedPasswords';
  if (!Array.isArray(value))
    return { terms: [], problems: [{ field, problem: 'must be an array of strings' }] };
  const problems: SettingsProblem[] = [];
  if (value.length > customBannedPasswordLimits.maxTerms) {
    problems.push({ field, problem: `must not hold more than ${customBannedPasswordLimits.maxTerms} terms` });
  }
  const terms: string[] = [];
  const seen = new Set<string>();
  value.forEach((entry: unknown, index) => {
    const at = `${field}/${index}`;
    if (typeof entry !== 'string') {
      problems.push({ field: at, problem: 'must be a string' });
      return;
    }
    const term = entry.trim();
    const { minLength, maxLength } = customBannedPasswordLimits;
    if (term.length < minLength || term.length > maxLength) {
      problems.push({
        field: at,
        problem: `must be ${minLength} to ${maxLength} characters long after trimming (it has ${term.length})`,
      });
      return;
    }
    if (!passwordCharacters.test(term)) {
      problems.push({
        field: at,
        problem:
          'may hold only letters A-Z, digits, spaces and ASCII symbols, the characters a password can hold',
      });
      return;
    }
    const key = term.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    terms.push(term);
  });
  return { terms, problems };
}

/**
 * Applies a PATCH body to the current Password Protection settings and returns the validated
 * result. `customBannedPasswords` replaces the whole list (cleaned by `cleanCustomBannedPasswords`).
 * Throws 7700001 naming every bad field, down to the index of each bad term.
 *
 * @example applyPasswordProtectionPatch(defaultPasswordProtectionSettings, { mode: 'Audit' })
 */
export function applyPasswordProtectionPatch(
  current: PasswordProtectionSettings,
  patch: unknown,
): PasswordProtectionSettings {
  if (!isSettingsObject(patch)) rejectSettingsPatch([{ field: 'body', problem: 'must be a JSON object' }]);
  const problems = unknownSettings(patch, Object.keys(passwordProtectionProperties));
  let { enabled, mode, customBannedPasswords, checkTenantName } = current;
  if ('enabled' in patch) {
    if (typeof patch['enabled'] === 'boolean') enabled = patch['enabled'];
    else problems.push({ field: 'body/enabled', problem: 'must be true or false' });
  }
  if ('checkTenantName' in patch) {
    if (typeof patch['checkTenantName'] === 'boolean') checkTenantName = patch['checkTenantName'];
    else problems.push({ field: 'body/checkTenantName', problem: 'must be true or false' });
  }
  if ('mode' in patch) {
    const value = patch['mode'];
    const known = passwordProtectionModes.find((m) => m === value);
    if (known) mode = known;
    else
      problems.push({ field: 'body/mode', problem: `must be one of ${passwordProtectionModes.join(', ')}` });
  }
  if ('customBannedPasswords' in patch) {
    const cleaned = cleanCustomBannedPasswords(patch['customBannedPasswords']);
    problems.push(...cleaned.problems);
    customBannedPasswords = Object.freeze(cleaned.terms);
  }
  if (problems.length > 0) rejectSettingsPatch(problems);
  return Object.freeze({ enabled, mode, customBannedPasswords, checkTenantName });
}

/**
 * Reads stored settings (for example a JSON column) over the defaults: a setting added in a later
 * version and missing from the stored value takes its default. Throws 7700001 if a stored value
 * is invalid.
 */
export function loadPasswordPolicySettings(stored: unknown): PasswordPolicySettings {
  return applyPasswordPolicyPatch(defaultPasswordPolicySettings, stored ?? {});
}

/** The same for Password Protection. */
export function loadPasswordProtectionSettings(stored: unknown): PasswordProtectionSettings {
  return applyPasswordProtectionPatch(defaultPasswordProtectionSettings, stored ?? {});
}
