import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { passwordGrant } from '../../test/support/rekey-harness.js';
import { readZip } from '../platform/archive/zip-writer.js';
import { systemContext } from '../platform/request-context.js';

/*
 * `rekey diagnose` and `rekey support-bundle` on the database `rekey serve` uses: a disabled
 * user's refused sign-in is diagnosed in words (verdict, evidence, fix), in Markdown and in JSON,
 * and bundled into an archive unzip accepts; bad flags get a catalog code.
 */
describe.each(dialects)('rekey diagnose on %s', (dialect) => {
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;
  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);
  const password = 'Cli-Canary-Pass-58!';

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-diagnose-cli-');
    env = started.env;
    const { rekey } = started;
    const user = await rekey.createUser('cli-disabled', password);
    await rekey.users.updateUser(systemContext('cli-test'), user.id, { accountEnabled: false });
    await rekey.tokenRequest(passwordGrant(user.userPrincipalName, password), {
      'client-request-id': 'cli-diag-1',
    });
  });
  afterAll(async () => started?.close());

  it('puts the verdict first, then the evidence, then the fix', async () => {
    const run = await cli('diagnose', '--user', 'cli-disabled@example.com');
    expect(run.code, run.err).toBe(0);
    const text = run.out;
    expect(text.startsWith('VERDICT: AADSTS50057 UserDisabled')).toBe(true);
    const [verdict, evidence, fix] = ['VERDICT:', 'EVIDENCE', 'FIX:'].map((h) => text.indexOf(h));
    expect(verdict).toBeLessThan(evidence ?? 0);
    expect(evidence).toBeLessThan(fix ?? 0);
    expect(text).toContain('The account is disabled (accountEnabled is false).');
    expect(text).toContain('rekey users enable <upn>');
    expect(text).not.toContain(password);
  });

  it('answers by correlation ID in JSON and by code in Markdown', async () => {
    const json = await cli('diagnose', '--correlation-id', 'cli-diag-1', '--format', 'json');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ verdict: { code: 50057 }, scope: { usersAffected: 1 } });
    const markdown = await cli('diagnose', '--code', 'AADSTS50057', '--since', '1h', '--format', 'markdown');
    expect(markdown.code, markdown.err).toBe(0);
    expect(markdown.out).toMatch(/^# Verdict: AADSTS50057 UserDisabled/);
    expect(markdown.out).toContain('## Fix');
  });

  it('refuses no selector, a bad code, a bad window and a bad format with catalog codes', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['diagnose'], /7700001/],
      [['diagnose', '--code', 'abc'], /7700001/],
      [['diagnose', '--code', '424242'], /7700001/],
      [['diagnose', '--user', 'a@example.com', '--since', 'yesterday'], /7700601/],
      [['diagnose', '--user', 'a@example.com', '--format', 'html'], /7700001/],
      [['support-bundle', '--user', 'a@example.com'], /7700001/],
    ];
    for (const [args, code] of cases) {
      const run = await cli(...args);
      expect(run.code, args.join(' ')).not.toBe(0);
      expect(run.err, args.join(' ')).toMatch(code);
      expect(run.err).not.toMatch(/\n\s+at /);
    }
  });

  it('writes a support bundle unzip accepts, mode 0600, without the password', async () => {
    const file = path.join(started?.dir ?? '', 'bundle.zip');
    const run = await cli('support-bundle', '--user', 'cli-disabled@example.com', '-o', file);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(execFileSync('unzip', ['-t', file], { encoding: 'utf8' })).toContain('No errors detected');
    const entries = readZip(readFileSync(file));
    expect(entries.map((e) => e.name)).toContain('manifest.json');
    const text = entries.find((e) => e.name === 'diagnose.txt')?.data.toString('utf8') ?? '';
    expect(text).toMatch(/^VERDICT: AADSTS50057/);
    for (const entry of entries) expect(entry.data.toString('utf8')).not.toContain(password);
  });

  it('says in its help what it takes', async () => {
    const help = await cli('diagnose', '--help');
    for (const flag of ['--user', '--correlation-id', '--code', '--since', '--format'])
      expect(help.out).toContain(flag);
    const bundle = await cli('support-bundle', '--help');
    for (const flag of ['--user', '--correlation-id', '--code', '--since', '-o, --output'])
      expect(bundle.out).toContain(flag);
  });
});
