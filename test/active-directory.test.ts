import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdHarness,
  adScenarios,
  runDirectoryScenario,
  startAdHarness,
} from '../src/diagnose/diagnose-scenarios.test-support.js';
import type { DirectoryOutcome } from '../src/directories/directory-outcome.js';
import { describeDirectoryFailure, mapDirectoryFailure } from '../src/directories/directory-outcome.js';
import type { DirectoryTraceRecord } from '../src/directories/directory-trace.js';
import { refineActiveDirectoryError } from '../src/directories/ldap/active-directory-errors.js';
import {
  createLdapDirectory,
  type LdapConnectorSettings,
  type LdapDirectory,
} from '../src/directories/ldap/ldap-directory.js';
import { classifyLdapError } from '../src/directories/ldap/ldap-errors.js';
import { passwordMethodId } from '../src/passwords/password-routes.js';
import { systemClock } from '../src/platform/clock.js';
import type { DialectName } from '../src/platform/db/database.js';
import { Codes } from '../src/platform/errors/catalog.js';
import { systemContext } from '../src/platform/request-context.js';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from './support/cli-run.js';
import { dialects } from './support/databases.js';
import { bearer, type Json } from './support/http-helpers.js';
import { startTestRekey, type TestRekey } from './support/rekey-harness.js';
import {
  adConnectorBodyFor,
  type SambaUser,
  sambaUsers,
  startSambaDc,
  type TestSambaDc,
  unicodePwd,
} from './support/samba.js';
import { startWorker, stopWorker, type WorkerProcess, within } from './support/worker-process.js';

/*
 * Active Directory against a real domain controller: Samba's, provisioned for this file (its
 * LDAP ports are fixed, so every test that needs it is here, and the file runs its tests one
 * after the other except where a group says otherwise). Every directory answer this file expects
 * comes from the domain controller itself: the bind sub-codes of users in each state, the write
 * errors of unicodePwd modifies, the USNs of the sync.
 */

const context = { correlationId: 'ad-test' };

