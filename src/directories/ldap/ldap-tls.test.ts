import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, type TestSlapd } from '../../../test/support/slapd.js';
import { fixtureUsers } from '../../../test/support/slapd-fixtures.js';
import { systemClock } from '../../platform/clock.js';
import { Codes } from '../../platform/errors/catalog.js';
import type { DirectoryOutcome } from '../directory-outcome.js';
import { createLdapDirectory, type LdapConnectorSettings } from './ldap-directory.js';

/**
 * Protected connections: ldaps:// and StartTLS against a slapd with a throwaway certificate that
 * refuses simple binds on an unprotected connection (`security simple_bind=64`).
 */

const context = { correlationId: '4f1c2a8e-0000-4000-8000-000000000012' };

let tlsSlapd: TestSlapd;
let plainSlapd: TestSlapd;

function settingsFor(server: TestSlapd, overrides: Partial<LdapConnectorSettings>): LdapConnectorSettings {
  return {
    url: server.url,
    startTls: false,
    bindDn: server.serviceAccount.dn,
    bindPassword: server.serviceAccount.password,
    baseDn: server.peopleDn,
    connectTimeoutMs: 2_000,
    operationTimeoutMs: 2_000,
    ...overrides,
  };
}

function failureOf<T>(outcome: DirectoryOutcome<T>) {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.failure;
}

beforeAll(async () => {
  [tlsSlapd, plainSlapd] = await Promise.all([
    startSlapd({ tls: true, extraGlobalConfig: ['security simple_bind=64'] }),
    startSlapd(),
  ]);
});

afterAll(async () => {
  await Promise.all([tlsSlapd.close(), plainSlapd.close()]);
});

describe('a protected connection', () => {
  it('over ldaps:// with the CA certificate: binds, signs in and writes', async () => {
    const directory = createLdapDirectory(
      settingsFor(tlsSlapd, { url: tlsSlapd.ldapsUrl, caCertificate: tlsSlapd.caCertificate }),
      { clock: systemClock },
    );
    expect((await directory.checkConnection(context)).ok).toBe(true);
    const { ann } = fixtureUsers;
    expect((await directory.signIn(ann.dn, ann.password, context)).ok).toBe(true);
    expect((await directory.resetPassword({ dn: ann.dn, newPassword: 'Ann-Tls-Pass-2' }, context)).ok).toBe(
      true,
    );
  });

  it('over ldap:// upgraded with StartTLS: binds and changes a password', async () => {
    const directory = createLdapDirectory(
      settingsFor(tlsSlapd, { startTls: true, caCertificate: tlsSlapd.caCertificate }),
      { clock: systemClock },
    );
    const { ben } = fixtureUsers;
    const outcome = await directory.changePassword(
      { dn: ben.dn, currentPassword: ben.password, newPassword: 'Ben-Tls-Pass-2' },
      context,
    );
    expect(outcome.ok).toBe(true);
    expect(outcome.trace.map((r) => [r.operation, r.resultCode])).toEqual([
      ['connect', 0],
      ['userBind', 0],
      ['passwordModify', 0],
    ]);
  });

  it('checks the certificate by default: an untrusted one is a configuration failure (120015 / 80007)', async () => {
    const directory = createLdapDirectory(settingsFor(tlsSlapd, { url: tlsSlapd.ldapsUrl }), {
      clock: systemClock,
    });
    expect(failureOf(await directory.checkConnection(context))).toMatchObject({
      code: Codes.PasswordChangeADAdminActionRequired,
      retryable: false,
      reason: 'tlsFailure',
    });
    const { cat } = fixtureUsers;
    expect(failureOf(await directory.signIn(cat.dn, cat.password, context))).toMatchObject({
      code: Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
      retryable: false,
      reason: 'tlsFailure',
    });
    const startTls = createLdapDirectory(settingsFor(tlsSlapd, { startTls: true }), { clock: systemClock });
    expect(failureOf(await startTls.checkConnection(context)).reason).toBe('tlsFailure');
  });

  it('can be told not to check the certificate (a lab only)', async () => {
    const directory = createLdapDirectory(
      settingsFor(tlsSlapd, { url: tlsSlapd.ldapsUrl, checkCertificate: false }),
      {
        clock: systemClock,
      },
    );
    expect((await directory.checkConnection(context)).ok).toBe(true);
  });

  it('required by the directory but not used: 120015 for writes, 80007 for sign-in', async () => {
    const directory = createLdapDirectory(settingsFor(tlsSlapd, {}), { clock: systemClock });
    expect(failureOf(await directory.checkConnection(context))).toMatchObject({
      code: Codes.PasswordChangeADAdminActionRequired,
      retryable: false,
      reason: 'confidentialityRequired',
      ldapResultCode: 13,
    });
    const { dan } = fixtureUsers;
    expect(failureOf(await directory.signIn(dan.dn, dan.password, context))).toMatchObject({
      code: Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
      reason: 'confidentialityRequired',
    });
  });

  it('StartTLS against a directory without TLS: 120015', async () => {
    const directory = createLdapDirectory(settingsFor(plainSlapd, { startTls: true }), {
      clock: systemClock,
    });
    const outcome = await directory.checkConnection(context);
    expect(failureOf(outcome)).toMatchObject({
      code: Codes.PasswordChangeADAdminActionRequired,
      retryable: false,
      reason: 'tlsFailure',
    });
    expect(outcome.trace.map((r) => r.operation)).toEqual(['connect']);
  });
});
