import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  errorsPage,
  errorTableEnd,
  errorTableStart,
  renderErrorTable,
  withTable,
} from '../../scripts/error-table.js';
import { listCatalogEntries } from '../../src/platform/errors/catalog.js';

describe('the error table of docs/errors.md', () => {
  const page = readFileSync(errorsPage, 'utf8');

  it('is the catalog as it is now (run `npx tsx scripts/error-table.ts --write` after changing a code)', () => {
    expect(withTable(page, renderErrorTable())).toBe(page);
  });

  it('has one row per code, between its markers', () => {
    const table = page.slice(page.indexOf(errorTableStart), page.indexOf(errorTableEnd));
    const rows = table.split('\n').filter((line) => /^\| (AADSTS)?\d/.test(line));
    expect(rows.map((r) => Number(r.split(' | ')[0]?.replace(/^\| (AADSTS)?/, '')))).toEqual(
      listCatalogEntries().map((e) => e.code),
    );
  });
});
