import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dialects, freshDatabaseUrl } from '../../../test/support/databases.js';
import { expectErrorCode } from '../../../test/support/http-helpers.js';
import {
  passwordGrant,
  startTestRekey,
  type TestRekey,
  tokenRequestOptionsFrom,
} from '../../../test/support/rekey-harness.js';
import type { Clock } from '../clock.js';
import type { PasswordHasher } from '../crypto/password-hasher.js';

/*
 * The limits of the password-checking endpoints (issue 9, item 4) on both databases: per client
 * address and per user name, counted in the database so two processes count together; and the
 * bound on queued password verifications, driven by a hasher that waits until told to go on.
 */

const password = 'Harbor-Signal-27!';

/** The OAuth error body's first code, and the Retry-After of a refused token request. */
function refusalOf(response: { statusCode: number; headers: Record<string, unknown>; json<T>(): T }) {
  return {
    status: response.statusCode,
    code: response.json<{ error_codes?: number[] }>().error_codes?.[0],
    retryAfter: response.headers['retry-after'],
  };
}

/**
 * The limits count in fixed 60 s windows of the Rekey's clock. A test whose requests straddled a
 * window's end would see its count start again and miss the refusal it expects (one did, on a
 * loaded machine). So the Rekeys here run on a clock that follows real time from an offset, and
 * each test first moves it to one second into a window none has used yet: every test has 59 s of
 * a fresh window, without waiting for one. It only ever moves forward.
 */
function windowClock(): Clock & { toFreshWindow(): void } {
  const windowMs = 60_000;
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    toFreshWindow() {
      const at = Date.now() + offsetMs;
      offsetMs += (Math.floor(at / windowMs) + 1) * windowMs + 1_000 - at;
    },
  };
}

