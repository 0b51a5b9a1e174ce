import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.js';
import { bearer, type Json } from '../../../test/support/http-helpers.js';
import { lineSink, startTestRekey, type TestRekey } from '../../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../../test/support/slapd.js';
import { type FixtureUser, fixtureUsers } from '../../../test/support/slapd-fixtures.js';
import { createOperationEngine, defaultOperationSettings } from '../../operations/operation-engine.js';
import { createPasswordJobs } from '../../passwords/password-operation.js';
import { passwordMethodId } from '../../passwords/password-routes.js';
import type { Clock } from '../../platform/clock.js';
import { createArgon2Hasher } from '../../platform/crypto/password-hasher.js';
import { createSecretBox } from '../../platform/crypto/secret-box.js';
import { loadSecretKey } from '../../platform/crypto/secret-key.js';
import { createLogger } from '../../platform/log.js';
import { systemContext } from '../../platform/request-context.js';
import { createLdapDirectoryPorts } from './ldap-connector-ports.js';
import { createLdapDirectory } from './ldap-directory.js';

/*
 * Writeback against a real slapd, through Rekey's API, on both databases: a synced user's own
 * change binds as the user, an admin reset writes as the service account, and each directory
 * answer reaches the caller as its code (120008 with the cause, the ppolicy reason kept). A
 * stopped slapd makes the operation retry (driven by a clock the test moves), and a directory
 * write whose cloud commit failed is finished by the next attempt without writing twice.
 */

/** A clock that only moves when the test moves it. */
class TestClock implements Clock {
  private current = new Date();

  now(): Date {
    return new Date(this.current);
  }

  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }

  set(at: Date): void {
    this.current = new Date(at);
  }
}

