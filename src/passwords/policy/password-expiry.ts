import type { PasswordPolicySettings } from './settings.js';

/** The per-user flags of Graph's `passwordPolicies` ("DisablePasswordExpiration, DisableStrongPassword"). */
export type PasswordPolicyFlag = 'DisablePasswordExpiration' | 'DisableStrongPassword';

/**
 * True when Graph's `passwordPolicies` string holds `flag`. The comparison ignores case and
 * spacing, as Graph's parsing of the string does; `None` and null hold no flag.
 */
export function hasPasswordPolicyFlag(
  passwordPolicies: string | null | undefined,
  flag: PasswordPolicyFlag,
): boolean {
  if (!passwordPolicies) return false;
  const wanted = flag.toLowerCase();
  return passwordPolicies.split(',').some((part) => part.trim().toLowerCase() === wanted);
}

export interface ExpiryUser {
  readonly passwordPolicies: string | null | undefined;
  /** ISO 8601; null when the user has never set a password. */
  readonly lastPasswordChangeDateTime: string | null | undefined;
}

export interface PasswordExpiry {
  /** True from the expiry instant on: sign-in must then refuse the password (50055). */
  readonly expired: boolean;
  /** When the password expires (ISO 8601), or null when it never does. */
  readonly expiresAt: string | null;
  /** True in the `expiryWarningDays` before expiry, while the password still works. */
  readonly inWarningWindow: boolean;
}

const dayMs = 24 * 60 * 60 * 1000;
const neverExpires: PasswordExpiry = Object.freeze({
  expired: false,
  expiresAt: null,
  inWarningWindow: false,
});

/**
 * When the user's password expires, and whether it has or soon will. A password never expires
 * when the policy has no maximum age, when the user has `DisablePasswordExpiration`, or when no
 * change time is known (Rekey cannot date the password, and expiring it at once would lock the user
 * out for missing data rather than for age).
 *
 * @example passwordExpiry(settings, { passwordPolicies: null, lastPasswordChangeDateTime: '2025-01-01T00:00:00.000Z' }, now)
 */
export function passwordExpiry(
  settings: Pick<PasswordPolicySettings, 'maximumAgeDays' | 'expiryWarningDays'>,
  user: ExpiryUser,
  now: Date,
): PasswordExpiry {
  if (settings.maximumAgeDays === null) return neverExpires;
  if (hasPasswordPolicyFlag(user.passwordPolicies, 'DisablePasswordExpiration')) return neverExpires;
  const changedAt = Date.parse(user.lastPasswordChangeDateTime ?? '');
  if (Number.isNaN(changedAt)) return neverExpires;
  const expiresAt = changedAt + settings.maximumAgeDays * dayMs;
  const expired = now.getTime() >= expiresAt;
  const warnFrom = expiresAt - settings.expiryWarningDays * dayMs;
  return {
    expired,
    expiresAt: new Date(expiresAt).toISOString(),
    inWarningWindow: !expired && settings.expiryWarningDays > 0 && now.getTime() >= warnFrom,
  };
}
