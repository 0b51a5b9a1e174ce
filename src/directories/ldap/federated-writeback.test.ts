import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../../test/support/rekey-harness.js';
import { makeSigningCertificate } from '../../../test/support/signing-certificate.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../../test/support/slapd.js';
import { type FixtureUser, fixtureUsers } from '../../../test/support/slapd-fixtures.js';
import { systemClock } from '../../platform/clock.js';
import { systemContext } from '../../platform/request-context.js';
import { createLdapDirectory } from './ldap-directory.js';

/*
 * A federated domain whose directory Rekey writes back to, against a real slapd, on both
 * databases: the users synced from the writeback connector sign in by pass-through and change
 * their password in the directory, as if the domain were managed; a cloud user of the same domain
 * is the federation's (50126, 120012); and a written-back user without a writeback licence is
 * refused with 7701007, the directory left as it was.
 */

const p1 = '078d2b04-f1bd-4111-bbd4-b4b1b354cef4';

describe.each(dialects)('a federated domain written back to OpenLDAP on %s', (dialect) => {
  let slapd: TestSlapd;
  let rekey: TestRekey;
  let admin: string;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, 'Head office', { writeback: true }) as Json,
    });
    expect(created.statusCode, created.body).toBe(201);
    const synced = await rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/connectors/${String(created.json<Json>()['id'])}/sync`,
      headers: bearer(admin),
    });
    expect(synced.json<Json>()['result'], synced.body).toBe('success');
    const federated = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/domains/rekey.test/federationConfiguration',
      headers: bearer(admin),
      payload: {
        issuerUri: 'http://rekey.test/adfs/services/trust',
        passiveSignInUri: 'https://sts.rekey.test/adfs/ls',
        passwordResetUri: 'https://sts.rekey.test/adfs/portal/updatepassword',
        signingCertificate: makeSigningCertificate('sts.rekey.test'),
      },
    });
    expect(federated.statusCode, federated.body).toBe(201);
  });
  afterAll(async () => {
    await rekey?.close();
    await slapd?.close();
  });

  /** Whether the directory itself takes `password` for `user` (a bind as the user). */
  async function directoryBinds(user: FixtureUser, password: string): Promise<boolean> {
    const directory = createLdapDirectory(
      {
        url: slapd.url,
        startTls: false,
        bindDn: slapd.serviceAccount.dn,
        bindPassword: slapd.serviceAccount.password,
        baseDn: slapd.peopleDn,
      },
      { clock: systemClock },
    );
    const outcome = await directory.passwordBinds(user.dn, password, { correlationId: 'test' });
    if (!outcome.ok) throw new Error(`bind check failed: ${outcome.failure.reason}`);
    return outcome.value;
  }

  const changeOwn = (token: string, currentPassword: string, newPassword: string) =>
    rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword, newPassword },
      headers: bearer(token),
    });

  it('lets a written-back user sign in by pass-through and change the password in the directory', async () => {
    const user = fixtureUsers.ann;
    const token = await rekey.signIn(user.mail, user.password);
    const changed = await changeOwn(token, user.password, 'Amber-Quarry-61!');
    expect(changed.statusCode, changed.body).toBe(204);
    expect(await directoryBinds(user, 'Amber-Quarry-61!')).toBe(true);
    expect(await directoryBinds(user, user.password)).toBe(false);
    expect(await rekey.signInCode(user.mail, 'Amber-Quarry-61!')).toBe(0);
  });

  it('sends a cloud user of the same domain to the federation', async () => {
    const cloud = await rekey.createUser('cloud', 'Quiet-Harbor-7!', {
      userPrincipalName: 'cloud@rekey.test',
      onPremisesImmutableId: 'cloud-immutable-1',
    });
    expect(await rekey.signInCode('cloud@rekey.test', 'Quiet-Harbor-7!')).toBe(50126);
    const reset = await rekey.app.inject({
      method: 'PATCH',
      url: `/v1.0/users/${cloud.id}`,
      headers: bearer(admin),
      payload: { passwordProfile: { password: 'Brisk-Lantern-42!' } },
    });
    const inner = expectErrorCode(reset, 400, 120012);
    expect(inner['details']).toMatchObject({
      passwordResetUri: 'https://sts.rekey.test/adfs/portal/updatepassword',
    });
  });

  it('refuses a written-back user without a writeback licence with 7701007, the directory unchanged', async () => {
    const user = fixtureUsers.ben;
    const id = (await rekey.users.getUser(user.mail)).id;
    const removed = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${id}/assignLicense`,
      headers: bearer(admin),
      payload: { addLicenses: [], removeLicenses: [p1] },
    });
    expect(removed.statusCode, removed.body).toBe(200);
    // Signing in needs no licence: the directory checks the password.
    const token = await rekey.signIn(user.mail, user.password);
    expectErrorCode(await changeOwn(token, user.password, 'Amber-Quarry-62!'), 403, 7701007);
    expect(await directoryBinds(user, user.password)).toBe(true);
    expect(await directoryBinds(user, 'Amber-Quarry-62!')).toBe(false);
  });
});