describe.each(dialects)('rate limits of the password-checking endpoints on %s', (dialect) => {
  let rekey: TestRekey;
  let second: TestRekey | undefined;
  const clock = windowClock();

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, {
      clock,
      env: { REKEY_RATE_LIMIT_PER_IP: '6', REKEY_RATE_LIMIT_PER_USER: '3' },
    });
  });
  afterAll(async () => rekey?.close());
  beforeEach(() => clock.toFreshWindow());
  afterEach(async () => {
    await second?.close();
    second = undefined;
  });

  function signInFrom(address: string, upn: string, pass = 'Wrong-Password-1!') {
    return rekey.app.inject(tokenRequestOptionsFrom(address, passwordGrant(upn, pass)));
  }

  it('refuses a user name past its limit with 429, Retry-After and 7700701, and logs the refusal', async () => {
    // From four addresses, so only the user name's limit can refuse; its case does not matter.
    const names = [
      'ghost.1@example.com',
      'GHOST.1@example.com',
      ' ghost.1@Example.com',
      'ghost.1@example.com',
    ];
    const answers = [];
    for (const [i, name] of names.entries()) answers.push(await signInFrom(`10.1.0.${i + 1}`, name));
    expect(answers.slice(0, 3).map((a) => a.statusCode)).toEqual([400, 400, 400]);
    const last = answers[3];
    if (!last) throw new Error('no fourth answer');
    const refused = refusalOf(last);
    expect(refused.status).toBe(429);
    expect(refused.code).toBe(7700701);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(answers[3]?.json<{ error: string }>().error).toBe('temporarily_unavailable');
    const logged = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select(['error_code', 'ip_address'])
      .where('upn_key', '=', 'ghost.1@example.com')
      .where('error_code', '=', 7700701)
      .execute();
    expect(logged).toEqual([{ error_code: 7700701, ip_address: '10.1.0.4' }]);
  });

  it('refuses a client address past its limit, whatever the user names, and only that address', async () => {
    const answers = [];
    for (let i = 0; i < 7; i += 1) answers.push(await signInFrom('127.0.0.7', `nobody.${i}@example.com`));
    expect(answers.slice(0, 6).every((a) => a.statusCode === 400)).toBe(true);
    const seventh = answers[6];
    if (!seventh) throw new Error('no seventh answer');
    expect(refusalOf(seventh)).toMatchObject({ status: 429, code: 7700701 });
    expect(answers[6]?.headers['retry-after']).toBeDefined();
    // Loopback is not exempt, and another address is counted on its own.
    expect((await signInFrom('127.0.0.8', 'nobody.x@example.com')).statusCode).toBe(400);
  });

  it('limits the expired-password change by the user name in its body (Graph error shape)', async () => {
    const answers = [];
    for (let i = 0; i < 4; i += 1) {
      answers.push(
        await rekey.app.inject({
          method: 'POST',
          url: '/example.com/password/change',
          remoteAddress: `10.2.0.${i + 1}`,
          payload: {
            userPrincipalName: 'Spray.Target@example.com',
            currentPassword: 'Wrong-Password-1!',
            newPassword: 'Lichen-Harbor-70!',
          },
        }),
      );
    }
    expect(answers.slice(0, 3).every((a) => a.statusCode !== 429)).toBe(true);
    const fourth = answers[3];
    if (!fourth) throw new Error('no fourth answer');
    expectErrorCode(fourth, 429, 7700701);
    expect(answers[3]?.headers['retry-after']).toBeDefined();
  });

  it('limits the signed-in change of one user by the caller', async () => {
    const user = await rekey.createUser('self.changer', password);
    const token = await rekey.app.inject(
      tokenRequestOptionsFrom('10.3.0.1', passwordGrant(user.userPrincipalName, password)),
    );
    const accessToken = token.json<{ access_token: string }>().access_token;
    const statuses = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await rekey.app.inject({
        method: 'POST',
        url: '/v1.0/me/changePassword',
        remoteAddress: `10.3.1.${i + 1}`,
        headers: { authorization: `Bearer ${accessToken}` },
        payload: { currentPassword: 'Wrong-Password-1!', newPassword: 'Lichen-Harbor-70!' },
      });
      statuses.push(response.statusCode);
      if (i === 2) expectErrorCode(response, 429, 7700701);
    }
    // The sign-in counted once for the user name, then two changes: the third request is the fourth.
    expect(statuses.slice(0, 2).every((s) => s !== 429)).toBe(true);
  });

  it('counts two Rekey processes over one database together', async () => {
    // One database both open: a file for SQLite (the suite's default is in memory), and one key.
    const directory = mkdtempSync(path.join(tmpdir(), 'rekey-limits-'));
    const env = {
      REKEY_DATABASE_URL:
        dialect === 'sqlite'
          ? `sqlite:${path.join(directory, 'shared.sqlite')}`
          : await freshDatabaseUrl(dialect),
      REKEY_SECRET_KEY: randomBytes(32).toString('base64'),
      REKEY_RATE_LIMIT_PER_IP: '6',
      REKEY_RATE_LIMIT_PER_USER: '3',
    };
    const first = await startTestRekey(dialect, { clock, env });
    try {
      second = await startTestRekey(dialect, { clock, env });
      const name = 'shared.ghost@example.com';
      const apps = [first.app, second.app, first.app, second.app];
      // Starting two Rekeys may have taken the window near its end.
      clock.toFreshWindow();
      const statuses = [];
      for (const [i, app] of apps.entries()) {
        const response = await app.inject(
          tokenRequestOptionsFrom(`10.4.0.${i + 1}`, passwordGrant(name, 'x')),
        );
        statuses.push(response.statusCode);
      }
      expect(statuses).toEqual([400, 400, 400, 429]);
    } finally {
      await second?.close();
      second = undefined;
      await first.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

/** A hasher whose verifications wait until `release()`; `entered` resolves when one starts waiting. */
function gatedHasher() {
  let open!: () => void;
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let entered!: () => void;
  let enteredPromise = new Promise<void>((resolve) => {
    entered = resolve;
  });
  let held = false;
  const hasher: PasswordHasher = {
    hash: async (plain) => `plain$${plain}`,
    async verify(phc, plain) {
      if (held) {
        entered();
        await gate;
      }
      return phc === `plain$${plain}`;
    },
    needsRehash: () => false,
  };
  return {
    hasher,
    hold() {
      held = true;
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      enteredPromise = new Promise<void>((resolve) => {
        entered = resolve;
      });
      return enteredPromise;
    },
    release() {
      held = false;
      open();
    },
  };
}

describe.each(dialects)('shedding password checks past the queue bound on %s', (dialect) => {
  const gated = gatedHasher();
  let rekey: TestRekey;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { hasher: gated.hasher, env: { REKEY_HASH_QUEUE_MAX: '1' } });
  });
  afterAll(async () => rekey?.close());

  it('answers 503 7700702 with Retry-After at once while the queue is full, and logs it', async () => {
    const waiting = gated.hold();
    const first = rekey.tokenRequest(passwordGrant('queued.nobody@example.com', 'x'));
    await waiting;
    const shed = await rekey.tokenRequest(passwordGrant('shed.nobody@example.com', 'x'));
    gated.release();
    expect((await first).statusCode).toBe(400);
    expect(refusalOf(shed)).toMatchObject({ status: 503, code: 7700702, retryAfter: '1' });
    const logged = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select('error_code')
      .where('upn_key', '=', 'shed.nobody@example.com')
      .execute();
    expect(logged).toEqual([{ error_code: 7700702 }]);
  });

  it('never counts a shed attempt toward smart lockout', async () => {
    const victim = await rekey.createUser('shed.victim', password);
    const waiting = gated.hold();
    const first = rekey.tokenRequest(passwordGrant('holder.nobody@example.com', 'x'));
    await waiting;
    // Far more wrong passwords than the lockout threshold (10), all shed.
    for (let i = 0; i < 15; i += 1) {
      const response = await rekey.tokenRequest(
        passwordGrant(victim.userPrincipalName, `Wrong-${i}-Password!`),
      );
      expect(refusalOf(response)).toMatchObject({ status: 503, code: 7700702 });
    }
    gated.release();
    await first;
    expect(await rekey.signInCode(victim.userPrincipalName, password)).toBe(0);
    const locks = await rekey.db.kysely
      .selectFrom('lockout_states')
      .select('failure_count')
      .where('user_id', '=', victim.id)
      .execute();
    expect(locks.every((lock) => lock.failure_count === 0)).toBe(true);
  });
});
