import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer, signInCodeOf } from '../../test/support/http-helpers.js';
import { passwordGrant, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { createArgon2Hasher, type PasswordHasher } from '../platform/crypto/password-hasher.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { OnPremisesWriter } from './password-operation.js';

/*
 * The caller's view of a change whose operation has an external step (the directory write of a
 * hybrid user): the request waits for the operation (REKEY_CHANGE_WAIT) and answers 204 when it
 * succeeded, 120008 with the cause beside it when it ended terminated, or 503 with Retry-After and
 * the operation's Location when it is still going. The directory here is a test writer whose
 * behaviour each test sets per user; everything else (database, worker engine, HTTP) is real.
 */

/** What the test directory does when asked to write a user's password. */
type Behaviour =
  | { readonly kind: 'ok' }
  | { readonly kind: 'fail'; readonly code: number; readonly times: number }
  | { readonly kind: 'block'; readonly until: Promise<void> };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A directory writer for users whose alias starts with `hybrid.`; every write is recorded. */
function testDirectory() {
  const behaviours = new Map<string, Behaviour>();
  const writes: Array<{ readonly upn: string; readonly password: string }> = [];
  const writer: OnPremisesWriter = {
    appliesTo: (user) => user.user_principal_name.startsWith('hybrid.'),
    async write({ user, newPassword }) {
      const upn = user.user_principal_name;
      const behaviour = behaviours.get(upn) ?? { kind: 'ok' };
      if (behaviour.kind === 'block') await behaviour.until;
      if (behaviour.kind === 'fail' && behaviour.times > 0) {
        behaviours.set(upn, { ...behaviour, times: behaviour.times - 1 });
        throw new RekeyError(behaviour.code as typeof Codes.PasswordChangeFailure);
      }
      writes.push({ upn, password: newPassword });
    },
  };
  return { writer, behaviours, writes };
}

/**
 * A real argon2id hasher whose `hash` can be held at a barrier until `parties` calls reach it,
 * so two changes are sure to pass their password checks before either commits.
 */
function barrierHasher(): PasswordHasher & { arm(parties: number): void } {
  const real = createArgon2Hasher({ memoryKib: 1024, iterations: 1, parallelism: 1 });
  let waiting: Array<() => void> = [];
  let parties = 0;
  return {
    arm(count) {
      parties = count;
      waiting = [];
    },
    async hash(password) {
      if (parties > 0) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length >= parties) {
            parties = 0;
            for (const go of waiting) go();
          }
        });
      }
      return real.hash(password);
    },
    verify: (phc, password) => real.verify(phc, password),
    needsRehash: (phc) => real.needsRehash(phc),
  };
}

