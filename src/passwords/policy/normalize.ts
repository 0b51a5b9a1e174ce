/*
 * Normalisation for Password Protection: the form in which passwords, banned terms and name parts
 * are compared. It is applied to both sides, so a term written with look-alike characters ("P@ss")
 * and a password written in plain letters ("pass") meet in the middle.
 *
 * The mapping is one character for one character, so positions in the normalised password are
 * positions in the password, and the result is idempotent: normalising twice changes nothing.
 */

const a = 0x61;
const z = 0x7a;
const upperA = 0x41;
const upperZ = 0x5a;
const zero = 0x30;
const nine = 0x39;

/**
 * Symbols read as letters wherever they appear.
 * - `$` -> s and `@` -> a: Entra's documented table.
 * - `|` -> l: a vertical bar is the usual stand-in for a lower-case L ("he||o").
 * - `+` -> t: a plus sign is a common stand-in for a T ("+rust", "s+ar").
 * `!` is deliberately not mapped to i: Entra's own worked example keeps the `!` of
 * "ContoS0Bl@nkf9!" in its normalised form ("contosoblankf9!").
 */
const symbolLetters: Readonly<Record<string, string>> = { $: 's', '@': 'a', '|': 'l', '+': 't' };

/**
 * Digits read as letters, but only where they stand in for a letter (see `normalizeForMatching`).
 * - `0` -> o and `1` -> l: Entra's documented table.
 * - `3` -> e, `4` -> a, `5` -> s, `7` -> t: the other look-alikes of everyday "leet" spelling
 *   ("p4ssw0rd", "l3tm3in", "5ummer", "7iger"); each is the digit's usual reading.
 * `2`, `6`, `8` and `9` stay digits: their letter readings (z, g/b, b, g) are rare and ambiguous,
 * and Entra's worked example keeps the `9` of "ContoS0Bl@nkf9!".
 */
const digitLetters: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'l',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
};

function isDigit(code: number): boolean {
  return code >= zero && code <= nine;
}

/** A character that reads as a letter: an ASCII letter or one of the look-alike symbols. */
function isLetterLike(char: string): boolean {
  const code = char.charCodeAt(0);
  return (code >= a && code <= z) || (code >= upperA && code <= upperZ) || char in symbolLetters;
}

function lowerAscii(char: string): string {
  const code = char.charCodeAt(0);
  return code >= upperA && code <= upperZ ? String.fromCharCode(code + 32) : char;
}

/**
 * Normalises `text` for banned-term matching: ASCII letters to lower case, look-alike symbols to
 * letters, and look-alike digits to letters where they stand in for a letter.
 *
 * Entra's table maps 0 -> o and 1 -> l, yet its worked example normalises "C0ntos0Blank12" to
 * "contosoblank12": the zeros inside the word became letters, the "12" after it stayed a number.
 * Rekey reads that as the rule: a run of digits is read as letters when it is a single digit, or
 * when it sits between letters and every digit in it has a letter reading ("pa55word" -> "password",
 * "c00l" -> "cool"). Any other run is a number (a year, a PIN, a counter) and stays digits, so
 * numeric banned terms such as "2024" or "123456" still match numbers.
 *
 * Only ASCII is changed: Rekey passwords are ASCII (see the `unsupportedCharacters` rule), and
 * leaving other characters alone keeps the mapping one-to-one, which `toLowerCase` would not
 * ("İ" becomes two code units).
 *
 * @example normalizeForMatching('C0ntos0Blank12') // 'contosoblank12'
 * @example normalizeForMatching('Bl@nK') // 'blank'
 */
export function normalizeForMatching(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (!isDigit(char.charCodeAt(0))) {
      out += symbolLetters[char] ?? lowerAscii(char);
      i += 1;
      continue;
    }
    let end = i + 1;
    while (end < text.length && isDigit(text.charCodeAt(end))) end += 1;
    const run = text.slice(i, end);
    const hasLetterReading = [...run].every((digit) => digit in digitLetters);
    const isWordPart =
      run.length === 1 || (isLetterLike(text.charAt(i - 1)) && isLetterLike(text.charAt(end)));
    out +=
      hasLetterReading && isWordPart ? [...run].map((digit) => digitLetters[digit] ?? digit).join('') : run;
    i = end;
  }
  return out;
}

/** Shortest name part or term that is matched at all: Entra's floor for substring matching. */
export const minimumTermLength = 4;

/** Lower-case ASCII words of `text`, with accents removed first ("Zoë" -> "zoe"). */
function wordsOf(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

function addTerm(terms: Set<string>, raw: string): void {
  const term = normalizeForMatching(raw);
  if (term.length >= minimumTermLength) terms.add(term);
}

/** What Password Protection and the `containsUserName` rule know of a user. */
export interface UserNameParts {
  readonly userPrincipalName?: string | null | undefined;
  readonly displayName?: string | null | undefined;
  readonly givenName?: string | null | undefined;
  readonly surname?: string | null | undefined;
}

/**
 * The user's name parts a password must not contain, normalised: the part of the UPN before the
 * @ (whole, and each word of it), and each word of the display name, given name and surname; a
 * word that mixes letters and digits ("jsmith42") also gives its letter runs ("jsmith"). Only
 * parts of 4 or more characters count, as in Entra.
 */
export function userNameTerms(user: UserNameParts): string[] {
  const terms = new Set<string>();
  const localPart = (user.userPrincipalName ?? '').split('@')[0] ?? '';
  addTerm(terms, localPart.toLowerCase());
  for (const text of [localPart, user.displayName, user.givenName, user.surname]) {
    for (const word of wordsOf(text ?? '')) {
      addTerm(terms, word);
      for (const letters of word.match(/[a-z]+/g) ?? []) addTerm(terms, letters);
    }
  }
  return [...terms];
}

/**
 * The tenant name as terms: each word of 4 or more characters and the whole name without its
 * spaces and punctuation ("Fabrikam Bank" -> "fabrikam", "bank", "fabrikambank").
 */
export function tenantNameTerms(tenantName: string | null | undefined): string[] {
  const words = wordsOf(tenantName ?? '');
  const terms = new Set<string>();
  for (const word of words) addTerm(terms, word);
  addTerm(terms, words.join(''));
  return [...terms];
}
