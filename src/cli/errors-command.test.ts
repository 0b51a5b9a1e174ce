import { describe, expect, it } from 'vitest';
import { type CliRun, runRekeyCli } from '../../test/support/cli-run.js';
import { getCatalogEntry, listCatalogEntries } from '../platform/errors/catalog.js';
import { explainCode, findGuidance } from '../platform/errors/catalog-guidance.js';

/*
 * `rekey errors` reads only the catalog and its guidance, so it runs without a database (an empty
 * environment): what it prints must be what GET /error shows.
 */

const cli = (...args: string[]): Promise<CliRun> => runRekeyCli({}, args);

describe('rekey errors --list', () => {
  it.each([[[]], [['--list']]])('prints a table of every code with %j', async (args) => {
    const run = await cli('errors', ...args);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    const [header, ...rows] = run.out.split('\n');
    expect(header).toMatch(/^CODE\s+NAME\s+CATEGORY\s+FIXED BY\s+RETRYABLE$/);
    const entries = listCatalogEntries();
    expect(rows).toHaveLength(entries.length);
    for (const [i, entry] of entries.entries()) {
      const cells = rows[i]?.split(/\s{2,}/);
      expect(cells).toEqual([
        entry.isEntraCode ? `AADSTS${entry.code}` : String(entry.code),
        entry.name,
        entry.category,
        findGuidance(entry.code)?.fixedBy.join(','),
        entry.retryable ? 'yes' : 'no',
      ]);
    }
    expect(run.out).toMatch(
      /\nAADSTS120013 +PasswordChangeOnPremisesConnectivityFailure +onPremises +time,administrator +yes\n/,
    );
  });

  it('lists every code in full as JSON, as GET /error answers them', async () => {
    const run = await cli('errors', '--list', '--json');
    expect(run.code).toBe(0);
    const parsed = JSON.parse(run.out) as Array<{
      code: number;
      cause: string | null;
      fixedBy: string[];
      remediation: string[];
      related: Array<{ code: number }>;
    }>;
    expect(parsed.map((e) => e.code)).toEqual(listCatalogEntries().map((e) => e.code));
    for (const described of parsed) {
      const explained = explainCode(getCatalogEntry(described.code as 120008));
      expect(described.cause).toBe(explained.cause);
      expect(described.fixedBy).toEqual(explained.fixedBy);
      expect(described.remediation).toEqual(explained.steps);
      expect(described.related.map((r) => r.code)).toEqual(explained.related);
    }
  });
});

describe('rekey errors <code>', () => {
  it.each(['120008', 'AADSTS120008', 'aadsts120008'])('prints %s in full', async (code) => {
    const run = await cli('errors', code);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    const explained = explainCode(getCatalogEntry(120008));
    const lines = run.out.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'AADSTS120008  PasswordChangeAsyncJobStateTerminated',
      `  ${explained.entry.message}`,
      '  category: passwordChange; HTTP 400; not retryable; Entra-compatible code',
      '  who can fix it: the user, or an administrator',
    ]);
    expect(lines).toContain(`  why: ${explained.cause}`);
    expect(lines).toContain('  how it works:');
    for (const note of explained.notes) expect(lines).toContain(`    ${note}`);
    const steps = lines.slice(lines.indexOf('  what to do:') + 1, lines.indexOf('  related codes:'));
    expect(steps).toEqual(explained.steps.map((s) => `    - ${s}`));
    expect(run.out).toContain('`rekey operations show <id>`');
    expect(run.out).toContain('`rekey diagnose --correlation-id <id>`');
    const related = lines.slice(lines.indexOf('  related codes:') + 1);
    expect(related).toContain('    - AADSTS120014  PasswordChangeOnPremUserAccountLockedOutOrDisabled');
    expect(related).toHaveLength(explained.related.length);
  });

  it("says who can fix a code and that a Rekey code is Rekey's own", async () => {
    const run = await cli('errors', '7700501');
    expect(run.out.split('\n').slice(0, 4)).toEqual([
      '7700501  PasswordChangeAccountLocked',
      `  ${getCatalogEntry(7700501).message}`,
      "  category: account; HTTP 400; retryable; Rekey's own code",
      '  who can fix it: time (it ends by itself), or an administrator',
    ]);
    expect(run.out).toContain('`rekey users unlock <upn>`');
    expect(run.out).not.toContain('how it works:');
  });

  it('prints one code as JSON, the same as GET /error', async () => {
    const run = await cli('errors', '7700004', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({
      code: 7700004,
      aadsts: null,
      entraCompatible: false,
      name: 'PayloadTooLarge',
      httpStatus: 413,
      retryable: false,
      cause: findGuidance(7700004)?.cause,
      fixedBy: ['user'],
      remediation: getCatalogEntry(7700004).remediation,
      related: [{ code: 7700001, aadsts: null, name: 'RequestValidationFailed' }],
    });
  });

  it.each(['99999', 'AADSTS99999', 'hello', '1;rm -rf'])(
    'refuses the unknown code %s with 7700008 and exit 1',
    async (code) => {
      const run = await cli('errors', code);
      expect(run.code).toBe(1);
      expect(run.out).toBe('');
      expect(run.err.split('\n')).toEqual([
        `error 7700008 ResourceNotFound: Rekey does not define the code ${code}.`,
        `  details: ${JSON.stringify({ code })}`,
        '  what to do: Run `rekey errors --list` for every code.',
      ]);
    },
  );

  it('refuses an unknown code as JSON on stderr with --json', async () => {
    const run = await cli('errors', '99999', '--json');
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(JSON.parse(run.err)).toEqual({
      error: {
        code: 7700008,
        name: 'ResourceNotFound',
        message: 'Rekey does not define the code 99999.',
        details: { code: '99999' },
      },
    });
  });

  it('refuses --list with a code, naming the option', async () => {
    const run = await cli('errors', '50126', '--list');
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toMatch(/^error 7700001 RequestValidationFailed: --list lists every code and takes none/);
  });

  it('leaves no exit code behind: a failed run does not change the next one or the process', async () => {
    const before = process.exitCode;
    expect((await cli('errors', '99999')).code).toBe(1);
    expect(process.exitCode).toBe(before);
    expect((await cli('errors', '50126')).code).toBe(0);
  });
});