describe.each(dialects)('a change that waits for its operation, on %s', (dialect) => {
  let rekey: TestRekey;
  const directory = testDirectory();
  const hasher = barrierHasher();
  const oldPassword = 'Harbor-Lights-47!';

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, {
      // Retries back off one to two seconds, within a three-second wait.
      env: { REKEY_CHANGE_WAIT: '3', REKEY_OPERATION_BACKOFF_BASE: '1', REKEY_OPERATION_BACKOFF_MAX: '1' },
      onPremises: directory.writer,
      hasher,
    });
  });
  afterAll(async () => rekey?.close());

  const changeOwn = (token: string, newPassword: string, currentPassword = oldPassword) =>
    rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword, newPassword },
      headers: bearer(token),
    });

  const signInCode = async (upn: string, password: string) =>
    signInCodeOf(await rekey.tokenRequest(passwordGrant(upn, password)));

  it('answers 204 once the directory write and the cloud commit are done; both passwords agree', async () => {
    const user = await rekey.createUserWithToken('hybrid.ok', oldPassword);
    const response = await changeOwn(user.token, 'Quartz-Orchard-62!');
    expect(response.statusCode, response.body).toBe(204);
    expect(directory.writes).toContainEqual({ upn: user.userPrincipalName, password: 'Quartz-Orchard-62!' });
    expect(await signInCode(user.userPrincipalName, 'Quartz-Orchard-62!')).toBe(0);
    expect(await signInCode(user.userPrincipalName, oldPassword)).toBe(50126);
  });

  it('retries a retryable directory failure while the caller waits, then answers 204', async () => {
    const user = await rekey.createUserWithToken('hybrid.flaky', oldPassword);
    directory.behaviours.set(user.userPrincipalName, {
      kind: 'fail',
      code: Codes.PasswordChangeOnPremisesConnectivityFailure,
      times: 1,
    });
    const response = await changeOwn(user.token, 'Silver-Canyon-83!');
    expect(response.statusCode, response.body).toBe(204);
    const [operation] = await rekey.db.kysely
      .selectFrom('password_operations')
      .select(['id', 'attempts', 'state'])
      .where('user_id', '=', user.id)
      .execute();
    expect(operation).toMatchObject({ attempts: 2, state: 'succeeded' });
    const events = await rekey.operations.getOperationWithHistory(operation?.id ?? '');
    expect(events?.events.filter((e) => e.state === 'retryScheduled')).toMatchObject([
      { step: 'writeOnPremises', code: 120013, retryable: 1 },
    ]);
    expect(await signInCode(user.userPrincipalName, 'Silver-Canyon-83!')).toBe(0);
  });

  it('answers 120008 with the underlying cause and the operation id when the operation ends terminated', async () => {
    const user = await rekey.createUserWithToken('hybrid.locked', oldPassword);
    directory.behaviours.set(user.userPrincipalName, {
      kind: 'fail',
      code: Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
      times: 1,
    });
    const response = await changeOwn(user.token, 'Maple-Harvest-29!');
    expect(response.statusCode, response.body).toBe(400);
    expect(aadstsCodeOf(response)).toBe(120008);
    const inner = response.json<{ error: { innerError: Record<string, unknown> } }>().error.innerError;
    expect(inner).toMatchObject({ aadstsCode: 120008, causeCode: 120014 });
    const operation = await rekey.operations.getOperation(String(inner['operationId']));
    expect(operation).toMatchObject({ user_id: user.id, state: 'terminated', error_code: 120014 });
    // Nothing changed: the old password still signs in, the new one does not.
    expect(await signInCode(user.userPrincipalName, oldPassword)).toBe(0);
    expect(await signInCode(user.userPrincipalName, 'Maple-Harvest-29!')).toBe(50126);
  });

  it('answers the expired-password change the same way (/{tenant}/password/change)', async () => {
    const user = await rekey.createUser('hybrid.expired', oldPassword, {
      forceChangePasswordNextSignIn: true,
    });
    directory.behaviours.set(user.userPrincipalName, {
      kind: 'fail',
      code: Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
      times: 1,
    });
    const response = await rekey.app.inject({
      method: 'POST',
      url: '/example.com/password/change',
      payload: {
        userPrincipalName: user.userPrincipalName,
        currentPassword: oldPassword,
        newPassword: 'Cedar-Summit-15!',
      },
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(
      response.json<{ error: { innerError: Record<string, unknown> } }>().error.innerError,
    ).toMatchObject({
      aadstsCode: 120008,
      causeCode: 120014,
    });
  });

  it('answers 503 with Retry-After and the Location of the operation while it is still going, and finishes it', async () => {
    const user = await rekey.createUserWithToken('hybrid.slow', oldPassword);
    let release: () => void = () => {};
    directory.behaviours.set(user.userPrincipalName, {
      kind: 'block',
      until: new Promise<void>((resolve) => {
        release = resolve;
      }),
    });
    const response = await changeOwn(user.token, 'Amber-Tundra-54!');
    expect(response.statusCode, response.body).toBe(503);
    expect(aadstsCodeOf(response)).toBe(7700902);
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const location = String(response.headers['location']);
    expect(location).toMatch(
      new RegExp(`^http://rekey\\.test/v1\\.0/users/${user.id}/authentication/operations/[0-9a-f-]{36}$`),
    );
    const inner = response.json<{ error: { innerError: Record<string, unknown> } }>().error.innerError;
    expect(location.endsWith(String(inner['operationId']))).toBe(true);
    const read = async () =>
      (
        await rekey.app.inject({
          method: 'GET',
          url: location.replace('http://rekey.test', ''),
          // The administrator's token: the user's own stops working once the change commits.
          headers: bearer(await rekey.adminToken()),
        })
      ).json<{ status: string }>().status;
    expect(await read()).toBe('running');
    // The old password still holds while the directory write is pending.
    expect(await signInCode(user.userPrincipalName, oldPassword)).toBe(0);
    release();
    let status = await read();
    for (let i = 0; i < 200 && status !== 'succeeded'; i += 1) {
      await sleep(20);
      status = await read();
    }
    expect(status).toBe('succeeded');
    expect(await signInCode(user.userPrincipalName, 'Amber-Tundra-54!')).toBe(0);
  });

  it('changes a cloud-only user in one transaction, never calling the directory', async () => {
    const user = await rekey.createUserWithToken('cloud.only', oldPassword);
    const before = directory.writes.length;
    const response = await changeOwn(user.token, 'Birch-Meadow-36!');
    expect(response.statusCode, response.body).toBe(204);
    expect(directory.writes.length).toBe(before);
    const [operation] = await rekey.db.kysely
      .selectFrom('password_operations')
      .select(['secret_ciphertext', 'state'])
      .where('user_id', '=', user.id)
      .execute();
    expect(operation).toEqual({ secret_ciphertext: null, state: 'succeeded' });
  });

  it('serialises two concurrent changes for one user: one proceeds, the other gets 409 7700901', async () => {
    const user = await rekey.createUserWithToken('cloud.racing', oldPassword);
    // Both requests pass their password checks before either commits.
    hasher.arm(2);
    const responses = await Promise.all([
      changeOwn(user.token, 'First-Racer-71!'),
      changeOwn(user.token, 'Second-Racer-72!'),
    ]);
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses, responses.map((r) => r.body).join('\n')).toEqual([204, 409]);
    const refused = responses.find((r) => r.statusCode === 409);
    expect(refused && aadstsCodeOf(refused)).toBe(7700901);
    const winner = responses[0]?.statusCode === 204 ? 'First-Racer-71!' : 'Second-Racer-72!';
    const loser = winner === 'First-Racer-71!' ? 'Second-Racer-72!' : 'First-Racer-71!';
    expect(await signInCode(user.userPrincipalName, winner)).toBe(0);
    expect(await signInCode(user.userPrincipalName, loser)).toBe(50126);
    // One operation recorded (the refused one never started), one history entry more.
    const operations = await rekey.db.kysely
      .selectFrom('password_operations')
      .select('state')
      .where('user_id', '=', user.id)
      .execute();
    expect(operations).toEqual([{ state: 'succeeded' }]);
  });

  it('refuses a change with 7700901 while another operation of the user has not ended', async () => {
    const user = await rekey.createUserWithToken('hybrid.pending', oldPassword);
    let release: () => void = () => {};
    directory.behaviours.set(user.userPrincipalName, {
      kind: 'block',
      until: new Promise<void>((resolve) => {
        release = resolve;
      }),
    });
    const first = await changeOwn(user.token, 'Violet-Ridge-44!');
    expect(first.statusCode, first.body).toBe(503);
    const second = await changeOwn(user.token, 'Copper-Fjord-45!');
    expect(second.statusCode, second.body).toBe(409);
    expect(aadstsCodeOf(second)).toBe(7700901);
    expect(
      second.json<{ error: { innerError: Record<string, unknown> } }>().error.innerError['operationId'],
    ).toBe(first.json<{ error: { innerError: Record<string, unknown> } }>().error.innerError['operationId']);
    release();
    for (let i = 0; i < 200 && (await signInCode(user.userPrincipalName, 'Violet-Ridge-44!')) !== 0; i += 1)
      await sleep(20);
    expect(await signInCode(user.userPrincipalName, 'Violet-Ridge-44!')).toBe(0);
  });
});
