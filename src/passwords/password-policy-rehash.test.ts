import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects, freshDatabaseUrl } from '../../test/support/databases.js';
import { bearer, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import type { DialectName } from '../platform/db/database.js';

/*
 * The evaluate dry run never compares a guess with the user's current password, however that
 * password's hash was produced: after a restart with other argon2 parameters a sign-in rehashes
 * the current password, and the dry run must still leave it out (issue 9, item 1). Each test
 * restarts Rekey over the same database, as an operator changing REKEY_ARGON2_ITERATIONS does.
 */

const first = 'Saffron-Ridge-19!';
const second = 'Cobalt-Meadow-62!';

describe.each(dialects)('the history dry run after a hash-parameter change on %s', (dialect) => {
  const running: TestRekey[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((rekey) => rekey.close()));
  });

  async function databaseUrl(name: DialectName): Promise<string> {
    return name === 'sqlite'
      ? `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'rekey-rehash-')), 'rekey.sqlite')}`
      : freshDatabaseUrl(name);
  }

  async function start(env: Record<string, string>): Promise<TestRekey> {
    const rekey = await startTestRekey(dialect, { env });
    running.push(rekey);
    return rekey;
  }

  async function call(rekey: TestRekey, method: 'POST' | 'PATCH', url: string, payload: object) {
    return rekey.app.inject({ method, url, payload, headers: bearer(await rekey.adminToken()) });
  }

  async function hashesOf(rekey: TestRekey, userId: string) {
    const credential = await rekey.db.kysely
      .selectFrom('credentials')
      .select('password_hash')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    const history = await rekey.db.kysely
      .selectFrom('password_history')
      .select('password_hash')
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return { current: credential.password_hash, history: history.map((row) => row.password_hash) };
  }

  /** Starts Rekey at one iteration, lets `prepare` set up a user, restarts it at three. */
  async function restartedWithOtherParameters(prepare: (rekey: TestRekey) => Promise<string>) {
    const url = await databaseUrl(dialect);
    // One key across the restart, so the signing key stored by the first start still opens.
    const secretKey = randomBytes(32).toString('base64');
    const before = await start({ REKEY_DATABASE_URL: url, REKEY_SECRET_KEY: secretKey });
    const userId = await prepare(before);
    await before.close();
    running.splice(running.indexOf(before), 1);
    const after = await start({
      REKEY_DATABASE_URL: url,
      REKEY_SECRET_KEY: secretKey,
      REKEY_ARGON2_ITERATIONS: '3',
    });
    return { rekey: after, userId };
  }

  it('rehashes the history entry with the password, and never answers "history" for the current password', async () => {
    const { rekey, userId } = await restartedWithOtherParameters(async (before) => {
      const user = await before.createUser('rehash.one', first);
      return user.id;
    });
    expect(await rekey.signInCode('rehash.one@example.com', first)).toBe(0);
    const { current, history } = await hashesOf(rekey, userId);
    expect(current).toContain(',t=3,');
    // The rehash kept the history consistent: its newest entry is the current hash.
    expect(history).toEqual([current]);

    const evaluated = await call(rekey, 'POST', '/rekey/v1/passwordPolicy/evaluate', {
      password: first,
      userId,
      checkHistory: true,
    });
    expect(evaluated.statusCode, evaluated.body).toBe(200);
    expect(evaluated.json<Json>()).toMatchObject({ valid: true, failures: [] });
  });

  it('leaves the current password out even where an older entry holds it too', async () => {
    const { rekey, userId } = await restartedWithOtherParameters(async (before) => {
      const user = await before.createUserWithToken('rehash.two', first);
      // first -> second -> first: the oldest entry is the current password, hashed apart.
      const toSecond = await before.app.inject({
        method: 'POST',
        url: '/v1.0/me/changePassword',
        headers: bearer(user.token),
        payload: { currentPassword: first, newPassword: second },
      });
      expect(toSecond.statusCode, toSecond.body).toBe(204);
      const token = await before.signIn('rehash.two@example.com', second);
      const back = await before.app.inject({
        method: 'POST',
        url: '/v1.0/me/changePassword',
        headers: bearer(token),
        payload: { currentPassword: second, newPassword: first },
      });
      expect(back.statusCode, back.body).toBe(204);
      return user.id;
    });
    const code = await rekey.signInCode('rehash.two@example.com', first);
    if (code !== 0) console.log(rekey.logLines.slice(-30).join('\n'));
    expect(code).toBe(0);
    const settings = await call(rekey, 'PATCH', '/rekey/v1/settings/passwordPolicy', {
      historyCountOnChange: 3,
    });
    expect(settings.statusCode, settings.body).toBe(200);
    const evaluate = (password: string) =>
      call(rekey, 'POST', '/rekey/v1/passwordPolicy/evaluate', { password, userId, checkHistory: true });
    // The current password, though the oldest entry holds it: not compared.
    expect((await evaluate(first)).json<Json>()).toMatchObject({ valid: true, failures: [] });
    // An older password that is not the current one is still found.
    expect((await evaluate(second)).json<Json>()).toMatchObject({
      valid: false,
      failures: [{ rule: 'history', code: 120002 }],
    });
  });
});
