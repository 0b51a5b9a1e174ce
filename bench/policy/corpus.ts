import { dictionary } from '@zxcvbn-ts/language-common';
import {
  applyPasswordProtectionPatch,
  customBannedPasswordLimits,
  defaultPasswordProtectionSettings,
  type PasswordProtectionSettings,
  type PolicySubject,
  symbolCharacters,
} from '../../src/passwords/policy/index.js';
import { between, capitalize, chance, pick, pronounceableWord, type Random, shuffle } from './random.js';

/*
 * The benchmark's deterministic inputs: the tenant's custom banned list, the users, and the
 * password mixes. Everything comes from seeded generators or from word lists already installed
 * (@zxcvbn-ts/language-common, which the shipped breached set is built from), so two runs
 * evaluate exactly the same passwords.
 */

/** The tenant name matched by Password Protection (checkTenantName is on by default). */
export const benchTenantName = 'Northwind Traders';
const tenantDomain = 'northwindtraders.example';

/** Common English words (the zxcvbn diceware list), for passphrases and word+digits passwords. */
const commonWords: readonly string[] = dictionary['diceware-common'] ?? [];
/** The list the shipped breached set was built from: every entry must hit the set. */
export const breachedCorpus: readonly string[] = dictionary['passwords-common'] ?? [];

const upper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const lower = 'abcdefghijklmnopqrstuvwxyz';
const digits = '0123456789';
// The space counts as a symbol but is rare in typed passwords; leave it out of random ones.
const symbols = symbolCharacters.replace(' ', '');
const categories = [upper, lower, digits, symbols] as const;

/** A custom list and how it was made. */
export interface CustomList {
  readonly seed: number;
  readonly settings: PasswordProtectionSettings;
  readonly terms: readonly string[];
}

/**
 * Exactly `customBannedPasswordLimits.maxTerms` (1000) distinct pronounceable terms of 4-16
 * characters, lengths spread evenly; about a third capitalised like brand names and a tenth with a
 * two-digit suffix ("Zentrox24"). Validated through `applyPasswordProtectionPatch`, as a PATCH of
 * the settings would be, and checked to have kept every term.
 */
export function buildCustomList(random: Random, seed: number): CustomList {
  const { maxTerms, minLength, maxLength } = customBannedPasswordLimits;
  const seen = new Set<string>();
  const terms: string[] = [];
  while (terms.length < maxTerms) {
    const length = between(random, minLength, maxLength);
    const withDigits = length >= 6 && chance(random, 0.1);
    let term = pronounceableWord(random, withDigits ? length - 2 : length);
    if (chance(random, 0.3)) term = capitalize(term);
    if (withDigits) term += String(between(random, 10, 99));
    if (seen.has(term.toLowerCase())) continue;
    seen.add(term.toLowerCase());
    terms.push(term);
  }
  const settings = applyPasswordProtectionPatch(defaultPasswordProtectionSettings, {
    customBannedPasswords: terms,
  });
  if (settings.customBannedPasswords.length !== maxTerms) {
    throw new Error(
      `the custom list kept ${settings.customBannedPasswords.length} of ${maxTerms} terms after validation`,
    );
  }
  return { seed, settings, terms };
}

/** A user whose name parts the engine checks; a tenth have `DisableStrongPassword`. */
export function buildUsers(random: Random, count: number): PolicySubject[] {
  return Array.from({ length: count }, () => {
    const givenName = capitalize(pronounceableWord(random, between(random, 4, 8)));
    const surname = capitalize(pronounceableWord(random, between(random, 5, 10)));
    return {
      userPrincipalName: `${givenName}.${surname}@${tenantDomain}`.toLowerCase(),
      displayName: `${givenName} ${surname}`,
      givenName,
      surname,
      passwordPolicies: chance(random, 0.1) ? 'DisableStrongPassword' : null,
    };
  });
}

/** One password to evaluate and the user it is for. */
export interface Sample {
  readonly password: string;
  readonly subject: PolicySubject;
}

/** What a mix generator may draw on. */
export interface MixContext {
  readonly random: Random;
  readonly customTerms: readonly string[];
  readonly users: readonly PolicySubject[];
}

