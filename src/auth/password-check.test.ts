import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingHasher } from '../../test/support/counting-hasher.js';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { getForPasswordCheck } from '../users/user-store.js';
import { createPasswordCheck, createStoredHashVerifier, type PasswordCheck } from './password-check.js';

/**
 * The one password check behind sign-in and both change paths. Its timing promise lives here:
 * every outcome spends exactly one argon2 verification, so an unknown account, one without a
 * password, a wrong and a right password, and a locked account cost the same.
 */
describe.each(dialects)('the password check on %s', (dialect) => {
  let rekey: TestRekey;
  const counting = countingHasher();
  const { verified } = counting;
  let check: PasswordCheck;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    check = createPasswordCheck({ verifier: createStoredHashVerifier(counting), lockout: rekey.lockout });
  });
  afterAll(async () => rekey?.close());

  async function subject(alias: string, password = 'Amber-Lantern-8!') {
    const user = await rekey.createUser(alias, password);
    const row = await getForPasswordCheck(rekey.db.kysely, rekey.tenant.id, { id: user.id });
    if (!row) throw new Error('user missing');
    return row;
  }

  async function lockoutCount(userId: string): Promise<number> {
    const rows = await rekey.db.kysely
      .selectFrom('lockout_states')
      .select('failure_count')
      .where('user_id', '=', userId)
      .execute();
    return rows.reduce((sum, row) => sum + row.failure_count, 0);
  }

  it('spends one verification on every outcome, whether or not the account exists', async () => {
    const known = await subject('check.known');
    const passwordless = await subject('check.nopassword');
    const outcomes: Record<string, { outcome: string; verifies: string[] }> = {};
    for (const [name, who, password] of [
      ['unknownUser', undefined, 'Amber-Lantern-9!'],
      ['noPassword', { ...passwordless, password_hash: null }, 'Amber-Lantern-9!'],
      ['wrongPassword', known, 'Amber-Lantern-9!'],
      ['verified', known, 'Amber-Lantern-8!'],
    ] as const) {
      verified.length = 0;
      const result = await check(who, password, '203.0.113.7');
      outcomes[name] = { outcome: result.outcome, verifies: [...verified] };
    }
    expect(outcomes).toEqual({
      unknownUser: { outcome: 'unknownUser', verifies: ['$argon2id'] },
      noPassword: { outcome: 'noPassword', verifies: ['$argon2id'] },
      wrongPassword: { outcome: 'wrongPassword', verifies: ['$argon2id'] },
      verified: { outcome: 'verified', verifies: ['$argon2id'] },
    });
  });

  it('counts a wrong password, not an unknown account or one without a password, and clears on the right one', async () => {
    const known = await subject('check.counted');
    await check(known, 'Wrong-Guess-1!', '203.0.113.8');
    await check(known, 'Wrong-Guess-2!', '203.0.113.8');
    expect(await lockoutCount(known.id)).toBe(2);
    await check({ ...known, password_hash: null }, 'Wrong-Guess-3!', '203.0.113.8');
    expect(await lockoutCount(known.id)).toBe(2);
    const right = await check(known, 'Amber-Lantern-8!', '203.0.113.8');
    expect(right).toMatchObject({ outcome: 'verified', subject: { id: known.id } });
    expect(await lockoutCount(known.id)).toBe(0);
  });

  it('refuses a locked account, even with the right password, spending one verification and counting nothing', async () => {
    const known = await subject('check.locked');
    const threshold = (await rekey.settings.getSmartLockout()).lockoutThreshold;
    let last = await check(known, 'Wrong-Guess-0!', '198.51.100.9');
    for (let i = 1; i < threshold; i += 1) last = await check(known, `Wrong-Guess-${i}!`, '198.51.100.9');
    expect(last).toMatchObject({ outcome: 'locked', passwordMatched: false });
    const counted = await lockoutCount(known.id);
    verified.length = 0;
    const refused = await check(known, 'Amber-Lantern-8!', '198.51.100.9');
    expect(refused).toMatchObject({
      outcome: 'locked',
      lock: { network: 'unfamiliar' },
      passwordMatched: true,
    });
    // The same time as a password check: a lock must not answer faster than one.
    expect(verified).toEqual(['$argon2id']);
    verified.length = 0;
    const wrong = await check(known, 'Wrong-Guess-late!', '198.51.100.9');
    expect(wrong).toMatchObject({ outcome: 'locked', passwordMatched: false });
    expect(verified).toEqual(['$argon2id']);
    // Nothing counted while locked, the right password included.
    expect(await lockoutCount(known.id)).toBe(counted);
  });
});
