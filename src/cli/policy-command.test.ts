import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import {
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
} from '../passwords/policy/index.js';
import { systemContext } from '../platform/request-context.js';
import { updateUser } from '../users/user-store.js';
import type { CliIo } from './context.js';
import { registerPolicyCommand } from './policy-command.js';

const dayMs = 24 * 60 * 60 * 1000;

describe.each(dialects)('rekey policy on %s', (dialect) => {
  let rekey: TestRekey;
  let started: CliTestRekey | undefined;
  let sqliteDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-policy-cli-');
    ({ rekey, env, dir: sqliteDir } = started);
  });
  afterAll(async () => {
    await started?.close();
  });
  afterEach(async () => {
    const context = systemContext('cli-test-reset');
    await rekey.settings.updatePasswordPolicy(context, defaultPasswordPolicySettings);
    await rekey.settings.updatePasswordProtection(context, defaultPasswordProtectionSettings);
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

  /** Runs `rekey <args>` with a terminal the test controls (for prompts and stdin). */
  async function withTerminal(args: string[], stdin: Readable, interactive: boolean) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (text) => out.push(text), err: (text) => err.push(text), env };
    const program = new Command('rekey').exitOverride();
    registerPolicyCommand(program, io, { stdin, interactive });
    let code = 0;
    try {
      await program.parseAsync(['node', 'rekey', ...args]);
    } catch (error) {
      if (!(error instanceof CommanderError)) throw error;
      code = error.exitCode;
    }
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('explains itself with --help', async () => {
    const policy = await cli('policy', '--help');
    expect(policy.code).toBe(0);
    for (const sub of ['show', 'set', 'protection', 'test']) expect(policy.out).toContain(sub);
    const set = await cli('policy', 'set', '--help');
    for (const flag of ['--min-length', '--maximum-age-days', '--history-on-change', '--yes', '--json']) {
      expect(set.out).toContain(flag);
    }
    expect((await cli('policy', 'protection', 'set', '--help')).out).toContain('--add-term');
    expect((await cli('policy', 'test', '--help')).out).toContain('--user');
  });

  it('shows both settings documents, as text and as JSON', async () => {
    const json = await cli('policy', 'show', '--json');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toEqual({
      passwordPolicy: defaultPasswordPolicySettings,
      passwordProtection: defaultPasswordProtectionSettings,
    });
    const text = await cli('policy', 'show');
    expect(text.out).toContain('Password policy');
    expect(text.out).toContain('  maximumAgeDays: never');
    expect(text.out).toContain('  mode: Enforced');
  });

  it('set shows the preview, and without a terminal or --yes applies nothing (7700012, exit 1)', async () => {
    const old = await rekey.createUser('cli.old', 'Saffron-Ridge-19!');
    await updateUser(rekey.db.kysely, old.id, {
      last_password_change_at: new Date(Date.now() - 45 * dayMs).toISOString(),
    });
    const refused = await cli('policy', 'set', '--maximum-age-days', '30');
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('maximumAgeDays: never -> 30');
    expect(refused.out).toContain('passwords that would expire at once: 1');
    expect(refused.out).toContain('    cli.old@example.com');
    expect(refused.err.split('\n')[0]).toMatch(/^error 7700012 ConfirmationRequired: .*--yes/);
    expect((await rekey.settings.getPasswordPolicy()).maximumAgeDays).toBeNull();

    const applied = await cli('policy', 'set', '--maximum-age-days', '30', '--yes', '--json');
    expect(applied.code, applied.err).toBe(0);
    const body = JSON.parse(applied.out);
    expect(body).toMatchObject({
      preview: { impact: { usersExpiredImmediately: 1, sample: ['cli.old@example.com'] } },
      applied: true,
      passwordPolicy: { maximumAgeDays: 30 },
    });
    expect((await rekey.settings.getPasswordPolicy()).maximumAgeDays).toBe(30);
    expect(await rekey.signInCode('cli.old@example.com', 'Saffron-Ridge-19!')).toBe(50055);
    const audit = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'initiated_by_user_id', 'target_resources'])
      .where('activity_display_name', '=', 'Update password policy')
      .execute();
    expect(
      audit.some((row) => row.initiated_by_user_id === null && row.target_resources.includes('"30"')),
    ).toBe(true);

    const never = await cli('policy', 'set', '--maximum-age-days', 'never', '--yes');
    expect(never.code, never.err).toBe(0);
    expect(never.out).toContain('expired passwords that would work again: 1');
    expect(never.out).toContain('Applied.');
  });

  it('asks on a terminal and applies only on yes', async () => {
    const declined = await withTerminal(
      ['policy', 'set', '--min-length', '12'],
      Readable.from(['n\n']),
      true,
    );
    expect(declined.code).toBe(1);
    expect(declined.err).toContain('Apply this change? [y/N]');
    expect(declined.err).toContain('Not applied');
    expect((await rekey.settings.getPasswordPolicy()).minLength).toBe(8);
    const accepted = await withTerminal(
      ['policy', 'set', '--min-length', '12'],
      Readable.from(['y\n']),
      true,
    );
    expect(accepted.code, accepted.err).toBe(0);
    expect(accepted.out).toContain('minLength: 8 -> 12');
    expect(accepted.out).toContain('minLength apply from each user');
    expect((await rekey.settings.getPasswordPolicy()).minLength).toBe(12);
  });

  it('refuses bad values and an empty set with 7700001 naming the option', async () => {
    const bad = await cli('policy', 'set', '--min-length', '2', '--maximum-age-days', 'soon', '--yes');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(
      /^error 7700001 RequestValidationFailed: .*--min-length must be a whole number from 4 to 256/,
    );
    expect(bad.err).toContain('--maximum-age-days must be a whole number from 1 to 730, or never');
    expect(bad.err).not.toMatch(/body\/|minLength|maximumAgeDays|send the request/);
    const empty = await cli('policy', 'set', '--yes');
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/^error 7700001 .*Nothing to set/);
  });

  it('edits Password Protection: terms added and removed, mode, with the preview', async () => {
    const file = path.join(sqliteDir, `terms-${dialect}.txt`);
    writeFileSync(file, '# banned here\ncontoso\nfabrikam\n\nnorthwind\n');
    const replaced = await cli(
      'policy',
      'protection',
      'set',
      '--terms-file',
      file,
      '--mode',
      'audit',
      '--yes',
    );
    expect(replaced.code, replaced.err).toBe(0);
    expect(replaced.out).toContain('custom banned terms: 0 -> 3 (3 added, 0 removed)');
    const edited = await cli(
      'policy',
      'protection',
      'set',
      '--add-term',
      'tailspin',
      '--remove-term',
      'FABRIKAM',
      '--yes',
      '--json',
    );
    expect(edited.code, edited.err).toBe(0);
    expect(JSON.parse(edited.out)).toMatchObject({
      applied: true,
      passwordProtection: { mode: 'Audit', customBannedPasswords: ['contoso', 'northwind', 'tailspin'] },
    });
    const shown = JSON.parse((await cli('policy', 'protection', 'show', '--json')).out);
    expect(shown).toMatchObject({
      mode: 'Audit',
      customBannedPasswords: ['contoso', 'northwind', 'tailspin'],
    });
    const tooShort = await cli('policy', 'protection', 'set', '--add-term', 'abc', '--yes');
    expect(tooShort.code).toBe(1);
    expect(tooShort.err).toContain('--add-term (or a line of --terms-file) must be 4 to 16 characters');
    expect(tooShort.err).not.toMatch(/body\/|customBannedPasswords/);
  });

  it('tests a password: every failing rule and the score, exit 1 when rejected', async () => {
    const rejected = await cli('policy', 'test', 'Qx7!vKw', '--json');
    expect(rejected.code).toBe(1);
    expect(JSON.parse(rejected.out)).toMatchObject({
      valid: false,
      failures: [{ rule: 'length', code: 120002 }],
      passwordProtection: { required: 5 },
    });
    const accepted = await cli('policy', 'test', 'Cobalt-Meadow-62!');
    expect(accepted.code, accepted.err).toBe(0);
    expect(accepted.out).toContain('Accepted');
    expect(accepted.out).toMatch(/Password Protection: \d+ of 5 points \(Enforced\)/);

    await rekey.createUser('cli.tester', 'Saffron-Ridge-19!', {
      surname: 'Valeworth',
      displayName: 'Cli Tester',
    });
    const named = await cli('policy', 'test', 'valeworth', '--user', 'cli.tester@example.com');
    expect(named.code).toBe(1);
    expect(named.out.split('\n')[0]).toBe(
      'Rejected (AADSTS120002 PasswordChangeInvalidNewPasswordWeak): 3 rules failed.',
    );
    for (const rule of ['characterCategories', 'containsUserName', 'passwordProtection']) {
      expect(named.out).toContain(`  - ${rule} (`);
    }
    expect(named.out).toContain('Password Protection: 1 of 5 points (Enforced); found valeworth (userName).');
    // History: the current password is never compared by a dry run, an older one is.
    const deeper = await cli('policy', 'set', '--history-on-change', '3', '--yes');
    expect(deeper.code, deeper.err).toBe(0);
    const reset = await cli(
      'users',
      'set-password',
      'cli.tester@example.com',
      '--password',
      'Juniper-Tide-47!',
    );
    expect(reset.code, reset.err).toBe(0);
    const checkHistory = (password: string) =>
      cli('policy', 'test', password, '--user', 'cli.tester@example.com', '--check-history');
    const older = await checkHistory('Saffron-Ridge-19!');
    expect(older.code).toBe(1);
    expect(older.out).toContain('  - history (120002)');
    const current = await checkHistory('Juniper-Tide-47!');
    expect(current.code, current.out).toBe(0);
  });

  it('reads the password to test from standard input when it is not an argument', async () => {
    const piped = await withTerminal(['policy', 'test', '--json'], Readable.from(['Ncc1701d\n']), false);
    expect(piped.code).toBe(1);
    expect(JSON.parse(piped.out)).toMatchObject({
      valid: false,
      failures: [{ rule: 'breached', code: 120002 }],
    });
  });

  it('runs users set-password through the same engine', async () => {
    await rekey.createUser('cli.reset', 'Saffron-Ridge-19!');
    const breached = await cli('users', 'set-password', 'cli.reset@example.com', '--password', 'Ncc1701d');
    expect(breached.code).toBe(1);
    expect(breached.err.split('\n')[0]).toMatch(/^error 120002 PasswordChangeInvalidNewPasswordWeak: /);
    expect(breached.err).toContain('"rule":"breached"');
    const generated = await cli('users', 'set-password', 'cli.reset@example.com', '--json');
    expect(generated.code, generated.err).toBe(0);
    expect(JSON.parse(generated.out)).toMatchObject({
      status: 'succeeded',
      generatedPassword: expect.any(String),
    });
  });
});