/** A named kind of password, with a generator and a line for the notes. */
export interface Mix {
  readonly name: string;
  readonly description: string;
  readonly next: (context: MixContext) => Sample;
}

const leet: Readonly<Record<string, string>> = { a: '@', o: '0', s: '$', l: '1', e: '3', t: '7' };

/** Replaces each letter that has a look-alike with it, with probability `p` (what users do to terms). */
function disguise(random: Random, term: string, p: number): string {
  return [...term]
    .map((char) => {
      const swap = leet[char.toLowerCase()];
      return swap !== undefined && chance(random, p) ? swap : char;
    })
    .join('');
}

/** One edit inside the term (a substituted letter), which the matcher must still catch. */
function oneEdit(random: Random, term: string): string {
  if (term.length < 5) return term;
  const at = between(random, 1, term.length - 2);
  return term.slice(0, at) + pick(random, lower) + term.slice(at + 1);
}

function randomDigits(random: Random, min: number, max: number): string {
  return Array.from({ length: between(random, min, max) }, () => pick(random, digits)).join('');
}

/** A passphrase of common words joined by a digit or symbol, cut to exactly `length` characters. */
function passphrase(random: Random, length: number): string {
  let text = '';
  while (text.length < length) {
    const word = pick(random, commonWords);
    text +=
      (chance(random, 0.5) ? capitalize(word) : word) + pick(random, chance(random, 0.5) ? digits : symbols);
  }
  return text.slice(0, length);
}

const user = (context: MixContext): PolicySubject => pick(context.random, context.users);

/** The password mixes of the latency table, in the order they run. */
export const mixes: readonly Mix[] = [
  {
    name: 'random 8-16',
    description: 'random characters, 8-16 long, from 3 or 4 categories (each chosen category at least once)',
    next: (context) => {
      const { random } = context;
      const chosen = shuffle(random, [...categories]).slice(0, chance(random, 0.5) ? 3 : 4);
      const length = between(random, 8, 16);
      const chars = chosen.map((set) => pick(random, set));
      const pool = chosen.join('');
      while (chars.length < length) chars.push(pick(random, pool));
      return { password: shuffle(random, chars).join(''), subject: user(context) };
    },
  },
  {
    name: 'word+digits+symbol',
    description:
      "one or two capitalised words + 1-4 digits + a symbol; words are common English words, a custom term 20% of the time, the user's given name 5%",
    next: (context) => {
      const { random } = context;
      const subject = user(context);
      const word = (): string => {
        const roll = random();
        if (roll < 0.2) return pick(random, context.customTerms);
        if (roll < 0.25) return subject.givenName ?? 'someone';
        return pick(random, commonWords);
      };
      const words = chance(random, 0.5) ? capitalize(word()) + capitalize(word()) : capitalize(word());
      const tail = randomDigits(random, 1, 4);
      const symbol = pick(random, symbols);
      return { password: chance(random, 0.8) ? words + tail + symbol : words + symbol + tail, subject };
    },
  },
  {
    name: 'custom terms',
    description:
      'one or two custom terms in disguise (look-alike symbols and digits, 30% with one letter changed) + 2 digits + a symbol',
    next: (context) => {
      const { random } = context;
      const term = (): string => {
        const chosen = disguise(random, pick(random, context.customTerms), 0.3);
        return capitalize(chance(random, 0.3) ? oneEdit(random, chosen) : chosen);
      };
      const body = chance(random, 0.5) ? term() + term() : term();
      return { password: body + randomDigits(random, 2, 2) + pick(random, symbols), subject: user(context) };
    },
  },
  {
    name: 'passphrase 64',
    description: 'common words joined by digits and symbols, exactly 64 characters',
    next: (context) => ({ password: passphrase(context.random, 64), subject: user(context) }),
  },
  {
    name: 'passphrase 256',
    description: 'the same, exactly 256 characters (the longest the default policy allows)',
    next: (context) => ({ password: passphrase(context.random, 256), subject: user(context) }),
  },
  {
    name: 'breached',
    description:
      'entries of the list the shipped breached set was built from, first letter capitalised half the time',
    next: (context) => {
      const { random } = context;
      const entry = pick(random, breachedCorpus);
      return { password: chance(random, 0.5) ? capitalize(entry) : entry, subject: user(context) };
    },
  },
];
