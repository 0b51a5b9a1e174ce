import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.js';
import { bearer, type Json } from '../../../test/support/http-helpers.js';
import { answerSignInsAsEntra, startTestRekey, type TestRekey } from '../../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../../test/support/slapd.js';
import { type FixtureUser, fixtureUsers } from '../../../test/support/slapd-fixtures.js';
import { systemContext } from '../../platform/request-context.js';

/*
 * Pass-through sign-in against a real slapd, on both databases: a synced user's password is
 * checked by a bind as the user, so the directory's password, lockout and expiry decide, each with
 * its code and the directory's reason in the sign-in log; smart lockout stays in front, and a
 * directory that cannot be reached is neither a wrong password nor counted toward the lock. A
 * connector without writeback signs in the same way (the directory owns the password) and
 * refuses a change made in Rekey.
 */

describe.each(dialects)('pass-through sign-in against OpenLDAP on %s', (dialect) => {
  let slapd: TestSlapd;
  let rekey: TestRekey;
  let admin: string;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    rekey = await startTestRekey(dialect, { env: { REKEY_CHANGE_WAIT: '2' } });
    await answerSignInsAsEntra(rekey);
    admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    // Writeback off: the directory still owns (and checks) every synced user's password.
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, 'Read only office', {
        connectTimeoutMs: 1000,
        operationTimeoutMs: 500,
      }) as Json,
    });
    expect(created.statusCode, created.body).toBe(201);
    const synced = await rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/connectors/${String(created.json<Json>()['id'])}/sync`,
      headers: bearer(admin),
    });
    expect(synced.json<Json>()['result'], synced.body).toBe('success');
  });
  afterAll(async () => {
    await rekey?.close();
    await slapd?.close();
  });

  async function lastSignIn(user: FixtureUser) {
    return rekey.db.kysely
      .selectFrom('sign_ins')
      .select(['error_code', 'additional_details', 'user_id'])
      .where('upn_key', '=', user.mail)
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
  }

  async function failureCount(user: FixtureUser): Promise<number> {
    const found = await rekey.users.getUser(user.mail);
    const rows = await rekey.db.kysely
      .selectFrom('lockout_states')
      .select('failure_count')
      .where('user_id', '=', found.id)
      .execute();
    return rows.reduce((sum, row) => sum + row.failure_count, 0);
  }

  it("signs in with the directory's password; a wrong one is 50126 and counts toward smart lockout", async () => {
    const user = fixtureUsers.ann;
    expect(await rekey.signInCode(user.mail, user.password)).toBe(0);
    expect(await rekey.signInCode(user.mail, 'Wrong-Guess-Pass-1')).toBe(50126);
    expect(await failureCount(user)).toBe(1);
  });

  it('answers 50144 for a password expired on-premises, with the cause in the sign-in log', async () => {
    const user = fixtureUsers.pam;
    expect(await rekey.signInCode(user.mail, user.password)).toBe(50144);
    const row = await lastSignIn(user);
    expect(row.error_code).toBe(50144);
    expect(row.additional_details).toContain('passwordExpired');
  });

  it('answers 50053 for an account locked on-premises, with the cause in the sign-in log', async () => {
    const user = fixtureUsers.ned;
    expect(await rekey.signInCode(user.mail, user.password)).toBe(50053);
    const row = await lastSignIn(user);
    expect(row.error_code).toBe(50053);
    expect(row.additional_details).toContain('accountLocked');
    expect(await failureCount(user)).toBe(0);
  });

  it('answers 80001 while the directory is down and 80002 when it does not answer, counting neither', async () => {
    const user = fixtureUsers.ben;
    await slapd.stop();
    try {
      expect(await rekey.signInCode(user.mail, user.password)).toBe(80001);
    } finally {
      await slapd.start();
    }
    await slapd.pause();
    try {
      expect(await rekey.signInCode(user.mail, user.password)).toBe(80002);
    } finally {
      slapd.resume();
    }
    expect(await failureCount(user)).toBe(0);
    expect(await rekey.signInCode(user.mail, user.password)).toBe(0);
  });

  it('refuses a change when the connector does not write back (120008, cause 120015), leaving both sides as they were', async () => {
    const user = fixtureUsers.cat;
    const token = await rekey.signIn(user.mail, user.password);
    const response = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword: user.password, newPassword: 'Nimbus-Garden-71!' },
      headers: bearer(token),
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json<{ error: { innerError: Json } }>().error.innerError).toMatchObject({
      aadstsCode: 120008,
      causeCode: 120015,
    });
    expect(await rekey.signInCode(user.mail, user.password)).toBe(0);
    expect(await rekey.signInCode(user.mail, 'Nimbus-Garden-71!')).toBe(50126);
  });
});
