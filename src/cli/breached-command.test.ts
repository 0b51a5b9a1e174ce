import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { importedBreachedSetFile } from '../passwords/breached/breached-set.js';
import { readFilterFile } from '../passwords/breached/filter-file.js';
import {
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
} from '../passwords/policy/settings.js';
import { formatProgress, readPasswordFrom, registerBreachedCommand } from './breached-command.js';
import type { CliIo } from './context.js';

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');

describe('rekey breached', () => {
  let directory: string;
  let dataDir: string;
  let env: Record<string, string>;
  let listFile: string;
  // A prepared directory: an import into the set Rekey consults is audited in its database.
  let rekeyCli: CliTestRekey;
  const entryCount = 4_000;
  const malformedLine = 1_234;
  const passwords = Array.from({ length: entryCount }, (_, i) => `Leaked-Secret-${i}`);

  beforeAll(async () => {
    rekeyCli = await startCliTestRekey('sqlite', 'rekey-breached-cli-');
    directory = mkdtempSync(path.join(tmpdir(), 'rekey-breached-cli-'));
    dataDir = rekeyCli.env['REKEY_DATA_DIR'] ?? '';
    env = rekeyCli.env;
    // CRLF endings, mixed-case hex, a few blank lines and one malformed line, as a real download
    // damaged in transit might look.
    const lines = passwords.map((password, i) => {
      const hex = sha1(password);
      return `${i % 2 === 0 ? hex.toUpperCase() : hex}:${(i % 50) + 1}`;
    });
    lines.splice(malformedLine - 1, 0, 'this line is not a hash');
    lines.splice(10, 0, '');
    lines.splice(2_000, 0, '');
    listFile = path.join(directory, 'pwned-sha1.txt');
    writeFileSync(listFile, `${lines.join('\r\n')}\r\n`);
  });
  afterAll(async () => {
    rmSync(directory, { recursive: true, force: true });
    await rekeyCli?.close();
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

  /** The "Import breached password list" rows in the directory's audit log, oldest first. */
  async function importAudits() {
    const rows = await rekeyCli.rekey.db.kysely
      .selectFrom('directory_audits')
      .select([
        'category',
        'operation_type',
        'result',
        'initiated_by',
        'target_resources',
        'additional_details',
      ])
      .where('activity_display_name', '=', 'Import breached password list')
      .orderBy('activity_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      ...row,
      details: Object.fromEntries(
        (JSON.parse(row.additional_details) as { key: string; value: string }[]).map((d) => [d.key, d.value]),
      ),
    }));
  }

  /** The rules the running server's policy engine fails `password` on. */
  function serverFailures(password: string): string[] {
    return rekeyCli.rekey.policyEngine
      .evaluateWithoutHistory({
        password,
        operation: 'change',
        subject: {
          userPrincipalName: 'dana@example.com',
          displayName: 'Dana Whitfield',
          givenName: 'Dana',
          surname: 'Whitfield',
          passwordPolicies: null,
        },
        tenantName: 'Fabrikam',
        settings: {
          passwordPolicy: defaultPasswordPolicySettings,
          passwordProtection: defaultPasswordProtectionSettings,
        },
        now: new Date(),
      })
      .failures.map((failure) => failure.rule);
  }

  function expectFailure(run: CliRun, code: number, name: string): void {
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split('\n')[0]).toMatch(new RegExp(`^error ${code} ${name}: `));
  }

  it('explains itself with --help at every level', async () => {
    const top = await cli('breached', '--help');
    expect(top.code).toBe(0);
    for (const sub of ['import', 'info', 'test']) expect(top.out).toContain(sub);
    const importHelp = await cli('breached', 'import', '--help');
    for (const option of ['--expected', '--fp-rate', '--out', '--min-count', '--skip-invalid', '--json']) {
      expect(importHelp.out).toContain(option);
    }
    expect((await cli('breached', 'info', '--help')).out).toContain('--probes');
    expect((await cli('breached', 'test', '--help')).out).toContain('shell history');
    expect((await cli('--help')).out).toContain('breached');
  });

  it('stops at a malformed line, naming it, and writes nothing', async () => {
    const out = path.join(directory, 'strict.rkbf');
    const run = await cli('breached', 'import', listFile, '--out', out);
    expectFailure(run, 7700401, 'InvalidBreachedPasswordList');
    // Line numbers count the blank line inserted before it.
    expect(run.err).toContain(`Line ${malformedLine + 1} of pwned-sha1.txt is not a \`HASH:count\` entry`);
    expect(run.err).toContain('"problem":"hash"');
    expect(run.err).not.toContain('this line is not a hash');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(directory).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('imports with --skip-invalid, reports a JSON summary and finds every entry afterwards', async () => {
    const out = path.join(directory, 'lenient.rkbf');
    const run = await cli('breached', 'import', listFile, '--skip-invalid', '--out', out, '--json');
    expect(run.code, run.err).toBe(0);
    const summary = JSON.parse(run.out) as Record<string, unknown>;
    expect(summary).toMatchObject({
      input: listFile,
      out,
      lines: entryCount + 3,
      entries: entryCount,
      blankLines: 2,
      invalidLines: 1,
      firstInvalidLines: [malformedLine + 1],
      belowMinCount: 0,
      hashCount: 9,
      targetFalsePositiveRate: 0.001,
      warnings: [],
    });
    // Sized from the file: about 45 bytes per line, which this list's lines are too.
    expect(summary['expectedEntries']).toBe(Math.round(statSync(listFile).size / 45));
    expect(summary['theoreticalFalsePositiveRate']).toBeGreaterThan(0.0009);
    expect(summary['theoreticalFalsePositiveRate']).toBeLessThan(0.0011);
    const { filter, fileBytes } = await readFilterFile(out);
    expect(summary['fileBytes']).toBe(fileBytes);
    expect(filter.entries).toBe(entryCount);
    expect(filter.metadata.keyForm).toBe('exact');
    expect(filter.metadata.source).toContain('pwned-sha1.txt');
    expect(passwords.filter((password) => !filter.has(password))).toEqual([]);
  });

  it('applies --min-count, --expected and --fp-rate', async () => {
    const out = path.join(directory, 'frequent.rkbf');
    const run = await cli(
      'breached',
      'import',
      listFile,
      '--skip-invalid',
      '--out',
      out,
      '--min-count',
      '26',
      '--expected',
      '2000',
      '--fp-rate',
      '0.01',
      '--json',
    );
    expect(run.code, run.err).toBe(0);
    const summary = JSON.parse(run.out) as Record<string, unknown>;
    expect(summary).toMatchObject({
      entries: 2_000,
      belowMinCount: 2_000,
      expectedEntries: 2_000,
      hashCount: 6,
    });
    const { filter } = await readFilterFile(out);
    expect(filter.has('Leaked-Secret-25')).toBe(true); // count 26
    expect(filter.metadata.targetFalsePositiveRate).toBe(0.01);
  });

  it('warns when the list holds more entries than --expected', async () => {
    const run = await cli(
      'breached',
      'import',
      listFile,
      '--skip-invalid',
      '--out',
      path.join(directory, 'small.rkbf'),
      '--expected',
      '1000',
    );
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain('Warning: The list had more entries than expected');
    expect(run.out).toContain(`--expected ${entryCount}`);
  });

  it('does not audit a filter built elsewhere with --out', async () => {
    // The imports above all wrote to --out files that Rekey does not consult.
    expect(await importAudits()).toEqual([]);
  });

  it('refuses to import into the set in use when the import cannot be audited, before reading the list', async () => {
    const unprepared = path.join(directory, 'unprepared');
    const run = await runRekeyCli({ REKEY_DATA_DIR: unprepared, REKEY_LOG_LEVEL: 'error' }, [
      'breached',
      'import',
      listFile,
      '--skip-invalid',
    ]);
    expectFailure(run, 7700202, 'DatabaseUnavailable');
    expect(run.err).toContain('cannot be audited');
    expect(existsSync(importedBreachedSetFile(unprepared))).toBe(false);
  });

  it('writes to the data directory by default, audits it and prints a summary for people', async () => {
    // The running server does not know the list yet (see the reload test below).
    expect(serverFailures('Leaked-Secret-17')).not.toContain('breached');
    const run = await cli('breached', 'import', listFile, '--skip-invalid');
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(
      'Running Rekey servers using this data directory switch to it within a few seconds, without a restart',
    );
    expect(run.out).toMatch(/Exact index: .*imported\.rkbx, [\d.]+ KiB \(4,000 distinct SHA-1 hashes\)/);
    const [audit, ...more] = await importAudits();
    expect(more).toEqual([]);
    expect(audit).toMatchObject({ category: 'Policy', operation_type: 'Add', result: 'success' });
    expect(JSON.parse(audit?.initiated_by ?? '')).toEqual({
      user: null,
      app: { appId: null, displayName: 'Rekey' },
    });
    expect(JSON.parse(audit?.target_resources ?? '')).toMatchObject([
      { id: 'breachedPasswordList', type: 'Policy', displayName: 'Breached-password list' },
    ]);
    const { filter, fileBytes } = await readFilterFile(importedBreachedSetFile(dataDir));
    expect(audit?.details).toEqual({
      sourceName: 'pwned-sha1.txt',
      lines: '4003',
      entries: '4000',
      blankLines: '2',
      invalidLines: '1',
      belowMinCount: '0',
      minCount: '1',
      expectedEntries: String(Math.round(statSync(listFile).size / 45)),
      filterBytes: String(fileBytes),
      filterBits: String(filter.bits),
      hashCount: '9',
      targetFalsePositiveRate: '0.001',
      theoreticalFalsePositiveRate: String(filter.theoreticalFalsePositiveRate),
      replacedPreviousImport: 'false',
    });
    // Counts and sizes only: not one hash of the list, nor the rejected line.
    expect(audit?.additional_details).not.toMatch(/[0-9a-f]{40}/i);
    expect(audit?.additional_details).not.toContain('not a hash');
    expect(run.out).toContain('The import is in the audit log as "Import breached password list".');
    const target = importedBreachedSetFile(dataDir);
    expect(run.out).toContain(
      `Imported 4,000 entries from pwned-sha1.txt: 4,003 lines, 2 blank, 1 invalid and skipped (line ${malformedLine + 1}), 0 below --min-count.`,
    );
    expect(run.out).toMatch(/Filter: [\d.]+ KiB \(m = [\d,]+ bits, [\d.]+ per entry; k = 9\)/);
    expect(run.out).toContain('Theoretical false-positive rate: ');
    expect(run.out).toContain(`Written to ${target}.`);
    expect(existsSync(target)).toBe(true);
    // Importing again replaces the set in use: audited as an update of the list.
    expect((await cli('breached', 'import', listFile, '--skip-invalid', '--json')).code).toBe(0);
    const [, again] = await importAudits();
    expect(again).toMatchObject({ operation_type: 'Update', details: { replacedPreviousImport: 'true' } });
  });

  it('reaches the running server without a restart', async () => {
    // The server started before the import; it checks the files at most every 2 seconds.
    const deadline = Date.now() + 15_000;
    while (!serverFailures('Leaked-Secret-17').includes('breached') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(serverFailures('Leaked-Secret-17')).toContain('breached');
    expect(serverFailures('Leaked-Secret-3999')).toContain('breached');
    expect(serverFailures('Violet-Quarry-Lantern-58')).not.toContain('breached');
    expect(rekeyCli.rekey.logLines.some((line) => line.includes('breached-password set reloaded'))).toBe(
      true,
    );
  });

  it('tests passwords against the shipped and imported sets', async () => {
    // Exit 1 when the password is found, as `rekey policy test` exits 1 on a refusal.
    const imported = await cli('breached', 'test', 'Leaked-Secret-17', '--json');
    expect(imported.code, imported.err).toBe(1);
    expect(JSON.parse(imported.out)).toMatchObject({
      found: true,
      matches: ['imported'],
      consulted: ['shipped', 'imported'],
    });
    const famous = await cli('breached', 'test', 'Password');
    expect(famous.code).toBe(1);
    expect(famous.out).toContain('Found: this password is in the breached-password set (shipped).');
    expect(famous.out).toContain('never misses a listed password');
    const unknown = await cli('breached', 'test', 'Violet-Quarry-Lantern-58');
    expect(unknown.code).toBe(0);
    expect(unknown.out).toContain('Not found in the breached-password set (shipped and imported consulted).');
  });

  it('shows what the sets hold, with a measured false-positive rate', async () => {
    const run = await cli('breached', 'info', '--json', '--probes', '20000');
    expect(run.code, run.err).toBe(0);
    const { sets } = JSON.parse(run.out) as { sets: Record<string, unknown>[] };
    expect(sets.map((set) => set['kind'])).toEqual(['shipped', 'imported']);
    expect(sets[1]).toMatchObject({ entries: entryCount, keyForm: 'exact', formatVersion: 1 });
    expect(sets[1]?.['measured']).toMatchObject({ probes: 20_000 });
    const text = await cli('breached', 'info', importedBreachedSetFile(dataDir), '--probes', '1000');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('imported set: ');
    expect(text.out).toContain('entries: 4,000 (exact passwords)');
    expect(text.out).toMatch(/measured: \d+ of 1,000 random probes/);
  });

  it('reports a damaged filter with its catalog code', async () => {
    const bad = path.join(directory, 'bad.rkbf');
    writeFileSync(bad, 'E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D:5\n');
    const run = await cli('breached', 'info', bad);
    expectFailure(run, 7700402, 'InvalidBreachedPasswordFilter');
    expect(run.err).toContain('not a Rekey breached-password filter');
  });

  it('refuses bad options and missing input with catalog codes', async () => {
    expectFailure(
      await cli('breached', 'import', listFile, '--fp-rate', '2'),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(
      await cli('breached', 'import', listFile, '--fp-rate', 'often'),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(
      await cli('breached', 'import', listFile, '--expected', '0'),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(
      await cli('breached', 'import', listFile, '--min-count', '-3'),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(await cli('breached', 'info', '--probes', 'lots'), 7700001, 'RequestValidationFailed');
    const missing = await cli('breached', 'import', path.join(directory, 'nope.txt'));
    expectFailure(missing, 7700401, 'InvalidBreachedPasswordList');
    expect(missing.err).toContain('it does not exist');
    const json = await cli('breached', 'import', listFile, '--expected', 'x', '--json');
    expect(JSON.parse(json.err)).toMatchObject({ error: { code: 7700001, name: 'RequestValidationFailed' } });
  });
});

describe('rekey breached with a terminal', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'rekey-breached-tty-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function run(args: string[], stdin: Readable, progressTty?: PassThrough) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      env: { REKEY_DATA_DIR: dataDir },
    };
    const program = new Command('rekey').exitOverride();
    registerBreachedCommand(program, io, { stdin, progressTty });
    let exitCode = 0;
    try {
      await program.parseAsync(['node', 'rekey', ...args]);
    } catch (error) {
      // A found password ends the command with exit 1; anything else is a failure of the test.
      if (!(error instanceof CommanderError) || error.code !== 'rekey.passwordFound') throw error;
      exitCode = error.exitCode;
    }
    return { out: out.join('\n'), err: err.join('\n'), exitCode };
  }

  it('reads the password from standard input when it is not an argument', async () => {
    const result = await run(['breached', 'test', '--json'], Readable.from(['qwerty\r\n', 'ignored\n']));
    expect(JSON.parse(result.out)).toMatchObject({ found: true, matches: ['shipped'] });
    expect(result.exitCode).toBe(1);
    const absent = await run(['breached', 'test', '--json'], Readable.from(['Quiet-Walnut-Harbour-73']));
    expect(JSON.parse(absent.out)).toMatchObject({ found: false, matches: [] });
    expect(absent.exitCode).toBe(0);
    await expect(run(['breached', 'test'], Readable.from(['\n']))).rejects.toMatchObject({ code: 7700001 });
  });

  it('draws the progress bar on the terminal and ends it with a newline', async () => {
    const list = path.join(dataDir, 'list.txt');
    writeFileSync(list, `${sha1('abc')}:3\n${sha1('def')}:4\n`);
    const tty = new PassThrough();
    const drawn: string[] = [];
    tty.on('data', (chunk: Buffer) => drawn.push(chunk.toString()));
    await run(['breached', 'import', list, '--out', path.join(dataDir, 'out.rkbf')], Readable.from([]), tty);
    const last = drawn.at(-1) ?? '';
    expect(last.startsWith('\r[########################] 100.0%')).toBe(true);
    expect(last).toContain('2 entries');
    expect(last.endsWith('\x1b[K\n')).toBe(true);
  });

  it('formats a progress line with bytes, entries, rate and time left', () => {
    expect(
      formatProgress({
        bytes: 512 * 1024 ** 2,
        totalBytes: 2 * 1024 ** 3,
        entries: 12_000_000,
        elapsedMs: 4_000,
      }),
    ).toBe(
      '[######..................]  25.0%  512.0 MiB / 2.00 GiB  12,000,000 entries  3,000,000/s  0:12 left',
    );
  });

  it('reads a typed password without echo from a terminal', async () => {
    const keys = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode(mode: boolean): void };
    const modes: boolean[] = [];
    keys.isTTY = true;
    keys.setRawMode = (mode: boolean) => modes.push(mode);
    const prompts: string[] = [];
    const pending = readPasswordFrom(keys, (text) => prompts.push(text));
    keys.write('hunter3x\u007f2\r');
    expect(await pending).toBe('hunter32');
    expect(modes).toEqual([true, false]);
    expect(prompts).toEqual(['Password (not shown): ', '\n']);
  });
});
