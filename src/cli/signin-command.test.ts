import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { defaultSignInSettings } from '../auth/sign-in-disclosure.js';
import { systemContext } from '../platform/request-context.js';

describe.each(dialects)('rekey signin on %s', (dialect) => {
  let rekey: TestRekey;
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-signin-cli-');
    ({ rekey, env } = started);
  });
  afterAll(async () => {
    await started?.close();
  });
  afterEach(async () => {
    await rekey.settings.updateSignIn(systemContext('cli-test-reset'), defaultSignInSettings);
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

  async function auditCount(): Promise<number> {
    const rows = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select('id')
      .where('activity_display_name', '=', 'Update sign-in error disclosure policy')
      .execute();
    return rows.length;
  }

  it('shows the mode in effect, uniform by default, as text and as JSON', async () => {
    const shown = await cli('signin', 'show');
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out.split('\n')[1]).toBe('  signInErrorDisclosure: uniform');
    const json = await cli('signin', 'show', '--json');
    expect(JSON.parse(json.out)).toEqual({ signInErrorDisclosure: 'uniform' });
  });

  it('changes the mode through the settings service, audited once; the same value again changes nothing', async () => {
    const before = await auditCount();
    const set = await cli('signin', 'set', '--disclosure', 'entraCompatible');
    expect(set.code, set.err).toBe(0);
    expect(set.out.split('\n')[0]).toBe('  signInErrorDisclosure: "uniform" -> "entraCompatible"');
    expect((await rekey.settings.getSignIn()).signInErrorDisclosure).toBe('entraCompatible');
    expect(await auditCount()).toBe(before + 1);

    const again = await cli('signin', 'set', '--disclosure', 'entraCompatible');
    expect(again.out).toBe('No change: the setting already has this value.');
    expect(await auditCount()).toBe(before + 1);
  });

  it('refuses an unknown mode naming the option typed, and changes nothing', async () => {
    const set = await cli('signin', 'set', '--disclosure', 'loose');
    expect(set.code).toBe(1);
    expect(set.err).toContain('--disclosure');
    expect(set.err).toContain('uniform, entraCompatible');
    expect(set.err).not.toContain('body/');
    expect((await rekey.settings.getSignIn()).signInErrorDisclosure).toBe('uniform');
  });
});
