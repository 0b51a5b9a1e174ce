import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, type TestSlapd } from '../../../test/support/slapd.js';
import { fixtureUsers, peopleDn, readOnlyAccount } from '../../../test/support/slapd-fixtures.js';
import { systemClock } from '../../platform/clock.js';
import { Codes } from '../../platform/errors/catalog.js';
import { type DirectoryOutcome, directoryFailureToError } from '../directory-outcome.js';
import type { DirectoryTraceRecord } from '../directory-trace.js';
import { createLdapDirectory, type LdapConnectorSettings, type LdapDirectory } from './ldap-directory.js';

const context = { correlationId: '4f1c2a8e-0000-4000-8000-000000000010', operationId: 'op-1' };

let slapd: TestSlapd;
let directory: LdapDirectory;
const sunk: DirectoryTraceRecord[] = [];

function settingsFor(
  server: TestSlapd,
  overrides: Partial<LdapConnectorSettings> = {},
): LdapConnectorSettings {
  return {
    url: server.url,
    startTls: false,
    bindDn: server.serviceAccount.dn,
    bindPassword: server.serviceAccount.password,
    baseDn: server.peopleDn,
    connectTimeoutMs: 2_000,
    operationTimeoutMs: 2_000,
    connectorId: 'connector-1',
    ...overrides,
  };
}

/** The failure of an outcome that must have failed. */
function failureOf<T>(outcome: DirectoryOutcome<T>) {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.failure;
}

function successOf<T>(outcome: DirectoryOutcome<T>): T {
  if (!outcome.ok) throw new Error(`expected success, got ${JSON.stringify(outcome.failure)}`);
  return outcome.value;
}

beforeAll(async () => {
  slapd = await startSlapd();
  // No kept connections, so each trace below starts with its own connect (see 'kept connections').
  directory = createLdapDirectory(settingsFor(slapd, { maxIdleConnections: 0 }), {
    clock: systemClock,
    traceSink: (r) => sunk.push(r),
  });
});

afterAll(async () => {
  await slapd.close();
});

describe('kept connections', () => {
  it('a later call reuses the connection and binds again before anything else; close() ends them', async () => {
    const pooled = createLdapDirectory(settingsFor(slapd), { clock: systemClock });
    const { fay } = fixtureUsers;
    const steps = <T>(outcome: DirectoryOutcome<T>) => outcome.trace.map((r) => [r.operation, r.resultCode]);
    expect(steps(await pooled.checkConnection(context))).toEqual([
      ['connect', 0],
      ['serviceBind', 0],
    ]);
    // The same connection, now bound as fay.
    const signedIn = await pooled.signIn(fay.dn, fay.password, context);
    expect(steps(signedIn)).toEqual([['userBind', 0]]);
    // A failed bind on it leaves it anonymous; the next call binds as the service account again.
    expect(steps(await pooled.signIn(fay.dn, 'Not-Fay-Pass-1', context))).toEqual([['userBind', 49]]);
    expect(steps(await pooled.findUserByDn(fay.dn, context))).toEqual([
      ['serviceBind', 0],
      ['search', 0],
    ]);
    await pooled.close();
    expect(steps(await pooled.checkConnection(context))).toEqual([
      ['connect', 0],
      ['serviceBind', 0],
    ]);
  });
});

