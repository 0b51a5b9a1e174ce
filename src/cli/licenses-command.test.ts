import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';

const p1 = '078d2b04-f1bd-4111-bbd4-b4b1b354cef4';
const p2 = '84a661c4-e949-4bd2-a560-ed7766fcaf2b';

describe.each(dialects)('rekey licenses on %s', (dialect) => {
  let rekey: TestRekey;
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-licenses-cli-');
    ({ rekey, env } = started);
    await rekey.createUser('carol', 'Quiet-Harbor-7!');
  });
  afterAll(async () => {
    await started?.close();
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

  async function auditNames(): Promise<string[]> {
    const rows = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'result'])
      .where('activity_display_name', 'in', ['Change user license', 'Update subscription'])
      .orderBy('activity_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => `${row.activity_display_name} ${row.result}`);
  }

  it('shows the subscriptions and who holds which licence', async () => {
    const subscriptions = await cli('licenses', 'subscriptions');
    expect(subscriptions.code, subscriptions.err).toBe(0);
    expect(subscriptions.out.split('\n')).toEqual([
      `AAD_PREMIUM  ${p1}  Enabled  2 of 1000000 units assigned; given to every new user`,
      '  AAD_PREMIUM  41781fb2-bc02-4b7c-bd55-b576c07bb09d  allows selfServicePasswordReset, passwordWriteback',
      '  MFA_PREMIUM  8a256a2b-b617-496d-b51b-e76466e88db0',
    ]);
    const json = JSON.parse((await cli('licenses', 'subscriptions', '--json')).out) as Array<
      Record<string, unknown>
    >;
    expect(json.map((sku) => [sku['skuPartNumber'], sku['consumedUnits']])).toEqual([['AAD_PREMIUM', 2]]);
    const list = await cli('licenses', 'list');
    expect(list.out.split('\n')).toEqual([
      'admin@example.com: AAD_PREMIUM',
      'carol@example.com: AAD_PREMIUM',
    ]);
  });

  it('adds a subscription, assigns and removes licences, each audited', async () => {
    const before = (await auditNames()).length;
    const set = await cli('licenses', 'subscriptions', 'set', 'AAD_PREMIUM_P2', '--units', '5');
    expect(set.code, set.err).toBe(0);
    expect(set.out).toContain(`AAD_PREMIUM_P2  ${p2}  Enabled  0 of 5 units assigned`);
    const assigned = await cli(
      'licenses',
      'assign',
      'carol@example.com',
      'aad_premium_p2',
      '--disable-plan',
      'MFA_PREMIUM',
    );
    expect(assigned.code, assigned.err).toBe(0);
    expect(assigned.out.split('\n')[0]).toBe(
      'carol@example.com now holds: AAD_PREMIUM, AAD_PREMIUM_P2 (off: MFA_PREMIUM).',
    );
    const removed = await cli('licenses', 'remove', 'carol@example.com', p1, '--json');
    expect(JSON.parse(removed.out)).toMatchObject({
      userPrincipalName: 'carol@example.com',
      assignedLicenses: [{ skuId: p2, disabledPlans: ['8a256a2b-b617-496d-b51b-e76466e88db0'] }],
    });
    expect((await auditNames()).slice(before)).toEqual([
      'Update subscription success',
      'Change user license success',
      'Change user license success',
    ]);
  });

  it('explains every refusal with its catalog code, and writes the refusal’s audit row', async () => {
    const before = (await auditNames()).length;
    const notHeld = await cli('licenses', 'remove', 'carol@example.com', 'AAD_PREMIUM');
    expect(notHeld.code).toBe(1);
    expect(notHeld.err).toContain('error 7701005 LicenseNotAssigned');
    expect((await auditNames()).slice(before)).toEqual(['Change user license failure']);
    const unknownSku = await cli('licenses', 'assign', 'carol@example.com', 'ENTERPRISEPACK');
    expect(unknownSku.code).toBe(1);
    expect(unknownSku.err).toContain('error 7700001');
    expect(unknownSku.err).toContain('AAD_PREMIUM_P2');
    const badPlan = await cli(
      'licenses',
      'assign',
      'carol@example.com',
      'AAD_PREMIUM',
      '--disable-plan',
      'EXCHANGE',
    );
    expect(badPlan.err).toContain('--disable-plan must be a service plan of the SKU');
    const nothing = await cli('licenses', 'subscriptions', 'set', 'AAD_PREMIUM');
    expect(nothing.err).toContain('Nothing to set');
    const badStatus = await cli('licenses', 'subscriptions', 'set', 'AAD_PREMIUM', '--status', 'Paused');
    expect(badStatus.err).toContain('--status must be one of Enabled, Warning, Suspended, LockedOut');
    await cli('licenses', 'subscriptions', 'set', 'AAD_PREMIUM_P2', '--units', '1');
    const exhausted = await cli('licenses', 'assign', 'admin@example.com', 'AAD_PREMIUM_P2');
    expect(exhausted.code).toBe(1);
    expect(exhausted.err).toContain('error 7701002 LicenseUnitsExhausted');
  });
});
