import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { defaultSmartLockoutSettings } from '../lockout/lockout-policy.js';
import { systemContext } from '../platform/request-context.js';

describe.each(dialects)('rekey lockout on %s', (dialect) => {
  let rekey: TestRekey;
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-lockout-cli-');
    ({ rekey, env } = started);
  });
  afterAll(async () => {
    await started?.close();
  });
  afterEach(async () => {
    await rekey.settings.updateSmartLockout(systemContext('cli-test-reset'), defaultSmartLockoutSettings);
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

  async function audits() {
    return rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'initiated_by', 'target_resources'])
      .where('activity_display_name', '=', 'Update smart lockout policy')
      .orderBy('activity_at')
      .orderBy('id')
      .execute();
  }

  it('shows the settings in effect, as text and as JSON', async () => {
    const shown = await cli('lockout', 'show');
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out.split('\n')).toEqual([
      'Smart lockout',
      '  lockoutThreshold: 10',
      '  lockoutDurationInSeconds: 60',
      '  each further lockout in a row lasts twice as long, at most 1920 s',
    ]);
    const json = await cli('lockout', 'show', '--json');
    expect(JSON.parse(json.out)).toEqual({ lockoutThreshold: 10, lockoutDurationInSeconds: 60 });
    expect((await cli('lockout', '--help')).out).toMatch(/show[\s\S]*set/);
  });

  it('changes the threshold and duration, audited as "Update smart lockout policy" by Rekey', async () => {
    const before = (await audits()).length;
    const set = await cli('lockout', 'set', '--threshold', '5', '--duration', '120');
    expect(set.code, set.err).toBe(0);
    expect(set.out.split('\n')).toEqual([
      '  lockoutThreshold: 10 -> 5',
      '  lockoutDurationInSeconds: 60 -> 120',
      'Applied. The change is in the audit log as "Update smart lockout policy".',
    ]);
    expect(await rekey.settings.getSmartLockout()).toEqual({
      lockoutThreshold: 5,
      lockoutDurationInSeconds: 120,
    });
    const rows = await audits();
    expect(rows).toHaveLength(before + 1);
    const last = rows.at(-1);
    expect(JSON.parse(last?.initiated_by ?? '{}')).toEqual({
      user: null,
      app: { appId: null, displayName: 'Rekey' },
    });
    expect(JSON.parse(last?.target_resources ?? '[]')[0]).toMatchObject({
      id: 'smartLockout',
      modifiedProperties: [
        { displayName: 'lockoutThreshold', oldValue: '10', newValue: '5' },
        { displayName: 'lockoutDurationInSeconds', oldValue: '60', newValue: '120' },
      ],
    });

    const json = await cli('lockout', 'set', '--threshold', '7', '--json');
    expect(JSON.parse(json.out)).toEqual({
      smartLockout: { lockoutThreshold: 7, lockoutDurationInSeconds: 120 },
      changes: [{ field: 'lockoutThreshold', oldValue: 5, newValue: 7 }],
    });
    const same = await cli('lockout', 'set', '--threshold', '7');
    expect(same.out).toBe('No change: the settings already have these values.');
    expect(await audits()).toHaveLength(before + 2);
  });

  it('refuses bad values and an empty set, naming the problem, and changes nothing', async () => {
    for (const [args, text] of [
      // Named by the option typed, not by the API's field (lockoutThreshold).
      [['--threshold', '0'], '--threshold must be a whole number from 1 to 100'],
      [['--duration', 'soon'], '--duration must be a whole number from 5 to 86400'],
      [[], 'Nothing to set: give --threshold, --duration or both.'],
    ] as const) {
      const run = await cli('lockout', 'set', ...args);
      expect(run.code).toBe(1);
      expect(run.out).toBe('');
      expect(run.err.split('\n')[0]).toMatch(/^error 7700001 RequestValidationFailed: /);
      expect(run.err).toContain(text);
      expect(run.err).not.toMatch(/body\/|lockoutThreshold|lockoutDurationInSeconds|send the request/);
    }
    const json = await cli('lockout', 'set', '--threshold', '500', '--json');
    expect(JSON.parse(json.err)).toMatchObject({ error: { code: 7700001 } });
    expect(await rekey.settings.getSmartLockout()).toEqual(defaultSmartLockoutSettings);
  });
});
