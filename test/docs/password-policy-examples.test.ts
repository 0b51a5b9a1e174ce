import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compileBannedTerms,
  globalBannedTerms,
  normalizeForMatching,
  requiredPasswordProtectionScore,
  scorePassword,
} from '../../src/passwords/policy/index.js';

/*
 * docs/password-policy.md's worked examples of Password Protection, run through the engine with
 * the global list as shipped and `contoso` on the custom list, as the doc says: every column of
 * every row must be what the engine answers.
 */

const doc = readFileSync(new URL('../../docs/password-policy.md', import.meta.url), 'utf8');
const heading = doc.indexOf('Worked examples, with `contoso` on the custom list');
// The table that follows the heading: its rows, up to the first line that is not one.
const afterHeading = doc.slice(heading).split('\n');
const tableStart = afterHeading.findIndex((line) => line.startsWith('|'));
const tableEnd = afterHeading.findIndex((line, i) => i > tableStart && !line.startsWith('|'));
const table = afterHeading.slice(tableStart, tableEnd).filter((line) => line.startsWith('| `'));
const rows = table.map((line) => {
  const cells = line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim().replace(/^`|`$/g, ''));
  const [password = '', normalised = '', reading = '', points = '', terms = '', result = ''] = cells;
  return { password, normalised, reading, points: Number(points), terms, result };
});

describe("docs/password-policy.md's worked examples", () => {
  const matcher = compileBannedTerms({ globalTerms: globalBannedTerms, customTerms: ['contoso'] });

  it('are found in the doc', () => {
    expect(heading).toBeGreaterThan(0);
    expect(rows.length).toBeGreaterThanOrEqual(3);
  });

  it.each(rows)(
    '$password is read as the doc says',
    ({ password, normalised, reading, points, terms, result }) => {
      const scored = scorePassword(password, matcher, []);
      expect(normalizeForMatching(password)).toBe(normalised);
      expect(scored.score).toBe(points);
      expect(scored.matchedTerms.join(', ')).toBe(terms);
      // The reading names each matched term and counts one point per part.
      const parts = reading.split(' + ');
      expect(parts).toHaveLength(points);
      for (const term of scored.matchedTerms) expect(parts).toContain(term);
      expect(scored.score >= requiredPasswordProtectionScore ? 'accepted' : 'rejected').toBe(result);
    },
  );
});