describe('Active Directory on a real Samba domain controller', () => {
  let dc: TestSambaDc;

  beforeAll(async () => {
    dc = await startSambaDc();
    console.info(`Samba AD provisioned in ${dc.provisionMs} ms`);
  }, 120_000);
  afterAll(async () => {
    await dc?.close();
  });

  function settings(overrides: Partial<LdapConnectorSettings> = {}): LdapConnectorSettings {
    return {
      flavor: 'activeDirectory',
      url: dc.url,
      startTls: false,
      caCertificate: dc.caCertificate,
      bindDn: dc.serviceAccount.upn,
      bindPassword: dc.serviceAccount.password,
      baseDn: dc.peopleDn,
      connectTimeoutMs: 2_000,
      operationTimeoutMs: 5_000,
      ...overrides,
    };
  }
  const directory = (overrides: Partial<LdapConnectorSettings> = {}): LdapDirectory =>
    createLdapDirectory(settings(overrides), { clock: systemClock });

  /** The failure of an outcome that must have failed. */
  function failureOf<T>(outcome: DirectoryOutcome<T>) {
    if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
    return outcome.failure;
  }

  async function binds(user: SambaUser | string, password: string): Promise<boolean> {
    const dn = typeof user === 'string' ? user : user.dn;
    const outcome = await directory().passwordBinds(dn, password, context);
    if (!outcome.ok) throw new Error(`bind check failed: ${describeDirectoryFailure(outcome.failure)}`);
    return outcome.value;
  }

  describe('pass-through sign-in: each bind sub-code of the domain controller', () => {
    it('signs in with the right password, and answers 52e (50126) for a wrong one or a missing user', async () => {
      expect((await directory().signIn(sambaUsers.kim.dn, sambaUsers.kim.password, context)).ok).toBe(true);
      const wrong = failureOf(await directory().signIn(sambaUsers.kim.dn, 'Not-Her-Pass-1', context));
      expect(wrong).toMatchObject({
        code: Codes.InvalidUserNameOrPassword,
        reason: 'invalidCredentials',
        ldapResultCode: 49,
        directoryCode: '52e',
      });
      // Samba answers 52e for a user that does not exist too (525 on Windows): both are 50126.
      const missing = failureOf(
        await directory().signIn(`CN=Nobody,${dc.peopleDn}`, 'Whatever-Pass-1', context),
      );
      expect(missing.code).toBe(Codes.InvalidUserNameOrPassword);
    });

    it.each([
      ['ned', '533', 'accountDisabled', Codes.UserDisabled],
      ['ace', '701', 'accountDisabled', Codes.UserDisabled],
      ['sam', '773', 'mustChangePassword', Codes.InvalidPasswordExpiredPassword],
      ['pam', '532', 'passwordExpired', Codes.InvalidPasswordExpiredOnPremPassword],
      ['hue', '530', 'logonHours', Codes.OnPremisePasswordValidationAccountLogonInvalidHours],
      ['wes', '531', 'workstationRestricted', Codes.OnPremisesWorkstationRestricted],
    ] as const)('%s: data %s is %s (%i)', async (name, subCode, reason, code) => {
      const user = sambaUsers[name];
      const failure = failureOf(await directory().signIn(user.dn, user.password, context));
      expect(failure).toMatchObject({ code, reason, ldapResultCode: 49, directoryCode: subCode });
      expect(failure.detail).toBeTruthy();
      // With a wrong password the domain controller says only 52e: the sub-codes prove the password.
      const wrong = failureOf(await directory().signIn(user.dn, 'Not-The-Pass-1', context));
      expect(wrong.directoryCode).toBe('52e');
    });

    it('a user locked out after the threshold of wrong binds gets 775: the lockout code with the on-premises cause', async () => {
      const user = sambaUsers.lou;
      for (let i = 0; i < 3; i += 1) {
        expect(failureOf(await directory().signIn(user.dn, `Wrong-Pass-${i}-X`, context)).directoryCode).toBe(
          '52e',
        );
      }
      const locked = failureOf(await directory().signIn(user.dn, user.password, context));
      expect(locked).toMatchObject({ code: Codes.IdsLocked, reason: 'accountLocked', directoryCode: '775' });
      expect(describeDirectoryFailure(locked)).toContain('locked out');
      // The self change of a locked user is refused as locked (120014), before any write.
      const change = failureOf(
        await directory().changePassword(
          { dn: user.dn, currentPassword: user.password, newPassword: 'Never-Written-Pass-1' },
          context,
        ),
      );
      expect(change).toMatchObject({
        code: Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
        retryable: false,
        directoryCode: '775',
      });
      // The retry check does not take 775 for a right password: it comes with any password.
      const check = failureOf(await directory().passwordBinds(user.dn, 'Any-Pass-At-All-1', context));
      expect(check.code).toBe(Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled);
    });
  });

  describe('writeback: unicodePwd modifies and their refusals', () => {
    it("changes a user's password bound as the user: delete the old value, add the new one", async () => {
      const user = sambaUsers.ann;
      const trace: DirectoryTraceRecord[] = [];
      const outcome = await createLdapDirectory(settings(), {
        clock: systemClock,
        traceSink: (record) => trace.push(record),
      }).changePassword(
        { dn: user.dn, currentPassword: user.password, newPassword: 'Amber-Falcon-62!' },
        context,
      );
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      expect(trace.map((record) => [record.operation, record.dn, record.resultCode])).toEqual([
        ['connect', undefined, 0],
        ['userBind', user.dn, 0],
        ['passwordModify', user.dn, 0],
      ]);
      expect(JSON.stringify(trace)).not.toContain('Amber-Falcon-62!');
      expect(await binds(user, 'Amber-Falcon-62!')).toBe(true);
      expect(await binds(user, user.password)).toBe(false);
    });

    it('0000052D: too short, in the history, or too young, which the code does not tell apart (120004)', async () => {
      const user = sambaUsers.ben;
      const change = (currentPassword: string, newPassword: string) =>
        directory().changePassword({ dn: user.dn, currentPassword, newPassword }, context);
      const short = failureOf(await change(user.password, 'Ab1!'));
      expect(short).toMatchObject({
        code: Codes.PasswordChangeOnPremComplexity,
        reason: 'passwordPolicy',
        ldapResultCode: 19,
        directoryCode: '0000052D',
        retryable: false,
      });
      expect(short.detail).toMatch(
        /too short, not complex enough, in the password history.*does not say which/,
      );
      expect((await change(user.password, 'Birch-Harbor-17!')).ok).toBe(true);
      // Back to the first one: in the history.
      const history = failureOf(await change('Birch-Harbor-17!', user.password));
      expect(history).toMatchObject({
        code: Codes.PasswordChangeOnPremComplexity,
        directoryCode: '0000052D',
      });
      // oli's policy lets a password change once a day: the one set at creation is too young.
      const oli = sambaUsers.oli;
      const young = failureOf(
        await directory().changePassword(
          { dn: oli.dn, currentPassword: oli.password, newPassword: 'Cedar-Window-28!' },
          context,
        ),
      );
      expect(young).toMatchObject({ code: Codes.PasswordChangeOnPremComplexity, directoryCode: '0000052D' });
      expect(await binds(oli, oli.password)).toBe(true);
    });

    it('a wrong current password is 120000, whether the bind (52e) or the write (00000056) finds it', async () => {
      const user = sambaUsers.cat;
      const failure = failureOf(
        await directory().changePassword(
          { dn: user.dn, currentPassword: 'Not-Cats-Pass-1', newPassword: 'Dune-Lantern-39!' },
          context,
        ),
      );
      expect(failure).toMatchObject({
        code: Codes.PasswordChangeIncorrectCurrentPassword,
        directoryCode: '52e',
      });
      // The write's own check, when the old value sent is not the password: the real answer,
      // classified as Rekey classifies it.
      const client = new Client({ url: dc.url, tlsOptions: { ca: [dc.caCertificate] } });
      let thrown: unknown;
      try {
        await client.bind(user.dn, user.password);
        await client.modify(user.dn, [
          new Change({
            operation: 'delete',
            modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd('Not-Cats-Pass-1')] }),
          }),
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd('Dune-Lantern-39!')] }),
          }),
        ]);
      } catch (error) {
        thrown = error;
      } finally {
        await client.unbind();
      }
      const classified = refineActiveDirectoryError(
        classifyLdapError(thrown, 'passwordModify', undefined),
        'passwordModify',
      );
      expect(classified).toMatchObject({
        reason: 'invalidCredentials',
        ldapResultCode: 19,
        directoryCode: '00000056',
      });
      expect(mapDirectoryFailure('writeback', classified.reason).code).toBe(
        Codes.PasswordChangeIncorrectCurrentPassword,
      );
      expect(await binds(user, user.password)).toBe(true);
    });

    it('a user who must change (773) or whose password expired (532) changes it through the service account', async () => {
      for (const [user, newPassword] of [
        [sambaUsers.sam, 'Ember-Quarry-51!'],
        [sambaUsers.pam, 'Fjord-Pillar-86!'],
      ] as const) {
        const trace: DirectoryTraceRecord[] = [];
        const outcome = await createLdapDirectory(settings(), {
          clock: systemClock,
          traceSink: (record) => trace.push(record),
        }).changePassword({ dn: user.dn, currentPassword: user.password, newPassword }, context);
        expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
        expect(trace.map((record) => record.operation)).toEqual([
          'connect',
          'userBind',
          'serviceBind',
          'passwordModify',
        ]);
        expect(await binds(user, newPassword)).toBe(true);
        expect((await directory().signIn(user.dn, newPassword, context)).ok).toBe(true);
      }
    });

    it('the retry check takes 530, 531, 533, 701 and 773 as a right password, 52e as a wrong one', async () => {
      for (const user of [sambaUsers.hue, sambaUsers.wes, sambaUsers.ned, sambaUsers.ace]) {
        expect(await binds(user, user.password)).toBe(true);
        expect(await binds(user, 'Not-The-Pass-2')).toBe(false);
      }
    });

    it('a disabled account (533) is refused as locked or disabled (120014); a missing one is 120016', async () => {
      const ned = sambaUsers.ned;
      expect(
        failureOf(
          await directory().changePassword(
            { dn: ned.dn, currentPassword: ned.password, newPassword: 'Garnet-Rover-14!' },
            context,
          ),
        ),
      ).toMatchObject({
        code: Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
        directoryCode: '533',
      });
      const gone = `CN=Gone Away,${dc.peopleDn}`;
      expect(
        failureOf(
          await directory().changePassword(
            { dn: gone, currentPassword: 'Gone-Pass-1', newPassword: 'Garnet-Rover-14!' },
            context,
          ),
        ),
      ).toMatchObject({ code: Codes.PasswordChangeUserNotFoundBySspr, reason: 'entryNotFound' });
      expect(
        failureOf(await directory().resetPassword({ dn: gone, newPassword: 'Garnet-Rover-14!' }, context)),
      ).toMatchObject({ code: Codes.PasswordChangeUserNotFoundBySspr, ldapResultCode: 32 });
    });

    it('resets with a replace by the service account; an account without the right gets 120015', async () => {
      const user = sambaUsers.dan;
      expect(
        (await directory().resetPassword({ dn: user.dn, newPassword: 'Harbor-Quill-73!' }, context)).ok,
      ).toBe(true);
      expect(await binds(user, 'Harbor-Quill-73!')).toBe(true);
      // A reset too is checked against the domain's length and complexity.
      expect(
        failureOf(await directory().resetPassword({ dn: user.dn, newPassword: 'short' }, context)),
      ).toMatchObject({ code: Codes.PasswordChangeOnPremComplexity, directoryCode: '0000052D' });
      const readOnly = directory({
        bindDn: dc.readOnlyAccount.upn,
        bindPassword: dc.readOnlyAccount.password,
      });
      expect(
        failureOf(await readOnly.resetPassword({ dn: user.dn, newPassword: 'Iris-Meadow-47!' }, context)),
      ).toMatchObject({
        code: Codes.PasswordChangeADAdminActionRequired,
        reason: 'insufficientAccess',
        ldapResultCode: 50,
        retryable: false,
      });
      expect(await binds(user, 'Harbor-Quill-73!')).toBe(true);
    });

    it('without TLS the domain controller refuses the bind: 120015, naming ldaps:// or startTls', async () => {
      const plain = directory({ url: dc.plainUrl, startTls: false });
      const failure = failureOf(
        await plain.resetPassword({ dn: sambaUsers.dan.dn, newPassword: 'Juniper-Coast-66!' }, context),
      );
      expect(failure).toMatchObject({
        code: Codes.PasswordChangeADAdminActionRequired,
        reason: 'confidentialityRequired',
        ldapResultCode: 8,
      });
      expect(failure.detail).toMatch(/ldaps:\/\/.*startTls/);
      // StartTLS on the same port is enough.
      const upgraded = directory({ url: dc.plainUrl, startTls: true });
      expect(
        (await upgraded.resetPassword({ dn: sambaUsers.dan.dn, newPassword: 'Juniper-Coast-66!' }, context))
          .ok,
      ).toBe(true);
    });

    it('a domain controller that cannot be reached is 120013, retryable', async () => {
      const failure = failureOf(
        await directory({ url: 'ldaps://127.0.0.1:1' }).resetPassword(
          { dn: sambaUsers.dan.dn, newPassword: 'Kelp-Orchard-12!' },
          context,
        ),
      );
      expect(failure).toMatchObject({
        code: Codes.PasswordChangeOnPremisesConnectivityFailure,
        reason: 'unreachable',
        retryable: true,
      });
    });
  });

  describe('through Rekey: the connector added by the CLI, sync, pass-through sign-in and writeback', () => {
    let cli: CliTestRekey;
    let rekey: TestRekey;
    let admin: string;
    let connectorId: string;

    beforeAll(async () => {
      cli = await startCliTestRekey('sqlite', 'rekey-ad-');
      rekey = cli.rekey;
      admin = await rekey.adminToken();
      await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
      const caFile = path.join(cli.dir, 'corp-ca.pem');
      writeFileSync(caFile, dc.caCertificate);
      const added = await runRekeyCli({ ...cli.env, AD_BIND_PASSWORD: dc.serviceAccount.password }, [
        'connectors',
        'add',
        '--display-name',
        'Corp domain',
        '--flavor',
        'activeDirectory',
        '--url',
        dc.url,
        '--ca-certificate-file',
        caFile,
        '--bind-dn',
        dc.serviceAccount.upn,
        '--bind-password-env',
        'AD_BIND_PASSWORD',
        '--base-dn',
        dc.peopleDn,
        '--writeback',
        '--json',
      ]);
      expect(added.code, added.err).toBe(0);
      const created = JSON.parse(added.out) as Record<string, unknown>;
      expect(created).toMatchObject({
        flavor: 'activeDirectory',
        userFilter: '(&(objectCategory=person)(objectClass=user))',
        attributes: { onPremisesImmutableId: 'objectGUID', onPremisesSamAccountName: 'sAMAccountName' },
      });
      connectorId = String(created['id']);
    }, 60_000);
    afterAll(async () => {
      await cli?.close();
    });

    async function sync(full = false): Promise<Record<string, unknown>> {
      const response = await rekey.app.inject({
        method: 'POST',
        url: `/rekey/v1/connectors/${connectorId}/sync${full ? '?full=true' : ''}`,
        headers: bearer(admin),
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json<Record<string, unknown>>();
    }

    async function graphUser(upn: string): Promise<Record<string, unknown>> {
      const response = await rekey.app.inject({
        method: 'GET',
        url: `/v1.0/users/${upn}?$select=id,displayName,accountEnabled,onPremisesImmutableId,onPremisesSamAccountName,onPremisesDistinguishedName,onPremisesSyncEnabled`,
        headers: bearer(admin),
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json<Record<string, unknown>>();
    }

    async function storedCursor(): Promise<Record<string, unknown>> {
      const row = await rekey.db.kysely
        .selectFrom('connectors')
        .select('last_sync_cursor')
        .where('id', '=', connectorId)
        .executeTakeFirstOrThrow();
      return JSON.parse(row.last_sync_cursor ?? 'null') as Record<string, unknown>;
    }

    async function setStoredCursor(cursor: Record<string, unknown>): Promise<void> {
      await rekey.db.kysely
        .updateTable('connectors')
        .set({ last_sync_cursor: JSON.stringify(cursor) })
        .where('id', '=', connectorId)
        .execute();
    }

    it('tests the connection with the CLI: LDAPS, bind by UPN, the users counted', async () => {
      const tested = await runRekeyCli(cli.env, ['connectors', 'test', connectorId, '--json']);
      expect(tested.code, `${tested.out}${tested.err}`).toBe(0);
      const report = JSON.parse(tested.out) as { steps: Array<Record<string, unknown>>; usersFound: number };
      expect(report.steps.map((step) => [step['step'], step['result']])).toEqual([
        ['connect', 'success'],
        ['startTls', 'skipped'],
        ['bind', 'success'],
        ['search', 'success'],
      ]);
      expect(report.usersFound).toBe(Object.keys(sambaUsers).length);
    });

    it('syncs in full: objectGUID in base64 as the immutable id, sAMAccountName, enabled from userAccountControl', async () => {
      const outcome = await sync();
      expect(outcome).toMatchObject({ result: 'success', mode: 'full' });
      expect(outcome['counts']).toMatchObject({ seen: Object.keys(sambaUsers).length, failed: 0 });
      const guid = await dc.admin(async (client) => {
        const { searchEntries } = await client.search(sambaUsers.eve.dn, {
          scope: 'base',
          attributes: ['objectGUID'],
          explicitBufferAttributes: ['objectGUID'],
        });
        return searchEntries[0]?.['objectGUID'] as Buffer;
      });
      expect(guid).toHaveLength(16);
      expect(await graphUser(sambaUsers.eve.upn)).toMatchObject({
        displayName: 'Eve Test',
        accountEnabled: true,
        onPremisesImmutableId: guid.toString('base64'),
        onPremisesSamAccountName: 'eve',
        onPremisesDistinguishedName: sambaUsers.eve.dn,
        onPremisesSyncEnabled: true,
      });
      // userAccountControl 514: ACCOUNTDISABLE set.
      expect(await graphUser(sambaUsers.ned.upn)).toMatchObject({ accountEnabled: false });
      const cursor = await storedCursor();
      expect(cursor['usn']).toMatch(/^\d+$/);
      expect(typeof cursor['invocationId']).toBe('string');
    });

    it('syncs incrementally by uSNChanged: only the entries changed since the last run', async () => {
      const before = await storedCursor();
      await dc.admin((client) =>
        client.modify(sambaUsers.jon.dn, [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'displayName', values: ['Jonathan Test'] }),
          }),
        ]),
      );
      await dc.admin((client) =>
        client.modify(sambaUsers.kim.dn, [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userAccountControl', values: ['514'] }),
          }),
        ]),
      );
      const newDn = await dc.addUser('zed', 'Dez-Start-Pass-1', { mail: 'zed@rekey.test' });
      const outcome = await sync();
      expect(outcome).toMatchObject({ result: 'success', mode: 'incremental' });
      expect(outcome['counts']).toMatchObject({ seen: 3, updated: 2, created: 1, failed: 0 });
      expect(await graphUser(sambaUsers.jon.upn)).toMatchObject({ displayName: 'Jonathan Test' });
      expect(await graphUser(sambaUsers.kim.upn)).toMatchObject({ accountEnabled: false });
      expect(await graphUser('zed@rekey.test')).toMatchObject({ onPremisesDistinguishedName: newDn });
      const after = await storedCursor();
      expect(BigInt(String(after['usn']))).toBeGreaterThan(BigInt(String(before['usn'])));
      expect(after['invocationId']).toBe(before['invocationId']);
      // Nothing changed since: the next run reads nothing.
      const quiet = await sync();
      expect(quiet).toMatchObject({ mode: 'incremental', counts: expect.objectContaining({ seen: 0 }) });
    });

    it('reads in full when the USN went backwards or the invocation id changed (a restore)', async () => {
      const cursor = await storedCursor();
      await setStoredCursor({ ...cursor, usn: String(BigInt(String(cursor['usn'])) + 1_000_000n) });
      const backwards = await sync();
      expect(backwards).toMatchObject({ result: 'success', mode: 'full' });
      expect(String(backwards['message'])).toMatch(/below the last run's/);
      expect((backwards['counts'] as Record<string, number>)['seen']).toBe(
        Object.keys(sambaUsers).length + 1,
      );
      await setStoredCursor({
        ...(await storedCursor()),
        invocationId: Buffer.alloc(16, 7).toString('base64'),
      });
      const moved = await sync();
      expect(moved).toMatchObject({ result: 'success', mode: 'full' });
      expect(String(moved['message'])).toMatch(/invocation id changed/);
      expect((await sync())['mode']).toBe('incremental');
    });

    it("checks synced users' passwords by binding as them: each sub-code reaches the token endpoint", async () => {
      expect(await rekey.signInCode(sambaUsers.eve.upn, sambaUsers.eve.password)).toBe(0);
      expect(await rekey.signInCode(sambaUsers.eve.upn, 'Not-Eves-Pass-1')).toBe(
        Codes.InvalidUserNameOrPassword,
      );
      expect(await rekey.signInCode(sambaUsers.ace.upn, sambaUsers.ace.password)).toBe(Codes.UserDisabled);
      expect(await rekey.signInCode(sambaUsers.hue.upn, sambaUsers.hue.password)).toBe(
        Codes.OnPremisePasswordValidationAccountLogonInvalidHours,
      );
      expect(await rekey.signInCode(sambaUsers.wes.upn, sambaUsers.wes.password)).toBe(
        Codes.OnPremisesWorkstationRestricted,
      );
      const mustChange = await dc.addUser('mia', 'Aim-Start-Pass-1', { pwdLastSet: '0' });
      await sync();
      expect((await graphUser('mia@rekey.test'))['onPremisesDistinguishedName']).toBe(mustChange);
      expect(await rekey.signInCode('mia@rekey.test', 'Aim-Start-Pass-1')).toBe(
        Codes.InvalidPasswordExpiredPassword,
      );
      // The sign-in log keeps what the directory said.
      const logged = await rekey.db.kysely
        .selectFrom('sign_ins')
        .selectAll()
        .where('user_principal_name', '=', sambaUsers.hue.upn)
        .execute();
      expect(JSON.stringify(logged)).toContain('530');
      // lou was locked out on the domain controller above: 775 whatever the password, answered
      // as a wrong password (signInErrorDisclosure uniform); the log keeps the lock.
      expect(await rekey.signInCode(sambaUsers.lou.upn, sambaUsers.lou.password)).toBe(
        Codes.InvalidUserNameOrPassword,
      );
      const lockLog = await rekey.db.kysely
        .selectFrom('sign_ins')
        .selectAll()
        .where('user_principal_name', '=', sambaUsers.lou.upn)
        .execute();
      expect(JSON.stringify(lockLog)).toContain('775');
    });

    it('a full run soft-deletes a user deleted on the domain controller', async () => {
      await dc.admin((client) => client.del(`CN=zed,${dc.peopleDn}`));
      const outcome = await sync(true);
      expect(outcome).toMatchObject({ result: 'success', mode: 'full' });
      expect(outcome['counts']).toMatchObject({ deleted: 1, failed: 0 });
      const response = await rekey.app.inject({
        method: 'GET',
        url: '/v1.0/users/zed@rekey.test',
        headers: bearer(admin),
      });
      expect(response.statusCode).toBe(404);
    });

    it("writes an administrator's reset and a user's own change back to the domain controller", async () => {
      const user = sambaUsers.fay;
      const id = String((await graphUser(user.upn))['id']);
      const accepted = await rekey.app.inject({
        method: 'POST',
        url: `/v1.0/users/${id}/authentication/methods/${passwordMethodId}/resetPassword`,
        headers: bearer(admin),
        payload: { newPassword: 'Lilac-Harbor-93!' },
      });
      expect(accepted.statusCode, accepted.body).toBe(202);
      const operationId = String(accepted.headers['location']).split('/').pop() ?? '';
      await rekey.operations.runOperation(operationId);
      expect(await rekey.operations.getOperation(operationId)).toMatchObject({ state: 'succeeded' });
      expect(await binds(user, 'Lilac-Harbor-93!')).toBe(true);
      expect(await binds(user, user.password)).toBe(false);
      // Rekey makes the user change a reset password first; that change goes back too, bound as the user.
      const changed = await rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        payload: {
          userPrincipalName: user.upn,
          currentPassword: 'Lilac-Harbor-93!',
          newPassword: 'Maple-Signal-48!',
        },
      });
      expect(changed.statusCode, changed.body).toBe(204);
      expect(await binds(user, 'Maple-Signal-48!')).toBe(true);
      expect(await rekey.signInCode(user.upn, 'Maple-Signal-48!')).toBe(0);
      expect(await rekey.signInCode(user.upn, 'Lilac-Harbor-93!')).toBe(Codes.InvalidUserNameOrPassword);
      const [change] = await rekey.db.kysely
        .selectFrom('password_operations')
        .select('id')
        .where('user_id', '=', id)
        .where('kind', '!=', 'adminReset')
        .execute();
      const calls = await rekey.app.inject({
        method: 'GET',
        url: `/rekey/v1/operations/${change?.id}/connectorCalls`,
        headers: bearer(admin),
      });
      // A kept connection may serve the call, so a connect step is there only for a new one.
      expect(
        calls
          .json<{ value: Array<Record<string, unknown>> }>()
          .value.map((call) => call['operation'])
          .filter((operation) => operation !== 'connect'),
      ).toEqual(['userBind', 'passwordModify']);
    });

    it("answers 120008 with cause 120004 and the honest detail when the domain's policy refuses the password", async () => {
      // oli's policy lets a password change once a day: the one set at creation is too young.
      const user = sambaUsers.oli;
      const token = await rekey.signIn(user.upn, user.password);
      const response = await rekey.app.inject({
        method: 'POST',
        url: '/v1.0/me/changePassword',
        payload: { currentPassword: user.password, newPassword: 'Willow-Canyon-84!' },
        headers: bearer(token),
      });
      expect(response.statusCode, response.body).toBe(400);
      const inner = response.json<{ error: { innerError: Record<string, unknown> } }>().error.innerError;
      expect(inner).toMatchObject({ aadstsCode: 120008, causeCode: Codes.PasswordChangeOnPremComplexity });
      const operation = await rekey.operations.getOperation(String(inner['operationId']));
      expect(operation).toMatchObject({
        state: 'terminated',
        error_code: Codes.PasswordChangeOnPremComplexity,
      });
      expect(operation?.error_detail).toContain('0000052D');
      expect(operation?.error_detail).toContain('does not say which');
      expect(await binds(user, user.password)).toBe(true);
    });
  });

  // The Active Directory rows of the troubleshooter's scenario suite (src/diagnose): here, because
  // this file owns the one domain controller.
  describe.each(dialects)('diagnose names the root cause of Active Directory failures on %s', (dialect) => {
    let h: AdHarness;

    beforeAll(async () => {
      h = await startAdHarness(dialect, dc);
    }, 60_000);
    afterAll(async () => {
      await h?.close();
    });

    adScenarios(dialect === 'sqlite' ? 's' : 'p').forEach((scenario, index) => {
      it(`${scenario.name}: verdict ${scenario.verdict} by user, by correlation ID and by code`, async () => {
        const run = await runDirectoryScenario(h, scenario, `ad-${dialect}-${index}`);
        for (const [how, report] of Object.entries(run.reports)) {
          expect(report.verdict.code, `${how}: ${JSON.stringify(report.verdict)}`).toBe(scenario.verdict);
          expect(report.findings.filter((f) => f.status === 'fail').length, how).toBeGreaterThan(0);
          expect(report.timeline.length, how).toBeGreaterThan(0);
          expect(JSON.stringify(report), how).not.toContain(dc.serviceAccount.password);
        }
        // The check that holds the cause shows it, with evidence, for the user and for the request.
        for (const report of [run.reports.user, run.reports.correlation]) {
          const named = report.findings.find((f) => f.check === scenario.check);
          expect(named?.status, JSON.stringify(named)).toBe('fail');
          expect(named?.evidence.length).toBeGreaterThan(0);
        }
        expect(run.reports.code.scope.usersAffected).toBeGreaterThanOrEqual(1);
      }, 60_000);
    });
  });

  describe('exactly once when a worker is SIGKILLed around the directory write', () => {
    // Each point has its own Rekey, database and user, so the points run side by side.
    const points = [
      { point: 'before:writeOnPremises', dialect: 'sqlite', user: sambaUsers.gus },
      { point: 'after:writeOnPremises', dialect: 'sqlite', user: sambaUsers.hal },
      { point: 'after:writeOnPremises', dialect: 'postgres', user: sambaUsers.max },
    ] as const;
    const instances: TestRekey[] = [];
    const workers: WorkerProcess[] = [];
    const databaseDirs: string[] = [];

    afterAll(async () => {
      await Promise.all(workers.map(stopWorker));
      await Promise.all(instances.map((instance) => instance.close()));
      for (const dir of databaseDirs) rmSync(dir, { recursive: true, force: true });
    });

    async function startSyncedRekey(dialect: DialectName): Promise<TestRekey> {
      const env: Record<string, string> = { REKEY_RUN_WORKER: 'false' };
      if (dialect === 'sqlite') {
        const dir = mkdtempSync(path.join(tmpdir(), 'rekey-ad-crash-'));
        databaseDirs.push(dir);
        env['REKEY_DATABASE_URL'] = `sqlite:${path.join(dir, 'rekey.sqlite')}`;
      }
      const instance = await startTestRekey(dialect, { env });
      instances.push(instance);
      const token = await instance.adminToken();
      await instance.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
      const created = await instance.app.inject({
        method: 'POST',
        url: '/rekey/v1/connectors',
        headers: bearer(token),
        payload: adConnectorBodyFor(dc, 'Corp domain', {
          connectTimeoutMs: 2000,
          operationTimeoutMs: 5000,
          writeback: true,
        }) as Json,
      });
      expect(created.statusCode, created.body).toBe(201);
      const synced = await instance.app.inject({
        method: 'POST',
        url: `/rekey/v1/connectors/${String(created.json<Json>()['id'])}/sync?full=true`,
        headers: bearer(token),
      });
      expect(synced.json<Json>()['result'], synced.body).toBe('success');
      return instance;
    }

    it.concurrent.each(points)(
      'a worker killed at $point ($dialect) writes the password once',
      async ({ point, dialect, user }) => {
        const newPassword = `Crash-${point.replace(':', '-')}-Quill-7!`;
        const instance = await startSyncedRekey(dialect);
        const token = await instance.adminToken();
        const userId = (await instance.users.getUser(user.upn)).id;
        const accepted = await instance.app.inject({
          method: 'POST',
          url: `/v1.0/users/${userId}/authentication/methods/${passwordMethodId}/resetPassword`,
          headers: bearer(token),
          payload: { newPassword },
        });
        expect(accepted.statusCode, accepted.body).toBe(202);
        const operationId = String(accepted.headers['location']).split('/').pop() ?? '';

        const faulty = startWorker(instance, { REKEY_FAULTS: `crash:${point}` });
        workers.push(faulty);
        const died = await within(60_000, `the worker to die at ${point}`, faulty.exited);
        expect(died, faulty.output).toEqual({ code: null, signal: 'SIGKILL' });
        expect(faulty.output).toContain(`REKEY_FAULTS: SIGKILL at ${point} of operation ${operationId}`);
        expect(await binds(user, newPassword)).toBe(point !== 'before:writeOnPremises');

        const clean = startWorker(instance, {});
        workers.push(clean);
        const giveUpAt = Date.now() + 60_000;
        let row = await instance.operations.getOperation(operationId);
        while (row?.state !== 'succeeded' && row?.state !== 'terminated' && Date.now() < giveUpAt) {
          if (clean.child.exitCode !== null) throw new Error(`the clean worker exited:\n${clean.output}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
          row = await instance.operations.getOperation(operationId);
        }
        await stopWorker(clean);
        expect(row, clean.output).toMatchObject({ state: 'succeeded', attempts: 2, secret_ciphertext: null });

        expect(await binds(user, newPassword)).toBe(true);
        expect(await binds(user, user.password)).toBe(false);
        expect(await instance.signInCode(user.upn, newPassword)).toBe(Codes.InvalidPasswordExpiredPassword);
        expect(await instance.signInCode(user.upn, user.password)).toBe(Codes.InvalidUserNameOrPassword);

        // One unicodePwd modify over both attempts: the retry after the write found it done by a bind.
        const trace = await instance.app.inject({
          method: 'GET',
          url: `/rekey/v1/operations/${operationId}/connectorCalls`,
          headers: bearer(token),
        });
        const calls = trace.json<{ value: Array<Record<string, unknown>> }>().value;
        expect(
          calls.filter((call) => call['operation'] === 'passwordModify'),
          JSON.stringify(calls),
        ).toHaveLength(1);
        const audits = await instance.db.kysely
          .selectFrom('directory_audits')
          .select(['result'])
          .where('additional_details', 'like', `%${operationId}%`)
          .execute();
        expect(audits.map((audit) => audit.result)).toEqual(['success']);
      },
      150_000,
    );
  });
});
