import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, dialects } from '../../../test/support/databases.js';
import { cliClientId, startTestRekey, type TestRekey } from '../../../test/support/rekey-harness.js';

/**
 * A Rekey started with stronger argon2 settings over a database whose hashes were made with the
 * old ones upgrades each hash at the user's next successful sign-in, and only then.
 */
describe.each(dialects)('argon2 rehash at sign-in on %s', (dialect) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-rehash-'));
  const shared: Record<string, string> = { REKEY_SECRET_KEY: randomBytes(32).toString('base64') };
  let upgraded: TestRekey;
  let userId = '';

  beforeAll(async () => {
    shared['REKEY_DATABASE_URL'] =
      dialect === 'sqlite' ? `sqlite:${path.join(dir, 'rekey.sqlite')}` : await createPostgresDatabase();
    const original = await startTestRekey(dialect, { env: shared });
    try {
      userId = (await original.createUser('rehash.me', 'Willow-Brook-31!')).id;
    } finally {
      await original.close();
    }
    upgraded = await startTestRekey(dialect, {
      env: { ...shared, REKEY_ARGON2_MEMORY_KIB: '2048', REKEY_ARGON2_ITERATIONS: '2' },
    });
  });
  afterAll(async () => {
    await upgraded?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const storedHash = async () =>
    (
      await upgraded.db.kysely
        .selectFrom('credentials')
        .select('password_hash')
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow()
    ).password_hash;

  const signIn = async (password: string) => {
    const response = await upgraded.app.inject({
      method: 'POST',
      url: '/example.com/oauth2/v2.0/token',
      payload: new URLSearchParams({
        grant_type: 'password',
        client_id: cliClientId,
        username: 'rehash.me@example.com',
        password,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    return response.statusCode;
  };

  it('keeps the old hash on a failed sign-in and replaces it on a successful one', async () => {
    const old = await storedHash();
    expect(old).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);

    expect(await signIn('Willow-Brook-32!')).toBe(400);
    expect(await storedHash()).toBe(old);

    expect(await signIn('Willow-Brook-31!')).toBe(200);
    const rehashed = await storedHash();
    expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=2048,t=2,p=1\$/);

    // The new hash verifies the same password, and is not redone at the next sign-in.
    expect(await signIn('Willow-Brook-31!')).toBe(200);
    expect(await storedHash()).toBe(rehashed);
    expect(await signIn('Willow-Brook-32!')).toBe(400);
  });
});
