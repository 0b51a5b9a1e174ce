import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileBannedTerms, requiredPasswordProtectionScore, scorePassword } from './banned-term-matcher.js';
import { globalBannedTerms } from './global-banned-terms.js';

/** Entra's worked examples: the custom list has "contoso", the global list has "blank". */
const documented = compileBannedTerms({ globalTerms: ['blank'], customTerms: ['contoso'] });

function score(password: string, terms: readonly string[], names: readonly string[] = []): number {
  return scorePassword(password, compileBannedTerms({ globalTerms: terms, customTerms: [] }), names).score;
}

describe('Password Protection scoring: the documented examples', () => {
  it('"C0ntos0Blank12" scores 4 ([contoso]+[blank]+[1]+[2]) and fails', () => {
    const result = scorePassword('C0ntos0Blank12', documented, []);
    expect(result).toEqual({
      score: 4,
      required: 5,
      matchedTerms: ['contoso', 'blank'],
      matchedSources: ['global', 'custom'],
    });
    expect(result.score).toBeLessThan(requiredPasswordProtectionScore);
  });

  it('"ContoS0Bl@nkf9!" scores 5 ([contoso]+[blank]+[f]+[9]+[!]) and passes', () => {
    const result = scorePassword('ContoS0Bl@nkf9!', documented, []);
    expect(result.score).toBe(5);
    expect(result.matchedTerms).toEqual(['contoso', 'blank']);
  });

  it('"Bl@nK" is the banned "blank"', () => {
    expect(scorePassword('Bl@nK', documented, [])).toMatchObject({ score: 1, matchedTerms: ['blank'] });
  });

  it('a user named Poll: "p0LL23fb" contains the name (poll + 2 + 3 + f + b = 5)', () => {
    expect(scorePassword('p0LL23fb', documented, ['poll'])).toEqual({
      score: 5,
      required: 5,
      matchedTerms: ['poll'],
      matchedSources: ['userName'],
    });
  });

  it('the examples come out the same with the whole shipped global list', () => {
    const full = compileBannedTerms({
      globalTerms: [...globalBannedTerms, 'blank'],
      customTerms: ['contoso'],
    });
    expect(scorePassword('C0ntos0Blank12', full, []).score).toBe(4);
    expect(scorePassword('ContoS0Bl@nkf9!', full, []).score).toBe(5);
  });
});

describe('fuzzy matching at edit distance 1', () => {
  // Entra's illustration: with "abcdef" banned, each of these matches.
  it.each([
    ['abcdef', 'exact'],
    ['abcdeg', 'substitution'],
    ['abcdxf', 'substitution inside'],
    ['xbcdef', 'substitution of the first character'],
    ['abcxdef', 'insertion inside'],
    ['abcde', 'deletion of the last character'],
    ['bcdef', 'deletion of the first character'],
    ['abdef', 'deletion inside'],
  ])('%j matches "abcdef" (%s) for 1 point', (password) => {
    expect(score(password, ['abcdef'])).toBe(1);
  });

  it('does not match at edit distance 2', () => {
    expect(score('abxxef', ['abcdef'])).toBe(6);
    expect(score('abcd', ['abcdef'])).toBe(4);
    expect(score('bacdfe', ['abcdef'])).toBe(6);
  });

  it('never absorbs an extra character at either end of a term', () => {
    // "abcdefg" is the term plus the user's own "g": 2 points, not 1.
    expect(score('abcdefg', ['abcdef'])).toBe(2);
    expect(score('gabcdef', ['abcdef'])).toBe(2);
    expect(score('blankf9!', ['blank'])).toBe(4);
  });

  it('matches anywhere in the password, every occurrence counting', () => {
    expect(score('xxabcdefyy', ['abcdef'])).toBe(5);
    expect(score('abcdefabcdef', ['abcdef'])).toBe(2);
  });

  it('normalises the terms too', () => {
    expect(score('password', ['P@ssw0rd'])).toBe(1);
    expect(score('PA55WORD', ['password'])).toBe(1);
  });
});

describe('overlapping matches', () => {
  it('takes the reading with the lowest score, not the longest match first', () => {
    // Longest-first would take "cdefghij" and leave a, b, k, l: 5 points. Rekey finds 2.
    const matcher = compileBannedTerms({ globalTerms: ['abcdef', 'ghijkl', 'cdefghij'], customTerms: [] });
    expect(scorePassword('abcdefghijkl', matcher, [])).toMatchObject({
      score: 2,
      matchedTerms: ['abcdef', 'ghijkl'],
    });
  });

  it('reports the exact term when a fuzzy one reads the same stretch', () => {
    for (const globalTerms of [
      ['blanc', 'blank', 'plank'],
      ['plank', 'blank', 'blanc'],
    ]) {
      const matcher = compileBannedTerms({ globalTerms, customTerms: [] });
      expect(scorePassword('blank', matcher, [])).toMatchObject({ score: 1, matchedTerms: ['blank'] });
    }
  });

  it('treats names as exact substrings, not fuzzily', () => {
    expect(score('pollx', [], ['poll'])).toBe(2);
    expect(score('pxll', [], ['poll'])).toBe(4);
  });
});

