import { timingSafeEqual } from 'node:crypto';
import { RekeyError } from '../platform/errors/rekey-error.js';

/**
 * The password policy of the foundation: Entra's default rules. The next step replaces this
 * module with the full engine (history depth, expiry, Password Protection, breached passwords);
 * its contract stays: every failing rule is reported, never the password.
 */

export type PolicyRuleId = 'length' | 'characterCategories' | 'sameAsCurrent' | 'containsUserName';

export interface PolicyFailure {
  readonly rule: PolicyRuleId;
  readonly code: 120002 | 120003;
  readonly message: string;
}

/** What the policy knows of the user the password is for. */
export interface PolicySubject {
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly givenName: string | null;
  readonly surname: string | null;
}

export const minimumLength = 8;
export const maximumLength = 256;

function categoriesOf(password: string): number {
  let categories = 0;
  if (/[a-z]/.test(password)) categories += 1;
  if (/[A-Z]/.test(password)) categories += 1;
  if (/[0-9]/.test(password)) categories += 1;
  if (/[^A-Za-z0-9]/.test(password)) categories += 1;
  return categories;
}

/** Name parts of 4 or more characters that a password must not contain (case-insensitive). */
export function nameTokens(subject: PolicySubject): string[] {
  const local = subject.userPrincipalName.split('@')[0] ?? '';
  const parts = [
    local,
    ...[subject.displayName, subject.givenName ?? '', subject.surname ?? ''].flatMap((s) =>
      s.split(/[\s.,_\-@]+/),
    ),
  ];
  return [...new Set(parts.map((p) => p.toLowerCase()).filter((p) => p.length >= 4))];
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Returns every rule the password fails; an empty list means it is acceptable. */
export function evaluatePassword(
  password: string,
  subject: PolicySubject,
  options: { readonly currentPassword?: string } = {},
): PolicyFailure[] {
  const failures: PolicyFailure[] = [];
  if (password.length < minimumLength || password.length > maximumLength) {
    failures.push({
      rule: 'length',
      code: 120002,
      message: `The password must be ${minimumLength} to ${maximumLength} characters long.`,
    });
  }
  if (categoriesOf(password) < 3) {
    failures.push({
      rule: 'characterCategories',
      code: 120002,
      message:
        'The password must use at least three of: lower-case letters, upper-case letters, digits, symbols.',
    });
  }
  if (options.currentPassword !== undefined && sameString(password, options.currentPassword)) {
    failures.push({
      rule: 'sameAsCurrent',
      code: 120002,
      message: 'The new password must differ from the current one.',
    });
  }
  const lowered = password.toLowerCase();
  if (nameTokens(subject).some((token) => lowered.includes(token))) {
    failures.push({
      rule: 'containsUserName',
      code: 120003,
      message: "The password must not contain the user's name or the part of the sign-in name before the @.",
    });
  }
  return failures;
}

/**
 * Throws when the password fails any rule: 120003 when the only failures are name rules,
 * otherwise 120002; the details list every failing rule.
 */
export function assertPasswordAcceptable(
  password: string,
  subject: PolicySubject,
  options: { readonly currentPassword?: string } = {},
): void {
  const failures = evaluatePassword(password, subject, options);
  if (failures.length === 0) return;
  const code = failures.every((f) => f.code === 120003) ? 120003 : 120002;
  throw new RekeyError(code, { details: { failures } });
}
