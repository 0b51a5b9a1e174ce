import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, type TestSlapd } from '../../../test/support/slapd.js';
import { fixtureUsers } from '../../../test/support/slapd-fixtures.js';
import { systemClock } from '../../platform/clock.js';
import { Codes } from '../../platform/errors/catalog.js';
import type { DirectoryOutcome } from '../directory-outcome.js';
import { createLdapDirectory, type LdapDirectory } from './ldap-directory.js';

/** The directory going away and coming back, mid-run: stopped, killed, frozen. */

const context = { correlationId: '4f1c2a8e-0000-4000-8000-000000000011' };

let slapd: TestSlapd;
let directory: LdapDirectory;

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
  directory = createLdapDirectory(
    {
      url: slapd.url,
      startTls: false,
      bindDn: slapd.serviceAccount.dn,
      bindPassword: slapd.serviceAccount.password,
      baseDn: slapd.peopleDn,
      connectTimeoutMs: 1_000,
      // Short, so a frozen directory times out quickly.
      operationTimeoutMs: 300,
    },
    { clock: systemClock },
  );
});

afterEach(async () => {
  slapd.resume();
  await slapd.start();
});

afterAll(async () => {
  await slapd.close();
});

describe('a directory that is down', () => {
  it('fails a change with 120013, retryable; once it is back the same change succeeds', async () => {
    const { ann } = fixtureUsers;
    const change = { dn: ann.dn, currentPassword: ann.password, newPassword: 'Ann-Second-Pass-2' };
    await slapd.stop();
    const outcome = await directory.changePassword(change, context);
    expect(failureOf(outcome)).toMatchObject({
      code: Codes.PasswordChangeOnPremisesConnectivityFailure,
      retryable: true,
      reason: 'unreachable',
      ldapResultCode: undefined,
      diagnostic: 'ECONNREFUSED',
    });
    expect(outcome.trace).toMatchObject([
      { operation: 'connect', resultCode: undefined, diagnostic: 'ECONNREFUSED' },
    ]);

    await slapd.start();
    successOf(await directory.changePassword(change, context));
    expect(successOf(await directory.signIn(ann.dn, 'Ann-Second-Pass-2', context)).dn).toBe(ann.dn);
  });

  it('fails a reset and a service bind with 120013, and a sign-in with 80001, all retryable', async () => {
    const { ben } = fixtureUsers;
    await slapd.kill();
    expect(
      failureOf(await directory.resetPassword({ dn: ben.dn, newPassword: 'Ben-Reset-Pass-2' }, context)),
    ).toMatchObject({ code: Codes.PasswordChangeOnPremisesConnectivityFailure, retryable: true });
    expect(failureOf(await directory.checkConnection(context))).toMatchObject({
      code: Codes.PasswordChangeOnPremisesConnectivityFailure,
      retryable: true,
    });
    expect(failureOf(await directory.signIn(ben.dn, ben.password, context))).toMatchObject({
      code: Codes.OnPremiseStoreIsNotAvailable,
      retryable: true,
      reason: 'unreachable',
    });
    await slapd.start();
    expect(successOf(await directory.signIn(ben.dn, ben.password, context)).dn).toBe(ben.dn);
  });
});

describe('a directory restarted between two calls', () => {
  it('costs nothing: the call after it runs on a new connection, and its trace shows only that run', async () => {
    const { eve } = fixtureUsers;
    // Leaves a kept connection, which the restart closes.
    successOf(await directory.checkConnection(context));
    await slapd.restart();
    const outcome = await directory.signIn(eve.dn, eve.password, context);
    expect(successOf(outcome).dn).toBe(eve.dn);
    expect(outcome.trace.map((r) => [r.operation, r.resultCode])).toEqual([
      ['connect', 0],
      ['userBind', 0],
    ]);
  });
});

describe('a directory that does not answer', () => {
  it('times a sign-in out as 80002 and a change as 120013, both retryable', async () => {
    const { cat } = fixtureUsers;
    await slapd.pause();
    const signIn = await directory.signIn(cat.dn, cat.password, context);
    expect(failureOf(signIn)).toMatchObject({
      code: Codes.OnPremisePasswordValidatorRequestTimedout,
      retryable: true,
      reason: 'timeout',
    });
    expect(signIn.trace.at(-1)).toMatchObject({ operation: 'userBind', resultCode: undefined });
    expect(signIn.trace.at(-1)?.latencyMs).toBeGreaterThanOrEqual(250);
    expect(
      failureOf(
        await directory.changePassword(
          { dn: cat.dn, currentPassword: cat.password, newPassword: 'Cat-New-Pass-2' },
          context,
        ),
      ),
    ).toMatchObject({
      code: Codes.PasswordChangeOnPremisesConnectivityFailure,
      retryable: true,
      reason: 'timeout',
    });
    slapd.resume();
    expect(successOf(await directory.signIn(cat.dn, cat.password, context)).dn).toBe(cat.dn);
  });

  it('killed while a change waits: 120013; the retry first checks whether the new password binds, then writes once', async () => {
    const { dan } = fixtureUsers;
    const newPassword = 'Dan-Second-Pass-2';
    await slapd.pause();
    const pending = directory.changePassword(
      { dn: dan.dn, currentPassword: dan.password, newPassword },
      context,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await slapd.kill();
    expect(failureOf(await pending)).toMatchObject({
      code: Codes.PasswordChangeOnPremisesConnectivityFailure,
      retryable: true,
    });
    await slapd.start();
    // The write never reached the directory: the new password does not bind yet, so retry it.
    expect(successOf(await directory.passwordBinds(dan.dn, newPassword, context))).toBe(false);
    successOf(
      await directory.changePassword({ dn: dan.dn, currentPassword: dan.password, newPassword }, context),
    );
    // Now it binds: a retry after this point must not write again.
    expect(successOf(await directory.passwordBinds(dan.dn, newPassword, context))).toBe(true);
  });
});