describe('compileBannedTerms', () => {
  it('matches the tenant name and reports where each term came from', () => {
    const matcher = compileBannedTerms({
      globalTerms: ['summer', 'shared'],
      customTerms: ['Shared', 'rocket'],
      tenantName: 'Fabrikam Bank',
    });
    expect(scorePassword('Fabrikam-Summer', matcher, [])).toMatchObject({
      score: 3,
      matchedTerms: ['fabrikam', 'summer'],
      matchedSources: ['global', 'tenantName'],
    });
    expect(scorePassword('rocketshared', matcher, []).matchedSources).toEqual(['global', 'custom']);
    expect(scorePassword('FabrikamBank', matcher, [])).toMatchObject({
      score: 1,
      matchedTerms: ['fabrikambank'],
    });
  });

  it('drops terms that could never match a valid password', () => {
    const matcher = compileBannedTerms({
      globalTerms: ['abc', '  ', 'café', 'naïve'],
      customTerms: [' abcd '],
    });
    expect(matcher.terms).toEqual(['abcd']);
  });

  it('matches nothing with empty lists', () => {
    const matcher = compileBannedTerms({ globalTerms: [], customTerms: [] });
    expect(scorePassword('password', matcher, [])).toEqual({
      score: 8,
      required: 5,
      matchedTerms: [],
      matchedSources: [],
    });
    expect(scorePassword('', matcher, []).score).toBe(0);
  });

  it('holds the shipped global list: lower case, 4 to 16 characters, no duplicates', () => {
    expect(globalBannedTerms.length).toBeGreaterThan(300);
    expect(new Set(globalBannedTerms).size).toBe(globalBannedTerms.length);
    for (const term of globalBannedTerms) expect(term).toMatch(/^[a-z0-9]{4,16}$/);
    for (const term of [
      'password',
      'welcome',
      'qwerty',
      'letmein',
      'summer',
      'winter',
      'admin',
      'changeme',
    ]) {
      expect(globalBannedTerms).toContain(term);
    }
  });
});

/*
 * A slow, obviously-right version of the matching rules, to check the trie walk against:
 * every stretch of the password against every term.
 */
function withinOneEdit(stretch: string, term: string): boolean {
  if (stretch.length === term.length) {
    let differences = 0;
    for (let i = 0; i < term.length; i += 1) if (stretch[i] !== term[i]) differences += 1;
    return differences <= 1;
  }
  if (stretch.length === term.length - 1) {
    for (let k = 0; k < term.length; k += 1)
      if (term.slice(0, k) + term.slice(k + 1) === stretch) return true;
    return false;
  }
  if (stretch.length === term.length + 1) {
    // Insertions inside the term only: never the first or last character of the stretch.
    for (let k = 1; k < stretch.length - 1; k += 1) {
      if (stretch.slice(0, k) + stretch.slice(k + 1) === term) return true;
    }
  }
  return false;
}

function referenceScore(text: string, terms: readonly string[], names: readonly string[]): number {
  const best: number[] = new Array(text.length + 1).fill(0);
  for (let start = text.length - 1; start >= 0; start -= 1) {
    let lowest = 1 + (best[start + 1] ?? 0);
    for (let end = start + 1; end <= text.length; end += 1) {
      const stretch = text.slice(start, end);
      const matches = terms.some((term) => withinOneEdit(stretch, term)) || names.includes(stretch);
      if (matches) lowest = Math.min(lowest, 1 + (best[end] ?? 0));
    }
    best[start] = lowest;
  }
  return best[0] ?? 0;
}

describe('the trie walk agrees with the rules written out plainly', () => {
  // A small alphabet makes matches, near misses and overlaps frequent.
  const letter = fc.constantFrom('a', 'b', 'c', 'd');
  const term = fc.string({ unit: letter, minLength: 4, maxLength: 7 });
  const password = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', 'x'), maxLength: 16 });

  it('gives the same score for random terms, names and passwords', () => {
    fc.assert(
      fc.property(
        fc.array(term, { minLength: 1, maxLength: 12 }),
        fc.array(term, { maxLength: 2 }),
        password,
        (terms, names, text) => {
          const matcher = compileBannedTerms({ globalTerms: terms, customTerms: [] });
          expect(scorePassword(text, matcher, names).score).toBe(referenceScore(text, terms, names));
        },
      ),
      { numRuns: 1500 },
    );
  });
});
