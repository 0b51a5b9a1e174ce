import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileBannedTerms, scorePassword } from './banned-term-matcher.js';
import { globalBannedTerms } from './global-banned-terms.js';
import { normalizeForMatching } from './normalize.js';
import { createPolicyEngine, policyErrorFor } from './policy-engine.js';
import {
  applyPasswordProtectionPatch,
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
} from './settings.js';

/*
 * Invariants of normalisation and scoring, over random passwords, with the shipped global list and
 * a custom list of look-alike spellings.
 */

const customTerms = ['C0nt0so', 'Fabr1kam', 'r0cket', 'harb0ur', 'l@ntern'];
const matcher = compileBannedTerms({ globalTerms: globalBannedTerms, customTerms, tenantName: 'Fabrikam' });
const score = (password: string) => scorePassword(password, matcher, ['whitfield']).score;

const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
const asciiPassword = (maxLength: number) => fc.string({ unit: fc.constantFrom(...printable), maxLength });
/** Text made mostly of banned terms, so matches and near misses are common. */
const termHeavyPassword = fc
  .array(fc.oneof(fc.constantFrom(...globalBannedTerms, ...customTerms), asciiPassword(3)), { maxLength: 6 })
  .map((parts) => parts.join(''));

/**
 * Characters that are neither digits nor read as letters, and occur in no term: appending one
 * cannot change how the rest of the password normalises, nor complete a match.
 */
const termCharacters = new Set([...matcher.terms.join(''), ...'whitfield', ...matcher.tenantTerms.join('')]);
const neutralCharacters = printable.filter((char) => {
  const normalized = normalizeForMatching(char);
  return !/[0-9a-zA-Z$@|+]/.test(char) && !termCharacters.has(normalized);
});

describe('normalisation', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(
        fc.oneof(asciiPassword(40), termHeavyPassword, fc.string({ unit: 'binary', maxLength: 40 })),
        (text) => {
          const once = normalizeForMatching(text);
          expect(normalizeForMatching(once)).toBe(once);
          expect(once).toHaveLength(text.length);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('ignores case', () => {
    fc.assert(
      fc.property(fc.oneof(asciiPassword(40), termHeavyPassword), (text) => {
        expect(normalizeForMatching(text.toUpperCase())).toBe(normalizeForMatching(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('scoring', () => {
  it('gives a password and its upper-cased form the same score', () => {
    fc.assert(
      fc.property(fc.oneof(asciiPassword(40), termHeavyPassword), (password) => {
        expect(score(password.toUpperCase())).toBe(score(password));
        expect(score(password.toLowerCase())).toBe(score(password));
      }),
      { numRuns: 1000 },
    );
  });

  it('has characters to build the next properties from', () => {
    expect(neutralCharacters.length).toBeGreaterThanOrEqual(15);
    expect(neutralCharacters).toContain('#');
  });

  it('never lowers the score when a character that is in no term is appended', () => {
    fc.assert(
      fc.property(
        fc.oneof(asciiPassword(30), termHeavyPassword),
        fc.constantFrom(...neutralCharacters),
        (password, c) => {
          expect(score(password + c)).toBeGreaterThanOrEqual(score(password));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('can lower the score when the appended character completes a term (why the property above is narrowed)', () => {
    // "summ" is two edits from "summer" (4 points); "summe" is one (1 point). Any term-based
    // score does this: the same happens with exact matching, "blan" -> "blank".
    expect(score('summ')).toBe(4);
    expect(score('summe')).toBe(1);
  });

  it('scores N distinct characters that are in no term as N', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(neutralCharacters, { minLength: 1 }), (characters) => {
        expect(score(characters.join(''))).toBe(characters.length);
      }),
      { numRuns: 500 },
    );
  });

  it('never scores more than the length, nor less than one point per 17 characters', () => {
    fc.assert(
      fc.property(fc.oneof(asciiPassword(60), termHeavyPassword), (password) => {
        const points = score(password);
        expect(points).toBeLessThanOrEqual(password.length);
        // No term is longer than 16 characters, so no match covers more than 17.
        expect(points).toBeGreaterThanOrEqual(Math.ceil(password.length / 17));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('an evaluation never holds the password', () => {
  const engine = createPolicyEngine({
    hasher: { verify: async () => false },
    breached: { has: () => false },
  });
  const settings = {
    passwordPolicy: { ...defaultPasswordPolicySettings, historyCountOnChange: 3 },
    passwordProtection: applyPasswordProtectionPatch(defaultPasswordProtectionSettings, {
      customBannedPasswords: customTerms,
    }),
  };

  function stringsIn(value: unknown): string[] {
    if (typeof value === 'string') return [value];
    if (Array.isArray(value)) return value.flatMap(stringsIn);
    if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
    return [];
  }

  it('for random passwords longer than any term or name', async () => {
    // Longer than the longest term (16) and than any name or tenant term used here.
    const longPassword = fc.oneof(asciiPassword(64), termHeavyPassword).filter((p) => p.length >= 18);
    await fc.assert(
      fc.asyncProperty(
        longPassword,
        fc.constantFrom('change', 'reset', 'evaluate'),
        async (password, operation) => {
          const result = await engine.evaluate({
            password,
            operation,
            subject: {
              userPrincipalName: 'dana@example.com',
              displayName: 'Dana Whitfield',
              passwordPolicies: null,
            },
            tenantName: 'Fabrikam',
            settings,
            history: { hashes: ['$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g'] },
            now: new Date('2025-06-01T00:00:00.000Z'),
          });
          const error = policyErrorFor(result);
          for (const text of [...stringsIn(result), ...stringsIn(error?.details), error?.message ?? '']) {
            expect(text.includes(password)).toBe(false);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
