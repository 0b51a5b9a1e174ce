import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import {
  bearer,
  expectErrorCode,
  signInCodeOf,
  tokenRequestOptions,
} from '../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  answerSignInsAsEntra,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import type { LockoutNetwork } from '../platform/db/schema.js';
import { systemContext } from '../platform/request-context.js';
import { listSignInsByCorrelation } from '../sign-ins/sign-in-store.js';
import { createGatedHasher, type GatedHasher, SkewClock } from './lockout.test-support.js';
import { defaultSmartLockoutSettings } from './lockout-policy.js';
import { findLockoutState } from './lockout-store.js';

const password = 'Willow-Lantern-63!';
/** Addresses standing for networks: the user's office, a hotel, and somewhere else. */
const office = '10.20.30.40';
const elsewhere = '198.51.100.7';

describe.each(dialects)('smart lockout on %s', (dialect) => {
  let rekey: TestRekey;
  const clock = new SkewClock();
  let hasher: GatedHasher;
  let serial = 0;

  beforeAll(async () => {
    hasher = createGatedHasher();
    rekey = await startTestRekey(dialect, { clock, hasher });
    // These tests read the lock from the answers (50053), as Entra gives it.
    await answerSignInsAsEntra(rekey);
    await rekey.createUser('lock.authadmin', password, { roles: ['Authentication Administrator'] });
    await rekey.createUser('lock.reader', password, { roles: ['Global Reader'] });
    await rekey.createUser('lock.policyadmin', password, { roles: ['Authentication Policy Administrator'] });
    await rekey.createUser('lock.plain', password);
    await rekey.createUser('lock.helpdesk', password, { roles: ['Helpdesk Administrator'] });
  });
  afterAll(async () => rekey?.close());
  afterEach(async () => {
    await rekey.settings.updateSmartLockout(systemContext('lockout-test-reset'), defaultSmartLockoutSettings);
  });

  /** A fresh token (the tests move the clock by hours, past any token issued in beforeAll). */
  function tokenOf(alias: string): Promise<string> {
    return alias === 'admin'
      ? rekey.signIn(adminUpn, adminPassword)
      : rekey.signIn(`${alias}@example.com`, password);
  }

  async function newUser(extra: Parameters<TestRekey['createUser']>[2] = {}) {
    serial += 1;
    return rekey.createUser(`lock.user${serial}`, password, extra);
  }

  function signIn(upn: string, pw: string, from = elsewhere, correlationId?: string) {
    const options = tokenRequestOptions(
      passwordGrant(upn, pw),
      correlationId === undefined ? {} : { 'client-request-id': correlationId },
    );
    return rekey.app.inject({ ...options, remoteAddress: from });
  }

  async function code(upn: string, pw: string, from = elsewhere): Promise<number> {
    return signInCodeOf(await signIn(upn, pw, from));
  }

  /** Sends `count` different wrong passwords, one after another; returns the codes. */
  async function wrongs(upn: string, count: number, from = elsewhere, tag = 'w'): Promise<number[]> {
    const codes: number[] = [];
    for (let i = 0; i < count; i += 1) codes.push(await code(upn, `Wrong-${tag}-${i}-Pass!`, from));
    return codes;
  }

  function state(userId: string, network: LockoutNetwork = 'unfamiliar') {
    return findLockoutState(rekey.db.kysely, userId, network);
  }

  function lockoutView(id: string, token: string) {
    return rekey.app.inject({ method: 'GET', url: `/rekey/v1/users/${id}/lockout`, headers: bearer(token) });
  }

  function unlock(id: string, token: string, correlationId = 'unlock') {
    return rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/users/${id}/unlock`,
      headers: { ...bearer(token), 'client-request-id': correlationId },
    });
  }

  function patchSettings(body: unknown, token: string, query = '', correlationId = 'settings') {
    return rekey.app.inject({
      method: 'PATCH',
      url: `/rekey/v1/settings/smartLockout${query}`,
      payload: JSON.stringify(body),
      headers: { ...bearer(token), 'content-type': 'application/json', 'client-request-id': correlationId },
    });
  }

  const seconds = (from: string | null | undefined, to: string | null | undefined) =>
    (Date.parse(to ?? '') - Date.parse(from ?? '')) / 1000;

  it('locks on the tenth different wrong password, refuses even the right one (spending one verification, like any attempt), and lets it in once the lock ends', async () => {
    const user = await newUser();
    expect(await wrongs(user.userPrincipalName, 10)).toEqual([...Array(9).fill(50126), 50053]);
    const locked = await state(user.id);
    expect(locked).toMatchObject({ failure_count: 10, lockout_count: 1 });
    expect(seconds(locked?.last_lockout_at, locked?.locked_until)).toBe(60);

    const before = hasher.verifications;
    expect(await code(user.userPrincipalName, password)).toBe(50053);
    expect(await code(user.userPrincipalName, 'Another-Wrong-1!')).toBe(50053);
    // One verification each, as any attempt spends: a lock answers no faster than a password check.
    expect(hasher.verifications).toBe(before + 2);
    // Nothing counted and the lock not extended while locked.
    expect(await state(user.id)).toEqual(locked);

    clock.advance(61);
    expect(await code(user.userPrincipalName, password)).toBe(0);
    expect(await state(user.id)).toMatchObject({
      failure_count: 0,
      lockout_count: 0,
      locked_until: null,
      bad_fingerprints: '',
    });
  });

  it('does not count a wrong password again while it is among the last three', async () => {
    const user = await newUser();
    const upn = user.userPrincipalName;
    for (const pw of ['Wrong-A-1!', 'Wrong-B-1!', 'Wrong-C-1!', 'Wrong-A-1!', 'Wrong-C-1!', 'Wrong-B-1!']) {
      expect(await code(upn, pw)).toBe(50126);
    }
    expect(await state(user.id)).toMatchObject({ failure_count: 3 });
    expect(await code(upn, 'Wrong-D-1!')).toBe(50126);
    // A has now dropped out of the last three (D, C, B): it counts again.
    expect(await code(upn, 'Wrong-A-1!')).toBe(50126);
    expect(await code(upn, 'Wrong-D-1!')).toBe(50126);
    const row = await state(user.id);
    expect(row?.failure_count).toBe(5);
    expect(row?.bad_fingerprints.split(',')).toHaveLength(3);
  });

  it('locks again on the first counted failure after a lock ends, each lockout twice as long up to 32 times, until a success', async () => {
    const admin = await tokenOf('admin');
    expect(
      (await patchSettings({ lockoutThreshold: 3, lockoutDurationInSeconds: 60 }, admin)).statusCode,
    ).toBe(200);
    const user = await newUser();
    const upn = user.userPrincipalName;
    // All from the office, which a first success made familiar: one counter throughout.
    expect(await code(upn, password, office)).toBe(0);
    const familiar = () => state(user.id, 'familiar');
    expect(await wrongs(upn, 3, office, 'g0')).toEqual([50126, 50126, 50053]);
    const durations: number[] = [];
    let row = await familiar();
    durations.push(seconds(row?.last_lockout_at, row?.locked_until));
    for (let lockout = 2; lockout <= 7; lockout += 1) {
      clock.advance(durations[durations.length - 1] ?? 0);
      clock.advance(1);
      // The lock ended; the count stays at the threshold, so one new wrong password locks again.
      expect(await code(upn, `Growth-${lockout}-Wrong!`, office)).toBe(50053);
      row = await familiar();
      expect(row?.lockout_count).toBe(lockout);
      durations.push(seconds(row?.last_lockout_at, row?.locked_until));
    }
    expect(durations).toEqual([60, 120, 240, 480, 960, 1920, 1920]);

    // A repeated wrong password after expiry does not count, so it does not lock again.
    clock.advance(1921);
    expect(await code(upn, 'Growth-7-Wrong!', office)).toBe(50126);
    // The right password restarts everything: the next lockout is a short one again.
    expect(await code(upn, password, office)).toBe(0);
    expect(await familiar()).toMatchObject({ failure_count: 0, lockout_count: 0, bad_fingerprints: '' });
    expect(await wrongs(upn, 3, office, 'g1')).toEqual([50126, 50126, 50053]);
    row = await familiar();
    expect(row?.lockout_count).toBe(1);
    expect(seconds(row?.last_lockout_at, row?.locked_until)).toBe(60);
  });

  it('counts familiar and unfamiliar networks apart: a lock from elsewhere does not lock the user out at the office', async () => {
    const user = await newUser();
    const upn = user.userPrincipalName;
    expect(await code(upn, password, office)).toBe(0);
    expect(await code(upn, password, '2001:db8:aa:bb::5')).toBe(0);
    const familiar = await rekey.db.kysely
      .selectFrom('familiar_networks')
      .select('network_key')
      .where('user_id', '=', user.id)
      .orderBy('network_key')
      .execute();
    expect(familiar.map((r) => r.network_key)).toEqual(['10.20.30.0/24', '2001:db8:aa:bb::/64']);

    expect((await wrongs(upn, 10, elsewhere)).at(-1)).toBe(50053);
    expect(await code(upn, password, '198.51.100.200')).toBe(50053);
    // Same /24, same /64, and the office as an IPv4-mapped IPv6 address: all familiar.
    expect(await code(upn, password, '10.20.30.99')).toBe(0);
    expect(await code(upn, password, '2001:db8:aa:bb:1:2:3:4')).toBe(0);
    expect(await code(upn, password, '::ffff:10.20.30.7')).toBe(0);
    // The office's counter is its own: a few failures there do not add to the other one.
    expect(await wrongs(upn, 3, office, 'office')).toEqual([50126, 50126, 50126]);
    expect(await state(user.id, 'familiar')).toMatchObject({ failure_count: 3, locked_until: null });
    expect(await state(user.id, 'unfamiliar')).toMatchObject({ failure_count: 10, lockout_count: 1 });

    const view = await lockoutView(user.id, await tokenOf('lock.reader'));
    expect(view.statusCode, view.body).toBe(200);
    expect(view.json()).toMatchObject({
      userId: user.id,
      userPrincipalName: upn,
      locked: true,
      lockoutThreshold: 10,
      lockoutDurationInSeconds: 60,
      networks: [
        {
          network: 'familiar',
          locked: false,
          lockedUntil: null,
          failureCount: 3,
          lockoutCount: 0,
          reason: null,
        },
        {
          network: 'unfamiliar',
          locked: true,
          lockedUntil: expect.any(String),
          failureCount: 10,
          lockoutCount: 1,
          lastFailureDateTime: expect.any(String),
          lastLockoutDateTime: expect.any(String),
          reason: expect.stringContaining('unfamiliar networks'),
        },
      ],
    });
  });

  it('makes a network familiar only by a sign-in that opened a session, for 90 days, refreshed at most hourly', async () => {
    const familiarRows = async (userId: string) =>
      rekey.db.kysely
        .selectFrom('familiar_networks')
        .select(['network_key', 'last_seen_at'])
        .where('user_id', '=', userId)
        .execute();
    // A right password answered 50057 or 50055 opens no session, so the network stays unfamiliar.
    const disabled = await newUser({ accountEnabled: false });
    expect(await code(disabled.userPrincipalName, password, office)).toBe(50057);
    const forced = await newUser({ forceChangePasswordNextSignIn: true });
    expect(await code(forced.userPrincipalName, password, office)).toBe(50055);
    expect(await familiarRows(disabled.id)).toEqual([]);
    expect(await familiarRows(forced.id)).toEqual([]);
    // Something that is not an IP address belongs to no network: never familiar.
    const odd = await newUser();
    expect(await code(odd.userPrincipalName, password, 'not-an-address')).toBe(0);
    expect(await familiarRows(odd.id)).toEqual([]);
    expect(await code(odd.userPrincipalName, 'Odd-Guess-1-Pass!', 'not-an-address')).toBe(50126);
    expect(await state(odd.id, 'unfamiliar')).toMatchObject({ failure_count: 1 });

    const user = await newUser();
    const upn = user.userPrincipalName;
    expect(await code(upn, password, office)).toBe(0);
    const [first] = await familiarRows(user.id);
    // Within the hour the row is not written again; after it, it is.
    clock.advance(30 * 60);
    expect(await code(upn, password, office)).toBe(0);
    expect(await familiarRows(user.id)).toEqual([first]);
    clock.advance(31 * 60);
    expect(await code(upn, password, office)).toBe(0);
    const [refreshed] = await familiarRows(user.id);
    expect(refreshed?.last_seen_at).not.toBe(first?.last_seen_at);
    // A failure at the office counts on the familiar counter while the network is familiar...
    expect(await code(upn, 'Office-Guess-1-Pass!', office)).toBe(50126);
    expect(await state(user.id, 'familiar')).toMatchObject({ failure_count: 1 });
    // ...and, 91 days after the last sign-in from it, on the unfamiliar one.
    clock.advance(91 * 86_400);
    expect(await code(upn, 'Office-Guess-2-Pass!', office)).toBe(50126);
    expect(await state(user.id, 'unfamiliar')).toMatchObject({ failure_count: 1 });
    expect(await state(user.id, 'familiar')).toMatchObject({ failure_count: 1 });
  });

  it('never counts a user without a password, and keeps the end of a lock in force when the settings change', async () => {
    const passwordless = await newUser();
    await rekey.db.kysely.deleteFrom('credentials').where('user_id', '=', passwordless.id).execute();
    expect(await wrongs(passwordless.userPrincipalName, 12)).toEqual(Array(12).fill(50126));
    expect(await state(passwordless.id)).toBeUndefined();

    const user = await newUser();
    expect((await wrongs(user.userPrincipalName, 10)).at(-1)).toBe(50053);
    const lockedUntil = (await state(user.id))?.locked_until;
    expect(lockedUntil).toBeTruthy();
    const longer = await patchSettings(
      { lockoutThreshold: 3, lockoutDurationInSeconds: 3600 },
      await tokenOf('lock.policyadmin'),
    );
    expect(longer.statusCode, longer.body).toBe(200);
    expect((await state(user.id))?.locked_until).toBe(lockedUntil);
    clock.advance(61);
    expect(await code(user.userPrincipalName, password)).toBe(0);
  });

  it('tells the caller only that the account is locked; the sign-in log tells administrators which counter and until when', async () => {
    const user = await newUser();
    const upn = user.userPrincipalName;
    await wrongs(upn, 9);
    const locking = await signIn(upn, 'Final-Wrong-9!', elsewhere, `lock-log-${dialect}`);
    const refused = await signIn(upn, password, elsewhere, `lock-log-2-${dialect}`);
    const wrongBody = await signIn('nobody.here@example.com', 'Whatever-1!');
    for (const response of [locking, refused]) {
      expect(response.statusCode).toBe(400);
      const body = response.json<Record<string, unknown>>();
      expect(body['error_codes']).toEqual([50053]);
      expect(Object.keys(body).sort()).toEqual(Object.keys(wrongBody.json()).sort());
      const until = (await state(user.id))?.locked_until ?? 'missing';
      expect(response.body).not.toContain(until);
      expect(response.body).not.toMatch(/familiar|remaining|until/i);
    }
    const [lockRow] = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, `lock-log-${dialect}`);
    const [refusedRow] = await listSignInsByCorrelation(
      rekey.db.kysely,
      rekey.tenant.id,
      `lock-log-2-${dialect}`,
    );
    const until = (await state(user.id))?.locked_until ?? 'missing';
    expect(lockRow).toMatchObject({ error_code: 50053, user_id: user.id });
    expect(lockRow?.additional_details).toContain('This attempt locked the unfamiliar-network counter');
    expect(lockRow?.additional_details).toContain(until);
    expect(refusedRow?.additional_details).toContain('Refused while locked, whatever the password');
    expect(refusedRow?.additional_details).toContain('The password given was right.');
    expect(refusedRow?.additional_details).toContain(until);

    // An unknown user name behaves as before: 50034 every time, no counter anywhere.
    for (let i = 0; i < 12; i += 1)
      expect(await code('ghost.lock@example.com', `Ghost-${i}-Pw!`)).toBe(50034);
  });

  it('counts wrong current passwords on both change paths and refuses a locked account with 7700501', async () => {
    const user = await newUser();
    const upn = user.userPrincipalName;
    const token = await rekey.signIn(upn, password);
    const meChange = (current: string, correlationId = 'me-change') =>
      rekey.app.inject({
        method: 'POST',
        url: '/v1.0/me/changePassword',
        payload: { currentPassword: current, newPassword: 'Brand-New-Orbit-84!' },
        headers: { ...bearer(token), 'client-request-id': correlationId },
        remoteAddress: elsewhere,
      });
    const expiredChange = (current: string) =>
      rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        payload: { userPrincipalName: upn, currentPassword: current, newPassword: 'Brand-New-Orbit-84!' },
        remoteAddress: elsewhere,
      });
    // The sign-in above came from 127.0.0.1; these come from elsewhere: the unfamiliar counter.
    for (let i = 0; i < 4; i += 1) expectErrorCode(await meChange(`Me-Wrong-${i}!`), 400, 120000);
    for (let i = 0; i < 4; i += 1) expectErrorCode(await expiredChange(`Exp-Wrong-${i}!`), 400, 120000);
    expect(await wrongs(upn, 1)).toEqual([50126]);
    expect(await state(user.id)).toMatchObject({ failure_count: 9, lockout_count: 0 });
    // The tenth failure, on a change path, locks.
    expectErrorCode(await meChange('Me-Wrong-last!', `change-lock-${dialect}`), 400, 7700501);
    expect(await state(user.id)).toMatchObject({ failure_count: 10, lockout_count: 1 });

    const before = hasher.verifications;
    expectErrorCode(await meChange(password), 400, 7700501);
    expectErrorCode(await expiredChange(password), 400, 7700501);
    expect(await code(upn, password)).toBe(50053);
    // One verification each, as any attempt spends; still nothing counted (below).
    expect(hasher.verifications).toBe(before + 3);
    // The failed change is audited with the lock, for administrators.
    const [audit] = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, `change-lock-${dialect}`);
    expect(audit).toMatchObject({
      result: 'failure',
      activity_display_name: 'Change password (self-service)',
    });
    expect(audit?.result_reason).toContain('7700501');
    expect(audit?.additional_details).toContain('unfamiliar-network counter');

    clock.advance(61);
    const changed = await meChange(password);
    expect(changed.statusCode, changed.body).toBe(204);
    expect(await state(user.id)).toMatchObject({ failure_count: 0, lockout_count: 0, locked_until: null });
  });

  it("an administrator's reset ends the lock and restarts the counts, and says so in its audit row", async () => {
    const admin = await tokenOf('admin');
    const viaPatch = await newUser();
    await wrongs(viaPatch.userPrincipalName, 10);
    const patched = await rekey.app.inject({
      method: 'PATCH',
      url: `/v1.0/users/${viaPatch.id}`,
      payload: { passwordProfile: { password: 'Reset-Harbor-42!', forceChangePasswordNextSignIn: false } },
      headers: { ...bearer(admin), 'client-request-id': `reset-patch-${dialect}` },
    });
    expect(patched.statusCode, patched.body).toBe(204);
    expect(await state(viaPatch.id)).toMatchObject({
      failure_count: 0,
      lockout_count: 0,
      locked_until: null,
    });
    expect(await code(viaPatch.userPrincipalName, 'Reset-Harbor-42!')).toBe(0);
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, `reset-patch-${dialect}`);
    const reset = audits.find((a) => a.activity_display_name === 'Reset password (by admin)');
    expect(JSON.parse(reset?.additional_details ?? '[]')).toContainEqual({
      key: 'smartLockout',
      value: expect.stringMatching(
        /^Lock ended and counts restarted: unfamiliar networks were locked until \S+ \(10 failures, lockout 1\)\.$/,
      ),
    });

    const viaGraph = await newUser();
    await wrongs(viaGraph.userPrincipalName, 10);
    const accepted = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${viaGraph.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: { newPassword: 'Reset-Meadow-57!' },
      headers: bearer(admin),
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    // Accepted is not done: the lock holds until the worker completes the reset.
    expect(await code(viaGraph.userPrincipalName, 'Reset-Meadow-57!')).toBe(50053);
    expect(await rekey.operations.runDueOperations()).toBeGreaterThanOrEqual(1);
    // The reset asks for a new password at the next sign-in: 50055, not 50053.
    expect(await code(viaGraph.userPrincipalName, 'Reset-Meadow-57!')).toBe(50055);
  });

  it('unlocks for password administrators, audited; the reset table decides who may unlock whom', async () => {
    const authAdmin = await tokenOf('lock.authadmin');
    const reader = await tokenOf('lock.reader');
    const plain = await tokenOf('lock.plain');
    const helpdesk = await tokenOf('lock.helpdesk');
    const user = await newUser();
    await wrongs(user.userPrincipalName, 10);

    expectErrorCode(await unlock(user.id, reader), 403, 7700103);
    expectErrorCode(await unlock(user.id, plain), 403, 7700103);
    expectErrorCode(await lockoutView(user.id, plain), 403, 7700103);
    expectErrorCode(await unlock('nobody.at.all@example.com', authAdmin), 404, 7700008);
    expect((await lockoutView(user.id, helpdesk)).json()).toMatchObject({ locked: true });

    const response = await unlock(user.userPrincipalName.toUpperCase(), authAdmin, `unlock-${dialect}`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      userId: user.id,
      locked: false,
      networks: [
        { network: 'familiar', locked: false, failureCount: 0, lockoutCount: 0 },
        {
          network: 'unfamiliar',
          locked: false,
          lockedUntil: null,
          failureCount: 0,
          lockoutCount: 0,
          reason: null,
        },
      ],
    });
    expect(await code(user.userPrincipalName, password)).toBe(0);
    const [audit] = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, `unlock-${dialect}`);
    expect(audit).toMatchObject({
      activity_display_name: 'Unlock user account',
      category: 'UserManagement',
      result: 'success',
      initiated_by_upn: 'lock.authadmin@example.com',
    });
    const [target] = JSON.parse(audit?.target_resources ?? '[]') as Array<Record<string, unknown>>;
    expect(target).toMatchObject({ id: user.id, type: 'User', userPrincipalName: user.userPrincipalName });
    expect(target?.['modifiedProperties']).toContainEqual({
      displayName: 'lockout.unfamiliar',
      oldValue: expect.stringContaining('"locked":true'),
      newValue: JSON.stringify({ locked: false, lockedUntil: null, failureCount: 0, lockoutCount: 0 }),
    });
    expect(audit?.additional_details).toContain('Lock ended and counts restarted');

    // Who may unlock whom follows the reset table: an Authentication Administrator may not
    // unlock a Helpdesk Administrator; a Helpdesk Administrator may unlock a plain user and
    // another Helpdesk Administrator (this unlock was refused before Entra's table applied).
    const roleHolder = await newUser({ roles: ['Helpdesk Administrator'] });
    await wrongs(roleHolder.userPrincipalName, 10);
    expectErrorCode(await unlock(roleHolder.id, authAdmin), 403, 7700103);
    expect((await unlock(roleHolder.id, await tokenOf('admin'))).statusCode).toBe(200);
    const helpdeskPeer = await newUser({ roles: ['Helpdesk Administrator'] });
    await wrongs(helpdeskPeer.userPrincipalName, 10);
    expect(await code(helpdeskPeer.userPrincipalName, password)).toBe(50053);
    expect((await unlock(helpdeskPeer.id, helpdesk)).statusCode).toBe(200);
    expect(await code(helpdeskPeer.userPrincipalName, password)).toBe(0);
    const plainUser = await newUser();
    await wrongs(plainUser.userPrincipalName, 10);
    expect((await unlock(plainUser.id, helpdesk)).statusCode).toBe(200);
    expect(await code(plainUser.userPrincipalName, password)).toBe(0);
    const globalAdmin = await newUser({ roles: ['Global Administrator'] });
    await wrongs(globalAdmin.userPrincipalName, 10);
    expectErrorCode(await unlock(globalAdmin.id, helpdesk), 403, 7700103);
    expect((await unlock(globalAdmin.id, await tokenOf('admin'))).statusCode).toBe(200);
    // Nobody unlocks their own account.
    const self = await rekey.signIn('lock.authadmin@example.com', password);
    const me = await rekey.db.kysely
      .selectFrom('users')
      .select('id')
      .where('upn_key', '=', 'lock.authadmin@example.com')
      .executeTakeFirstOrThrow();
    expectErrorCode(await unlock(me.id, self), 403, 7700104);
  });

  it('serves the smartLockout settings document: defaults, audited change, preview, validation, roles', async () => {
    const reader = await tokenOf('lock.reader');
    const policyAdmin = await tokenOf('lock.policyadmin');
    const authAdmin = await tokenOf('lock.authadmin');
    const get = (token: string) =>
      rekey.app.inject({ method: 'GET', url: '/rekey/v1/settings/smartLockout', headers: bearer(token) });
    expect((await get(reader)).json()).toEqual({ lockoutThreshold: 10, lockoutDurationInSeconds: 60 });
    expectErrorCode(await get(await tokenOf('lock.plain')), 403, 7700103);

    const locked = await newUser();
    await wrongs(locked.userPrincipalName, 10);
    const preview = await patchSettings(
      { lockoutThreshold: 5 },
      policyAdmin,
      '?preview=true',
      `sl-preview-${dialect}`,
    );
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toMatchObject({
      changes: [{ field: 'lockoutThreshold', oldValue: 10, newValue: 5 }],
      impact: { usersLockedNow: expect.any(Number), note: expect.stringContaining('locked out right now') },
    });
    expect(
      preview.json<{ impact: { usersLockedNow: number } }>().impact.usersLockedNow,
    ).toBeGreaterThanOrEqual(1);
    expect((await get(reader)).json()).toEqual({ lockoutThreshold: 10, lockoutDurationInSeconds: 60 });
    expect(await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, `sl-preview-${dialect}`)).toEqual(
      [],
    );

    const changed = await patchSettings(
      { lockoutThreshold: 5, lockoutDurationInSeconds: 300 },
      policyAdmin,
      '',
      `sl-patch-${dialect}`,
    );
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toEqual({ lockoutThreshold: 5, lockoutDurationInSeconds: 300 });
    const [audit] = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, `sl-patch-${dialect}`);
    expect(audit).toMatchObject({ activity_display_name: 'Update smart lockout policy', category: 'Policy' });
    expect(JSON.parse(audit?.target_resources ?? '[]')).toEqual([
      {
        id: 'smartLockout',
        displayName: 'Smart lockout policy',
        type: 'Policy',
        userPrincipalName: null,
        modifiedProperties: [
          { displayName: 'lockoutThreshold', oldValue: '10', newValue: '5' },
          { displayName: 'lockoutDurationInSeconds', oldValue: '60', newValue: '300' },
        ],
      },
    ]);
    // The new values apply to the next failures.
    const user = await newUser();
    expect(await wrongs(user.userPrincipalName, 5)).toEqual([50126, 50126, 50126, 50126, 50053]);
    const row = await state(user.id);
    expect(seconds(row?.last_lockout_at, row?.locked_until)).toBe(300);

    const bad = expectErrorCode(
      await patchSettings({ lockoutThreshold: 0, lockoutDurationInSeconds: 4, extra: 1 }, policyAdmin),
      400,
      7700001,
    );
    expect(bad['details']).toEqual({
      fields: [
        { field: 'body', problem: 'is not a setting', property: 'extra' },
        { field: 'body/lockoutThreshold', problem: 'must be a whole number from 1 to 100' },
        { field: 'body/lockoutDurationInSeconds', problem: 'must be a whole number from 5 to 86400' },
      ],
    });
    expectErrorCode(await patchSettings({ lockoutThreshold: 101 }, policyAdmin), 400, 7700001);
    expectErrorCode(await patchSettings({ lockoutThreshold: 5 }, reader), 403, 7700103);
    expectErrorCode(await patchSettings({ lockoutThreshold: 5 }, authAdmin), 403, 7700103);
    expectErrorCode(await patchSettings({ lockoutThreshold: 5 }, policyAdmin, '?preveiw=true'), 400, 7700001);
  });

  it('keeps only keyed fingerprints of bad passwords: never the password, nor an unkeyed hash of it', async () => {
    const marker = randomBytes(6).toString('hex');
    const user = await newUser();
    const bad = [0, 1, 2, 3].map((i) => `Canary-${marker}-Bad${i}!`);
    for (const pw of bad) await code(user.userPrincipalName, pw);
    const rows = await rekey.db.kysely
      .selectFrom('lockout_states')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    const stored = JSON.stringify(rows);
    const prints = rows.flatMap((r) => r.bad_fingerprints.split(','));
    expect(prints).toHaveLength(3);
    for (const print of prints) expect(print).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(stored).not.toContain(marker);
    for (const pw of bad) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        const unkeyed = createHash('sha256').update(pw).digest(encoding);
        expect(stored).not.toContain(unkeyed.slice(0, 16));
      }
    }
    expect(rekey.logLines.join('\n')).not.toContain(marker);
    const signIns = await rekey.db.kysely
      .selectFrom('sign_ins')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(JSON.stringify(signIns)).not.toContain(marker);
  });
});
