/*
 * The rules of the password policy: stable ids, the catalog code each maps to, and the messages
 * Rekey shows. Ids are part of the API (`failures[].rule`); never rename one.
 */

import { Codes } from '../../platform/errors/catalog.js';

/** Every rule, in the order failures are reported. */
export const policyRuleIds = [
  'unsupportedCharacters',
  'length',
  'characterCategories',
  'containsUserName',
  'passwordProtection',
  'breached',
  'history',
  'minimumAge',
] as const;

export type PolicyRuleId = (typeof policyRuleIds)[number];

/** The catalog codes a policy failure can carry. */
export type PolicyFailureCode =
  | typeof Codes.PasswordChangeInvalidNewPasswordWeak
  | typeof Codes.PasswordChangeInvalidNewPasswordContainsMemberName
  | typeof Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy;

/**
 * The catalog code of each rule: 120003 for the user's name, 120018 for Password Protection (the
 * "fuzzy policy" code), 120002 (the new password is too weak) for everything else.
 */
export const policyRuleCodes: Readonly<Record<PolicyRuleId, PolicyFailureCode>> = Object.freeze({
  unsupportedCharacters: Codes.PasswordChangeInvalidNewPasswordWeak,
  length: Codes.PasswordChangeInvalidNewPasswordWeak,
  characterCategories: Codes.PasswordChangeInvalidNewPasswordWeak,
  containsUserName: Codes.PasswordChangeInvalidNewPasswordContainsMemberName,
  passwordProtection: Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy,
  breached: Codes.PasswordChangeInvalidNewPasswordWeak,
  history: Codes.PasswordChangeInvalidNewPasswordWeak,
  minimumAge: Codes.PasswordChangeInvalidNewPasswordWeak,
});

/**
 * The symbols a password may hold (Entra's list), the space included. Together with A-Z, a-z and
 * 0-9 they are exactly the printable ASCII characters; every one of them counts for the "symbol"
 * category.
 */
export const symbolCharacters = ' @#$%^&*-_!+=[]{}|\\:\',.?/`~"();<>';

/** What a password is made of; holds counts and flags only, never characters. */
export interface CharacterCensus {
  /** Length in characters (Unicode code points, so an emoji counts once). */
  readonly length: number;
  readonly hasLower: boolean;
  readonly hasUpper: boolean;
  readonly hasDigit: boolean;
  readonly hasSymbol: boolean;
  /** How many of the four categories are present. */
  readonly categories: number;
  /** How many characters are outside A-Z, a-z, 0-9 and `symbolCharacters`. */
  readonly unsupported: number;
}

const symbolCodes = new Set([...symbolCharacters].map((char) => char.charCodeAt(0)));

/**
 * Counts what `password` is made of.
 *
 * A character outside A-Z, a-z, 0-9 and the symbol list (accented letters, other scripts, emoji,
 * tabs and other control characters) is not counted in any category: it fails the
 * `unsupportedCharacters` rule instead. Entra rejects such characters too, and Rekey has more
 * reasons to: the same-looking text can be encoded in several ways (é as one code point or two),
 * so a user could type their password "correctly" and fail; older on-premises directories and
 * clients that receive the password by writeback may mangle them; and counting them as symbols
 * would let one emoji satisfy a category that is meant to add guessing work.
 */
export function characterCensus(password: string): CharacterCensus {
  let length = 0;
  let hasLower = false;
  let hasUpper = false;
  let hasDigit = false;
  let hasSymbol = false;
  let unsupported = 0;
  for (const char of password) {
    length += 1;
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x61 && code <= 0x7a) hasLower = true;
    else if (code >= 0x41 && code <= 0x5a) hasUpper = true;
    else if (code >= 0x30 && code <= 0x39) hasDigit = true;
    else if (symbolCodes.has(code)) hasSymbol = true;
    else unsupported += 1;
  }
  const categories = Number(hasLower) + Number(hasUpper) + Number(hasDigit) + Number(hasSymbol);
  return { length, hasLower, hasUpper, hasDigit, hasSymbol, categories, unsupported };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The messages of each rule, in Rekey's words. None quotes the password. */
export const ruleMessages = {
  unsupportedCharacters: (): string =>
    'The password may contain only the letters A-Z and a-z, the digits 0-9, spaces and the symbols ' +
    `${symbolCharacters.trim()}; it contains other characters.`,
  length: (minLength: number, maxLength: number): string =>
    `The password must be ${minLength} to ${maxLength} characters long.`,
  characterCategories: (required: number): string =>
    `The password must mix at least ${required} of these 4 kinds of characters: lower-case letters, ` +
    'upper-case letters, digits, symbols.',
  containsUserName: (): string =>
    "The password must not contain the user's name or the part of the sign-in name before the @, " +
    'even with look-alike characters such as 0 for o.',
  passwordProtection: (score: number, required: number): string =>
    `The password is too easy to guess: it scores ${score} of the ${required} points needed. ` +
    'Common words, banned terms and names count 1 point each, however long; every other character counts 1.',
  breached: (): string =>
    'The password appears in lists of passwords exposed in data breaches, which attackers try first.',
  history: (count: number): string =>
    count === 1
      ? 'The new password must differ from the current password.'
      : `The new password must differ from the last ${plural(count, 'password')}, the current one included.`,
  minimumAge: (days: number, allowedFrom: string): string =>
    `A password must be kept at least ${plural(days, 'day')} before it is changed; this one can be changed from ${allowedFrom}.`,
} as const;
