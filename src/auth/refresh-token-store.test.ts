import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { findRefreshTokenForGrant, insertRefreshToken, spendRefreshToken } from './refresh-token-store.js';

describe.each(dialects)('refresh token store on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  it('finds a token by its hash and lets exactly one of several concurrent spends win', async () => {
    const user = await rekey.createUser('refresh.store', 'Quiet-Harbor-7!');
    const id = randomUUID();
    const hash = 'a'.repeat(64);
    await insertRefreshToken(rekey.db.kysely, {
      id,
      user_id: user.id,
      client_id: 'client',
      token_hash: hash,
      session_version: 3,
      created_at: '2030-01-01T00:00:00.000Z',
      expires_at: '2030-01-02T00:00:00.000Z',
      revoked_at: null,
      family_id: id,
    });
    expect(await findRefreshTokenForGrant(rekey.db.kysely, hash)).toEqual({
      id,
      user_id: user.id,
      client_id: 'client',
      session_version: 3,
      expires_at: '2030-01-02T00:00:00.000Z',
      revoked_at: null,
      family_id: id,
    });
    expect(await findRefreshTokenForGrant(rekey.db.kysely, 'b'.repeat(64))).toBeUndefined();

    const at = '2030-01-01T01:00:00.000Z';
    const spends = await Promise.all(
      Array.from({ length: 4 }, () => spendRefreshToken(rekey.db.kysely, id, at)),
    );
    expect(spends.filter(Boolean)).toHaveLength(1);
    expect((await findRefreshTokenForGrant(rekey.db.kysely, hash))?.revoked_at).toBe(at);
    expect(await spendRefreshToken(rekey.db.kysely, id, at)).toBe(false);
  });
});
