import { isSettingsObject, rejectSettingsPatch, unknownSettings } from '../platform/settings-patch.js';

/*
 * What a refused password check tells a caller who has not proven who they are (the token
 * endpoint's password grant and the expired-password change), as a tenant setting with no I/O:
 * the settings document, its validation, and the rule both endpoints apply. The sign-in and audit
 * logs always keep the true reason; only the answer changes.
 */

/** The ways a tenant may answer a refused sign-in. */
export const signInErrorDisclosures = ['uniform', 'entraCompatible'] as const;

/**
 * `uniform`: an unknown user, an account without a password, a wrong password, and a locked
 * account tried with a wrong password all get the wrong-password answer; the lock is told only to
 * a caller who gave the right password. `entraCompatible`: each gets its own answer, as Entra
 * gives it (50034 for an unknown user, 50053 for a locked account whatever the password).
 */
export type SignInErrorDisclosure = (typeof signInErrorDisclosures)[number];

/** The tenant's sign-in settings (`/rekey/v1/settings/signIn`). */
export interface SignInSettings {
  readonly signInErrorDisclosure: SignInErrorDisclosure;
}

/** A self-hosted service does not tell strangers which accounts exist or are locked. */
export const defaultSignInSettings: SignInSettings = Object.freeze({ signInErrorDisclosure: 'uniform' });

function isDisclosure(value: unknown): value is SignInErrorDisclosure {
  return (signInErrorDisclosures as readonly unknown[]).includes(value);
}

/**
 * Applies a PATCH body to the current sign-in settings and returns the validated result. Fields
 * left out keep their value. Throws 7700001 naming every bad field, as the other settings
 * documents do.
 *
 * @example applySignInPatch(defaultSignInSettings, { signInErrorDisclosure: 'entraCompatible' })
 */
export function applySignInPatch(current: SignInSettings, patch: unknown): SignInSettings {
  if (!isSettingsObject(patch)) rejectSettingsPatch([{ field: 'body', problem: 'must be a JSON object' }]);
  const problems = unknownSettings(patch, Object.keys(defaultSignInSettings));
  const next = { ...current };
  if (Object.hasOwn(patch, 'signInErrorDisclosure')) {
    const value = patch['signInErrorDisclosure'];
    if (isDisclosure(value)) next.signInErrorDisclosure = value;
    else
      problems.push({
        field: 'body/signInErrorDisclosure',
        problem: `must be one of ${signInErrorDisclosures.join(', ')}`,
      });
  }
  if (problems.length > 0) rejectSettingsPatch(problems);
  return Object.freeze(next);
}

/** The stored document as settings: defaults when never written, validated otherwise. */
export function loadSignInSettings(stored: unknown): SignInSettings {
  if (stored === undefined) return defaultSignInSettings;
  return applySignInPatch(defaultSignInSettings, stored);
}

/** How a refused password check ended, as far as the answer to the caller is concerned. */
export type RefusedOutcome =
  | { readonly outcome: 'unknownUser' | 'noPassword' | 'wrongPassword' }
  | { readonly outcome: 'locked'; readonly passwordMatched: boolean };

/**
 * The outcome a caller who has not proven who they are is answered with. In `uniform` mode a
 * lock is told only to a caller who gave the right password (they know the account already);
 * everything else reads as a wrong password. In `entraCompatible` mode the true outcome is told.
 */
export function answeredOutcome(
  disclosure: SignInErrorDisclosure,
  refused: RefusedOutcome,
): 'unknownUser' | 'noPassword' | 'wrongPassword' | 'locked' {
  switch (disclosure) {
    case 'entraCompatible':
      return refused.outcome;
    case 'uniform':
      return refused.outcome === 'locked' && refused.passwordMatched ? 'locked' : 'wrongPassword';
    default: {
      const unknownMode: never = disclosure;
      throw new Error(`unknown sign-in error disclosure ${String(unknownMode)}`);
    }
  }
}
