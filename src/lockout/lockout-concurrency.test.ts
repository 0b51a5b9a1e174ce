import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { freePort } from '../../test/support/free-port.js';
import { answerSignInsAsEntra, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { systemContext } from '../platform/request-context.js';
import {
  createGatedHasher,
  type GatedHasher,
  SkewClock,
  signInOverHttp,
  tally,
} from './lockout.test-support.js';
import { findLockoutState } from './lockout-store.js';

/*
 * Smart lockout under real concurrency: hundreds of attempts in flight at once over real HTTP
 * (a listening server, one connection per request), on each database.
 */

const threshold = 10;
const attempts = 200;
const rightPassword = 'Granite-Harbor-52!';

describe.each(dialects)('smart lockout under concurrency on %s', (dialect) => {
  let rekey: TestRekey;
  let baseUrl: string;
  const clock = new SkewClock();
  let hasher: GatedHasher;

  beforeAll(async () => {
    hasher = createGatedHasher();
    rekey = await startTestRekey(dialect, { clock, hasher });
    // The tally reads the lock from the answers (50053), as Entra gives it.
    await answerSignInsAsEntra(rekey);
    const port = await freePort();
    await rekey.app.listen({ port, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => rekey?.close());

  async function stateOf(userId: string) {
    // Every attempt here comes from 127.0.0.1 and none succeeded before: the unfamiliar counter.
    return findLockoutState(rekey.db.kysely, userId, 'unfamiliar');
  }

  it(`locks at exactly the threshold when ${attempts} different wrong passwords arrive at once, then refuses the right one until the lock ends`, async () => {
    const user = await rekey.createUser('burst.target', rightPassword);
    const codes = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        signInOverHttp(baseUrl, user.userPrincipalName, `Wrong-Guess-${i}-Zx!`),
      ),
    );
    expect(tally(codes)).toEqual({ 50126: threshold - 1, 50053: attempts - (threshold - 1) });

    const verificationsBefore = hasher.verifications;
    expect(await signInOverHttp(baseUrl, user.userPrincipalName, rightPassword)).toBe(50053);
    // Refused, spending the one verification every attempt spends (a lock answers no faster).
    expect(hasher.verifications).toBe(verificationsBefore + 1);

    const state = await stateOf(user.id);
    expect(state).toMatchObject({ failure_count: threshold, lockout_count: 1 });
    expect(state?.locked_until).not.toBeNull();

    clock.advance(61);
    expect(await signInOverHttp(baseUrl, user.userPrincipalName, rightPassword)).toBe(0);
    expect(await stateOf(user.id)).toMatchObject({
      failure_count: 0,
      lockout_count: 0,
      locked_until: null,
      bad_fingerprints: '',
    });
  });

  it('lets no right password in once the lock engaged, even one whose check was already running', async () => {
    const user = await rekey.createUser('race.target', rightPassword);
    const rightAttempts = 20;
    // The right-password checks start first and are held just before they would commit.
    const gate = hasher.hold(rightPassword);
    const rights = Array.from({ length: rightAttempts }, () =>
      signInOverHttp(baseUrl, user.userPrincipalName, rightPassword),
    );
    await expect.poll(() => gate.waiting(), { timeout: 10_000, interval: 20 }).toBe(rightAttempts);

    const wrongs = Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        signInOverHttp(baseUrl, user.userPrincipalName, `Other-Guess-${i}-Qv!`),
      ),
    );
    // Let the held checks go once the lock is in the database, while wrong attempts still arrive.
    await expect
      .poll(async () => (await stateOf(user.id))?.lockout_count ?? 0, { timeout: 20_000, interval: 10 })
      .toBe(1);
    gate.release();

    const rightCodes = await Promise.all(rights);
    expect(rightCodes).toEqual(Array(rightAttempts).fill(50053));
    expect(tally(await wrongs)).toEqual({ 50126: threshold - 1, 50053: attempts - (threshold - 1) });
    expect(await stateOf(user.id)).toMatchObject({ failure_count: threshold, lockout_count: 1 });

    // No session was opened for the user at any point.
    const tokens = await rekey.db.kysely
      .selectFrom('refresh_tokens')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(tokens).toEqual([]);
    await rekey.lockout.unlock(systemContext('race-cleanup'), user.id);
  });

  it('lets no right password clear a lock that engaged during its check, when the counter already had failures', async () => {
    const user = await rekey.createUser('race.dirty', rightPassword);
    // One failure first: the right passwords below start on a counter with history, so they
    // commit through the conditional clearing UPDATE, whose lock guard is what must refuse them.
    expect(await signInOverHttp(baseUrl, user.userPrincipalName, 'First-Miss-0-Qv!')).toBe(50126);
    const rightAttempts = 5;
    const gate = hasher.hold(rightPassword);
    const rights = Array.from({ length: rightAttempts }, () =>
      signInOverHttp(baseUrl, user.userPrincipalName, rightPassword),
    );
    await expect.poll(() => gate.waiting(), { timeout: 10_000, interval: 20 }).toBe(rightAttempts);
    const wrongs = Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        signInOverHttp(baseUrl, user.userPrincipalName, `Dirty-Guess-${i}-Qv!`),
      ),
    );
    await expect
      .poll(async () => (await stateOf(user.id))?.lockout_count ?? 0, { timeout: 20_000, interval: 10 })
      .toBe(1);
    gate.release();

    expect(await Promise.all(rights)).toEqual(Array(rightAttempts).fill(50053));
    await wrongs;
    const state = await stateOf(user.id);
    expect(state?.locked_until).not.toBeNull();
    expect(state).toMatchObject({ failure_count: threshold, lockout_count: 1 });
    await rekey.lockout.unlock(systemContext('race-dirty-cleanup'), user.id);
  });

  it('counts concurrent wrong passwords from two networks on separate counters', async () => {
    const user = await rekey.createUser('burst.familiar', rightPassword);
    // A success from 127.0.0.1 makes its /24 familiar; everything below comes from there.
    expect(await signInOverHttp(baseUrl, user.userPrincipalName, rightPassword)).toBe(0);
    const codes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        signInOverHttp(baseUrl, user.userPrincipalName, `Fam-Guess-${i}-Rr!`),
      ),
    );
    expect(tally(codes)).toEqual({ 50126: threshold - 1, 50053: 60 - (threshold - 1) });
    expect(await findLockoutState(rekey.db.kysely, user.id, 'familiar')).toMatchObject({
      failure_count: threshold,
      lockout_count: 1,
    });
    expect(await stateOf(user.id)).toBeUndefined();
  });
});
