import { describe, expect, it } from 'vitest';
import { findCatalogEntry, getCatalogEntry, listCatalogEntries } from './catalog.js';
import { explainCode, findGuidance, portalPages } from './catalog-guidance.js';

/*
 * The guidance is the troubleshooting half of the catalog. A code added to the catalog (by any
 * branch) fails here until it says why it happens, who can fix it and what it is related to.
 */

const entries = listCatalogEntries();

describe('the catalog guidance', () => {
  it.each(entries.map((e) => [e.code, e.name] as const))('explains %i %s', (code) => {
    const guidance = findGuidance(code);
    expect(guidance, `no guidance for ${code}: add it to catalog-guidance.ts`).toBeDefined();
    if (!guidance) return;
    expect(guidance.cause).toMatch(/^[A-Z].{20,}[.]$/s);
    expect(guidance.fixedBy.length).toBeGreaterThan(0);
    expect(new Set(guidance.fixedBy).size).toBe(guidance.fixedBy.length);
    if (guidance.steps) expect(guidance.steps.length).toBeGreaterThan(0);
  });

  it('relates codes only to other codes the catalog has, once each', () => {
    const problems: string[] = [];
    for (const entry of entries) {
      const related = findGuidance(entry.code)?.related ?? [];
      if (new Set(related).size !== related.length) problems.push(`${entry.code} names a related code twice`);
      for (const code of related) {
        if (code === entry.code) problems.push(`${entry.code} is related to itself`);
        if (!findCatalogEntry(code)) problems.push(`${entry.code} names ${code}, which the catalog lacks`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has no guidance for a code the catalog does not define', () => {
    // Probing a range: guidance is keyed by ErrorCode, so a stale key is a type error too; this
    // catches one that a cast let through.
    const catalogCodes = new Set(entries.map((e) => e.code));
    for (const code of [50000, 50053, 120001, 120008, 7700000, 7700011, 7799999])
      expect(findGuidance(code) !== undefined).toBe(catalogCodes.has(code));
  });

  it('sends people only to the portal pages the portal is to serve', () => {
    const known = new Set<string>(Object.values(portalPages).map((p) => p.path));
    const named = entries.flatMap((entry) => {
      const explained = explainCode(entry);
      return [...explained.steps, ...explained.notes].flatMap((text) =>
        [...text.matchAll(/\/portal\/[A-Za-z0-9{}/-]*/g)].map((m) => ({ code: entry.code, path: m[0] })),
      );
    });
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !known.has(n.path))).toEqual([]);
  });

  it('explains 120008 as the terminal state of an operation, and where its cause is found', () => {
    const explained = explainCode(getCatalogEntry(120008));
    const text = [explained.cause, ...explained.steps, ...explained.notes].join('\n');
    expect(text).toMatch(/terminated/);
    expect(text).toContain('innerError.causeCode');
    expect(text).toContain('statusDetail');
    expect(text).toContain('`rekey operations show <id>`');
    expect(text).toContain('`rekey diagnose --correlation-id <id>`');
    expect(explained.related).toEqual(expect.arrayContaining([120004, 120013, 120014, 120016, 120020]));
  });

  it('keeps the catalog remediation as the steps where the guidance has none', () => {
    const entry = getCatalogEntry(7700004);
    expect(findGuidance(7700004)?.steps).toBeUndefined();
    expect(explainCode(entry).steps).toEqual(entry.remediation);
    expect(explainCode(getCatalogEntry(120013)).steps).not.toEqual(getCatalogEntry(120013).remediation);
  });
});