describe.each(dialects)('writeback to OpenLDAP on %s', (dialect) => {
  const clock = new TestClock();
  let slapd: TestSlapd;
  let rekey: TestRekey;
  let admin: string;
  let connectorId: string;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    rekey = await startTestRekey(dialect, {
      clock,
      env: { REKEY_CHANGE_WAIT: '2', REKEY_OPERATION_BACKOFF_BASE: '1', REKEY_OPERATION_BACKOFF_MAX: '1' },
    });
    admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, 'Head office', {
        connectTimeoutMs: 1000,
        operationTimeoutMs: 3000,
        writeback: true,
      }) as Json,
    });
    expect(created.statusCode, created.body).toBe(201);
    connectorId = String(created.json<Json>()['id']);
    const synced = await rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/connectors/${connectorId}/sync`,
      headers: bearer(admin),
    });
    expect(synced.json<Json>()['result'], synced.body).toBe('success');
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
      { clock },
    );
    const outcome = await directory.passwordBinds(user.dn, password, { correlationId: 'test' });
    if (!outcome.ok) throw new Error(`bind check failed: ${outcome.failure.reason}`);
    return outcome.value;
  }

  async function userId(user: FixtureUser): Promise<string> {
    const found = await rekey.users.getUser(user.mail);
    return found.id;
  }

  /** An administrator's reset through Graph: accepted (202), left for the test to run. */
  async function acceptReset(user: FixtureUser, newPassword: string): Promise<string> {
    const response = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${await userId(user)}/authentication/methods/${passwordMethodId}/resetPassword`,
      headers: bearer(admin),
      payload: { newPassword },
    });
    expect(response.statusCode, response.body).toBe(202);
    return String(response.headers['location']).split('/').pop() ?? '';
  }

  async function operationRow(id: string) {
    const row = await rekey.operations.getOperation(id);
    if (!row) throw new Error(`no operation ${id}`);
    return row;
  }

  /** Resets `user` to `password` (directory and cloud), so the user can sign in and change it. */
  async function resetTo(user: FixtureUser, password: string): Promise<string> {
    const id = await acceptReset(user, password);
    await rekey.operations.runOperation(id);
    expect(await operationRow(id)).toMatchObject({ state: 'succeeded' });
    return id;
  }

  /** The change a user whose password was reset makes first (/{tenant}/password/change). */
  const changeExpired = (user: FixtureUser, currentPassword: string, newPassword: string) =>
    rekey.app.inject({
      method: 'POST',
      url: '/example.com/password/change',
      payload: { userPrincipalName: user.mail, currentPassword, newPassword },
    });

  const changeOwn = (token: string, currentPassword: string, newPassword: string) =>
    rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword, newPassword },
      headers: bearer(token),
    });

  /** The connector trace of an operation, as `GET /rekey/v1/operations/{id}/connectorCalls` shows it. */
  async function connectorCalls(operationId: string): Promise<Array<Record<string, unknown>>> {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `/rekey/v1/operations/${operationId}/connectorCalls`,
      headers: bearer(admin),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ value: Array<Record<string, unknown>> }>().value;
  }

  it('resets through the service account: the directory and Rekey both take the new password', async () => {
    const user = fixtureUsers.ann;
    const id = await resetTo(user, 'Copper-Lantern-58!');
    expect(await directoryBinds(user, 'Copper-Lantern-58!')).toBe(true);
    expect(await directoryBinds(user, user.password)).toBe(false);
    // Right, and to be changed at the next sign-in, as every admin reset is.
    expect(await rekey.signInCode(user.mail, 'Copper-Lantern-58!')).toBe(50055);
    expect(await rekey.signInCode(user.mail, user.password)).toBe(50126);
    // A kept connection (see ldap-directory.ts) has no connect step of its own.
    const calls = (await connectorCalls(id)).filter((call) => call['operation'] !== 'connect');
    expect(calls.map((call) => [call['operation'], call['ldapResultCode']])).toEqual([
      ['serviceBind', 0],
      ['passwordModify', 0],
    ]);
    expect(calls[1]).toMatchObject({
      connectorId,
      operationId: id,
      dn: user.dn,
      outcome: 'success',
      reason: null,
      code: null,
    });
    expect(JSON.stringify(calls)).not.toContain('Copper-Lantern-58!');
    expect(JSON.stringify(calls)).not.toContain(slapd.serviceAccount.password);
  });

  it("changes a user's own password by binding as the user; the old one stops working on both sides", async () => {
    const user = fixtureUsers.ben;
    await resetTo(user, 'Granite-Meadow-41!');
    const first = await changeExpired(user, 'Granite-Meadow-41!', 'Linen-Compass-95!');
    expect(first.statusCode, first.body).toBe(204);
    expect(await directoryBinds(user, 'Linen-Compass-95!')).toBe(true);
    const token = await rekey.signIn(user.mail, 'Linen-Compass-95!');
    const response = await changeOwn(token, 'Linen-Compass-95!', 'Willow-Signal-73!');
    expect(response.statusCode, response.body).toBe(204);
    expect(await directoryBinds(user, 'Willow-Signal-73!')).toBe(true);
    expect(await directoryBinds(user, 'Linen-Compass-95!')).toBe(false);
    expect(await rekey.signInCode(user.mail, 'Willow-Signal-73!')).toBe(0);
    expect(await rekey.signInCode(user.mail, 'Linen-Compass-95!')).toBe(50126);
    const [operation] = await rekey.db.kysely
      .selectFrom('password_operations')
      .select(['id', 'secret_ciphertext'])
      .where('user_id', '=', await userId(user))
      .where('kind', '=', 'selfChange')
      .execute();
    // Both passwords were sealed for the write; neither outlives the operation.
    expect(operation?.secret_ciphertext).toBeNull();
    const calls = await connectorCalls(operation?.id ?? '');
    expect(calls.map((call) => call['operation']).filter((operation) => operation !== 'connect')).toEqual([
      'userBind',
      'passwordModify',
    ]);
  });

  it('answers 120008 with cause 120004 and the ppolicy reason when the password is in the directory history', async () => {
    const user = fixtureUsers.cat;
    await resetTo(user, 'Harbor-Thistle-36!');
    // The fixture's first password is in the directory's history, not in Rekey's.
    const response = await changeExpired(user, 'Harbor-Thistle-36!', user.password);
    expect(response.statusCode, response.body).toBe(400);
    const inner = response.json<{ error: { innerError: Record<string, unknown> } }>().error.innerError;
    expect(inner).toMatchObject({ aadstsCode: 120008, causeCode: 120004 });
    const operation = await operationRow(String(inner['operationId']));
    expect(operation).toMatchObject({ state: 'terminated', error_code: 120004 });
    expect(operation.error_detail).toContain('passwordInHistory');
    const calls = await connectorCalls(operation.id);
    expect(calls.at(-1)).toMatchObject({
      operation: 'passwordModify',
      ppolicyError: 'passwordInHistory',
      outcome: 'refused',
      reason: 'passwordPolicy',
      code: 120004,
    });
    expect(await directoryBinds(user, 'Harbor-Thistle-36!')).toBe(true);
    expect(await rekey.signInCode(user.mail, 'Harbor-Thistle-36!')).toBe(50055);
  });

  it('refuses a current password the directory does not take with 120000, before any operation', async () => {
    const user = fixtureUsers.dan;
    await resetTo(user, 'Juniper-Falcon-27!');
    // Changed in the directory behind Rekey's back: the directory's password is the one that counts.
    await slapd.modify(
      `dn: ${user.dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: Other-Side-Pass-9\n`,
    );
    const response = await changeExpired(user, 'Juniper-Falcon-27!', 'Meadow-Beacon-64!');
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json<{ error: { innerError: Json } }>().error.innerError).toMatchObject({
      aadstsCode: 120000,
    });
    expect(await directoryBinds(user, 'Other-Side-Pass-9')).toBe(true);
    expect(await rekey.signInCode(user.mail, 'Meadow-Beacon-64!')).toBe(50126);
  });

  it('ends a reset of a user whose entry is gone with 120016', async () => {
    const user = fixtureUsers.eve;
    await slapd.modify(`dn: ${user.dn}\nchangetype: delete\n`);
    const id = await acceptReset(user, 'Orchid-Tundra-19!');
    await rekey.operations.runOperation(id);
    expect(await operationRow(id)).toMatchObject({ state: 'terminated', error_code: 120016 });
  });

  it('retries while slapd is down (120013) and succeeds once it is back', async () => {
    const user = fixtureUsers.fay;
    await slapd.stop();
    try {
      const id = await acceptReset(user, 'Saffron-Ridge-85!');
      await rekey.operations.runOperation(id);
      expect(await operationRow(id)).toMatchObject({
        state: 'retryScheduled',
        step: 'writeOnPremises',
        error_code: 120013,
      });
      await slapd.start();
      clock.advance(2);
      await rekey.operations.runOperation(id);
      expect(await operationRow(id)).toMatchObject({ state: 'succeeded', attempts: 2 });
      expect(await directoryBinds(user, 'Saffron-Ridge-85!')).toBe(true);
      expect(await rekey.signInCode(user.mail, 'Saffron-Ridge-85!')).toBe(50055);
    } finally {
      if (!slapd.isRunning) await slapd.start();
    }
  });

  it('ends with 120008, cause 120013, when slapd is still down at the deadline', async () => {
    const user = fixtureUsers.gus;
    await slapd.stop();
    try {
      const id = await acceptReset(user, 'Violet-Harbor-52!');
      await rekey.operations.runOperation(id);
      expect(await operationRow(id)).toMatchObject({ state: 'retryScheduled', error_code: 120013 });
      clock.set(new Date((await operationRow(id)).deadline_at));
      await rekey.operations.runOperation(id);
      expect(await operationRow(id)).toMatchObject({ state: 'terminated', error_code: 120013 });
      const read = await rekey.app.inject({
        method: 'GET',
        url: `/v1.0/users/${await userId(user)}/authentication/operations/${id}`,
        headers: bearer(admin),
      });
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json<Json>()['status']).toBe('failed');
    } finally {
      if (!slapd.isRunning) await slapd.start();
    }
    expect(await directoryBinds(user, user.password)).toBe(true);
  });

  it.each([
    // Died between the directory's answer and the step's checkpoint: the retry runs the directory
    // step again, finds the new password binding, and writes nothing.
    ['after:writeOnPremises', 'writeOnPremises', fixtureUsers.hal, ['userBind', 0]],
    // The cloud commit failed after the checkpoint: the retry resumes there, the directory untouched.
    ['before:commitCloud', 'commitCloud', fixtureUsers.ivy, ['passwordModify', 0]],
  ] as const)(
    'finishes a directory write whose attempt failed at %s by retrying, without writing twice',
    async (point, step, user, last) => {
      const logLines: string[] = [];
      let failCommit = true;
      const writeback = createLdapDirectoryPorts({ clock }).writebackFor?.({
        tenantId: rekey.tenant.id,
        openConnector: (id) => rekey.connectors.openConnectorConfig(id),
        recordTrace: rekey.connectors.recordTrace,
      });
      const engine = createOperationEngine({
        db: rekey.db,
        tenantId: rekey.tenant.id,
        clock,
        random: () => 0,
        secretBox: createSecretBox(loadSecretKey(rekey.config.secretKey, rekey.dataDir)),
        logger: createLogger('trace', lineSink(logLines)),
        settings: defaultOperationSettings,
        jobs: createPasswordJobs({
          tenantId: rekey.tenant.id,
          hasher: createArgon2Hasher({ memoryKib: 1024, iterations: 1, parallelism: 1 }),
          onPremises: writeback,
        }),
        faults: (at) => {
          if (at === point && failCommit) {
            failCommit = false;
            throw new Error('the database went away');
          }
        },
      });
      const id = await acceptReset(user, 'Tamarind-Coast-38!');
      await engine.runOperation(id);
      expect(await operationRow(id)).toMatchObject({
        state: 'retryScheduled',
        step,
        error_code: 120020,
      });
      // The directory has the new password; Rekey not yet.
      expect(await directoryBinds(user, 'Tamarind-Coast-38!')).toBe(true);
      clock.advance(5);
      await engine.runOperation(id);
      expect(await operationRow(id)).toMatchObject({ state: 'succeeded', attempts: 2 });
      expect(await rekey.signInCode(user.mail, 'Tamarind-Coast-38!')).toBe(50055);
      const calls = await connectorCalls(id);
      // One write either way.
      expect(calls.filter((call) => call['operation'] === 'passwordModify')).toHaveLength(1);
      expect(calls.at(-1)).toMatchObject({ operation: last[0], ldapResultCode: last[1] });
    },
  );
});