describe('the service account', () => {
  it('binds, and the trace shows each step with its result and latency, and no secret', async () => {
    const outcome = await directory.checkConnection(context);
    expect(outcome.ok).toBe(true);
    expect(outcome.trace.map((r) => [r.operation, r.dn, r.resultCode])).toEqual([
      ['connect', undefined, 0],
      ['serviceBind', slapd.serviceAccount.dn, 0],
    ]);
    for (const record of outcome.trace) {
      expect(record.correlationId).toBe(context.correlationId);
      expect(record.operationId).toBe('op-1');
      expect(record.connectorId).toBe('connector-1');
      expect(record.latencyMs).toBeGreaterThanOrEqual(0);
      expect(sunk).toContain(record);
    }
    expect(JSON.stringify(outcome)).not.toContain(slapd.serviceAccount.password);
  });

  it('with a wrong bind password fails as configuration (120015), not retryable', async () => {
    const wrong = createLdapDirectory(settingsFor(slapd, { bindPassword: 'not-the-password' }), {
      clock: systemClock,
    });
    const failure = failureOf(await wrong.checkConnection(context));
    expect(failure).toMatchObject({
      code: Codes.PasswordChangeADAdminActionRequired,
      retryable: false,
      reason: 'serviceBindFailed',
      ldapResultCode: 49,
    });
    expect(directoryFailureToError(failure).details).toEqual({
      onPremisesReason: 'serviceBindFailed',
      ldapResultCode: 49,
    });
  });

  it('finds a user by DN and by filter, and says when there is none', async () => {
    const { ann } = fixtureUsers;
    const entry = successOf(await directory.findUserByDn(ann.dn, context, ['mail', 'entryUUID']));
    expect(entry?.dn).toBe(ann.dn);
    expect(entry?.attributes['mail']).toEqual([ann.mail]);
    expect(entry?.attributes['entryUUID']?.[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(successOf(await directory.findUserByDn(`uid=nobody,${peopleDn}`, context))).toBeUndefined();
    const found = successOf(await directory.findUsers('(uid=ann)', context, { attributes: ['uid'] }));
    expect(found.map((e) => e.dn)).toEqual([ann.dn]);
    const all = successOf(await directory.findUsers(undefined, context, { attributes: ['uid'] }));
    expect(all.length).toBe(Object.keys(fixtureUsers).length);
  });
});

describe('pass-through sign-in', () => {
  it('accepts the right password', async () => {
    const { ann } = fixtureUsers;
    const outcome = await directory.signIn(ann.dn, ann.password, context);
    expect(successOf(outcome)).toEqual({
      dn: ann.dn,
      secondsBeforeExpiration: undefined,
      graceBindsRemaining: undefined,
    });
    expect(outcome.trace.at(-1)).toMatchObject({ operation: 'userBind', dn: ann.dn, resultCode: 0 });
  });

  it('refuses a wrong password and a missing entry alike (50126)', async () => {
    const { ann } = fixtureUsers;
    expect(failureOf(await directory.signIn(ann.dn, 'Wrong-Password-1', context))).toMatchObject({
      code: Codes.InvalidUserNameOrPassword,
      retryable: false,
      reason: 'invalidCredentials',
      ldapResultCode: 49,
    });
    expect(
      failureOf(await directory.signIn(`uid=nobody,${peopleDn}`, 'Wrong-Password-1', context)),
    ).toMatchObject({ code: Codes.InvalidUserNameOrPassword });
  });

  it('never sends an empty password, which would bind anonymously', async () => {
    const outcome = await directory.signIn(fixtureUsers.ann.dn, '', context);
    expect(failureOf(outcome).code).toBe(Codes.InvalidUserNameOrPassword);
    expect(outcome.trace).toEqual([]);
  });

  it('answers 50144 for a password expired on-premises, with the reason from the control', async () => {
    const { pam } = fixtureUsers;
    expect(failureOf(await directory.signIn(pam.dn, pam.password, context))).toMatchObject({
      code: Codes.InvalidPasswordExpiredOnPremPassword,
      reason: 'passwordExpired',
      ppolicyError: 'passwordExpired',
      ldapResultCode: 49,
    });
  });

  it('answers 50144 when an administrator set the password and the user must change it', async () => {
    const { sam } = fixtureUsers;
    expect(failureOf(await directory.signIn(sam.dn, sam.password, context))).toMatchObject({
      code: Codes.InvalidPasswordExpiredOnPremPassword,
      reason: 'changeAfterReset',
      ppolicyError: 'changeAfterReset',
    });
  });

  it('answers 50053 for an account the directory locked after failed binds, with the cause', async () => {
    const { lou } = fixtureUsers;
    for (let i = 0; i < 3; i += 1) {
      expect(failureOf(await directory.signIn(lou.dn, `Wrong-Password-${i}`, context)).code).toBe(
        Codes.InvalidUserNameOrPassword,
      );
    }
    const failure = failureOf(await directory.signIn(lou.dn, lou.password, context));
    expect(failure).toMatchObject({
      code: Codes.IdsLocked,
      reason: 'accountLocked',
      ppolicyError: 'accountLocked',
    });
    expect(directoryFailureToError(failure).details).toMatchObject({
      onPremisesPolicyError: 'accountLocked',
    });
  });

  it('answers 50053 for an account an administrator locked (disabled)', async () => {
    const { ned } = fixtureUsers;
    expect(failureOf(await directory.signIn(ned.dn, ned.password, context))).toMatchObject({
      code: Codes.IdsLocked,
      reason: 'accountLocked',
    });
  });

  it('passes on the warning of a password about to expire', async () => {
    const { ray } = fixtureUsers;
    const signedIn = successOf(await directory.signIn(ray.dn, ray.password, context));
    expect(signedIn.secondsBeforeExpiration).toBeGreaterThan(21 * 3600);
  });
});

describe('a user changing their own password', () => {
  it('writes it: the new password binds and the old one no longer does', async () => {
    const { ben } = fixtureUsers;
    const outcome = await directory.changePassword(
      { dn: ben.dn, currentPassword: ben.password, newPassword: 'Ben-Second-Pass-2' },
      context,
    );
    expect(successOf(outcome).dn).toBe(ben.dn);
    expect(outcome.trace.map((r) => [r.operation, r.resultCode])).toEqual([
      ['connect', 0],
      ['userBind', 0],
      ['passwordModify', 0],
    ]);
    expect(JSON.stringify(outcome)).not.toMatch(/Ben-Second-Pass-2|Ben-Start-Pass-1/);
    expect(successOf(await directory.signIn(ben.dn, 'Ben-Second-Pass-2', context)).dn).toBe(ben.dn);
    expect(failureOf(await directory.signIn(ben.dn, ben.password, context)).code).toBe(
      Codes.InvalidUserNameOrPassword,
    );
  });

  it('with a wrong current password: 120000', async () => {
    const { cat } = fixtureUsers;
    const failure = failureOf(
      await directory.changePassword(
        { dn: cat.dn, currentPassword: 'Wrong-Pass-9', newPassword: 'Cat-New-Pass-2' },
        context,
      ),
    );
    expect(failure).toMatchObject({
      code: Codes.PasswordChangeIncorrectCurrentPassword,
      retryable: false,
      reason: 'invalidCredentials',
    });
  });

  it.each([
    ['too short', 'dan', 'Sh0rt!', 'passwordTooShort'],
    [
      'already hashed, so its quality cannot be checked',
      'fay',
      '{SSHA}Looks-Already-Hashed',
      'insufficientPasswordQuality',
    ],
    ['the current one (history)', 'eve', fixtureUsers.eve.password, 'passwordInHistory'],
    ['changed too recently (minimum age)', 'oli', 'Oli-Second-Pass-2', 'passwordTooYoung'],
  ] as const)(
    'refused as %s: 120004 with the precise reason',
    async (_case, uid, newPassword, ppolicyError) => {
      const user = fixtureUsers[uid];
      const outcome = await directory.changePassword(
        { dn: user.dn, currentPassword: user.password, newPassword },
        context,
      );
      expect(failureOf(outcome)).toMatchObject({
        code: Codes.PasswordChangeOnPremComplexity,
        retryable: false,
        reason: 'passwordPolicy',
        ppolicyError,
        ldapResultCode: 19,
      });
      expect(outcome.trace.at(-1)).toMatchObject({
        operation: 'passwordModify',
        resultCode: 19,
        ppolicy: { error: ppolicyError },
      });
      expect(directoryFailureToError(failureOf(outcome)).details).toMatchObject({
        onPremisesPolicyError: ppolicyError,
      });
    },
  );

  it('refuses a password used before (history of 3), after a change away from it', async () => {
    const { hal } = fixtureUsers;
    successOf(
      await directory.changePassword(
        { dn: hal.dn, currentPassword: hal.password, newPassword: 'Hal-Second-Pass-2' },
        context,
      ),
    );
    const failure = failureOf(
      await directory.changePassword(
        { dn: hal.dn, currentPassword: 'Hal-Second-Pass-2', newPassword: hal.password },
        context,
      ),
    );
    expect(failure).toMatchObject({
      code: Codes.PasswordChangeOnPremComplexity,
      ppolicyError: 'passwordInHistory',
    });
  });

  it('of a locked (disabled) account: 120014', async () => {
    const { ned } = fixtureUsers;
    expect(
      failureOf(
        await directory.changePassword(
          { dn: ned.dn, currentPassword: ned.password, newPassword: 'Ned-New-Pass-2' },
          context,
        ),
      ),
    ).toMatchObject({
      code: Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
      retryable: false,
      reason: 'accountLocked',
      ppolicyError: 'accountLocked',
    });
  });

  it('whose entry is gone: 120016', async () => {
    const failure = failureOf(
      await directory.changePassword(
        { dn: `uid=gone,${peopleDn}`, currentPassword: 'Gone-Pass-1', newPassword: 'Gone-Pass-2' },
        context,
      ),
    );
    expect(failure).toMatchObject({
      code: Codes.PasswordChangeUserNotFoundBySspr,
      retryable: false,
      reason: 'entryNotFound',
    });
  });

  it('whose password has expired: written through the service account with the old password as proof', async () => {
    const { quin } = fixtureUsers;
    const outcome = await directory.changePassword(
      { dn: quin.dn, currentPassword: quin.password, newPassword: 'Quin-Second-Pass-2' },
      context,
    );
    expect(outcome.trace.map((r) => [r.operation, r.resultCode])).toEqual([
      ['connect', 0],
      ['userBind', 49],
      ['serviceBind', 0],
      ['passwordModify', 0],
    ]);
    successOf(outcome);
    expect(successOf(await directory.signIn(quin.dn, 'Quin-Second-Pass-2', context)).dn).toBe(quin.dn);
  });

  it('whose password has expired, with a wrong old password: still 120000', async () => {
    const { pam } = fixtureUsers;
    expect(
      failureOf(
        await directory.changePassword(
          { dn: pam.dn, currentPassword: 'Not-Pams-Pass-1', newPassword: 'Pam-New-Pass-2' },
          context,
        ),
      ),
    ).toMatchObject({ code: Codes.PasswordChangeIncorrectCurrentPassword });
  });
});

describe('an admin reset through the service account', () => {
  it('writes the new password', async () => {
    const { gus } = fixtureUsers;
    const outcome = await directory.resetPassword({ dn: gus.dn, newPassword: 'Gus-Reset-Pass-2' }, context);
    expect(outcome.trace.map((r) => [r.operation, r.dn, r.resultCode])).toEqual([
      ['connect', undefined, 0],
      ['serviceBind', slapd.serviceAccount.dn, 0],
      ['passwordModify', gus.dn, 0],
    ]);
    successOf(outcome);
    expect(successOf(await directory.signIn(gus.dn, 'Gus-Reset-Pass-2', context)).dn).toBe(gus.dn);
    expect(failureOf(await directory.signIn(gus.dn, gus.password, context)).code).toBe(
      Codes.InvalidUserNameOrPassword,
    );
  });

  it('is still held to the quality rules: 120004', async () => {
    const { ivy } = fixtureUsers;
    expect(
      failureOf(await directory.resetPassword({ dn: ivy.dn, newPassword: 'short' }, context)),
    ).toMatchObject({
      code: Codes.PasswordChangeOnPremComplexity,
      ppolicyError: 'passwordTooShort',
    });
  });

  it('of an entry that is gone: 120016', async () => {
    expect(
      failureOf(
        await directory.resetPassword({ dn: `uid=gone,${peopleDn}`, newPassword: 'Gone-Pass-2' }, context),
      ),
    ).toMatchObject({ code: Codes.PasswordChangeUserNotFoundBySspr, reason: 'entryNotFound' });
  });

  it('by an account without the right to write passwords: 120015', async () => {
    const readOnly = createLdapDirectory(
      settingsFor(slapd, { bindDn: readOnlyAccount.dn, bindPassword: readOnlyAccount.password }),
      { clock: systemClock },
    );
    expect(
      failureOf(
        await readOnly.resetPassword({ dn: fixtureUsers.kim.dn, newPassword: 'Kim-Reset-Pass-2' }, context),
      ),
    ).toMatchObject({
      code: Codes.PasswordChangeADAdminActionRequired,
      retryable: false,
      reason: 'insufficientAccess',
      ldapResultCode: 50,
    });
    expect(
      successOf(await directory.signIn(fixtureUsers.kim.dn, fixtureUsers.kim.password, context)).dn,
    ).toBe(fixtureUsers.kim.dn);
  });

  it('by a service account whose password is wrong: 120015', async () => {
    const wrong = createLdapDirectory(settingsFor(slapd, { bindPassword: 'wrong' }), { clock: systemClock });
    expect(
      failureOf(
        await wrong.resetPassword({ dn: fixtureUsers.kim.dn, newPassword: 'Kim-Reset-Pass-2' }, context),
      ),
    ).toMatchObject({ code: Codes.PasswordChangeADAdminActionRequired, reason: 'serviceBindFailed' });
  });
});

describe('does this password already bind (the check before retrying a write)', () => {
  it('is true for the current password, false for another, and true for an expired one', async () => {
    const { ann, pam } = fixtureUsers;
    expect(successOf(await directory.passwordBinds(ann.dn, ann.password, context))).toBe(true);
    expect(successOf(await directory.passwordBinds(ann.dn, 'Ann-Not-Yet-Pass-2', context))).toBe(false);
    expect(successOf(await directory.passwordBinds(ann.dn, '', context))).toBe(false);
    expect(successOf(await directory.passwordBinds(pam.dn, pam.password, context))).toBe(true);
  });

  it('fails with the writeback code when the account is locked: it cannot tell', async () => {
    const { ned } = fixtureUsers;
    expect(failureOf(await directory.passwordBinds(ned.dn, ned.password, context)).code).toBe(
      Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
    );
  });
});

describe('a paged read of the users (what a sync reads)', () => {
  const attributes = ['uid', 'mail', 'entryUUID'];

  async function readAll(pageSize: number): Promise<string[][]> {
    const pages: string[][] = [];
    successOf(
      await directory.searchUsersPaged(undefined, context, {
        attributes,
        pageSize,
        onPage: async (entries) => {
          pages.push(entries.map((entry) => entry.dn));
        },
      }),
    );
    return pages;
  }

  it('gives every user once, page by page in order, one page handled at a time while the next is read', async () => {
    const [all] = await readAll(1000);
    expect(all?.length).toBeGreaterThan(4);
    let handling = 0;
    let mostAtOnce = 0;
    const pages: string[][] = [];
    const read = successOf(
      await directory.searchUsersPaged(undefined, context, {
        attributes,
        pageSize: 2,
        onPage: async (entries) => {
          handling += 1;
          mostAtOnce = Math.max(mostAtOnce, handling);
          // Long enough for the next page to arrive meanwhile: it must wait for this one.
          await new Promise((resolve) => setTimeout(resolve, 20));
          pages.push(entries.map((entry) => entry.dn));
          handling -= 1;
        },
      }),
    );
    expect(mostAtOnce).toBe(1);
    expect(read).toBe(all?.length);
    expect(pages.every((page) => page.length > 0 && page.length <= 2)).toBe(true);
    expect(pages.flat()).toEqual(all);
  });

  it("ends at the page whose handling failed, with Rekey's own error, and the directory still answers", async () => {
    const handled: number[] = [];
    const failure = new Error('the page could not be written');
    const outcome = directory.searchUsersPaged(undefined, context, {
      attributes,
      pageSize: 2,
      onPage: async (entries) => {
        handled.push(entries.length);
        if (handled.length === 2) throw failure;
      },
    });
    await expect(outcome).rejects.toBe(failure);
    expect(handled).toEqual([2, 2]);
    expect((await readAll(1000)).flat().length).toBeGreaterThan(4);
  });
});
