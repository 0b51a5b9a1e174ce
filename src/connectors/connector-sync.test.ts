import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { freePort } from '../../test/support/free-port.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { fixtureUsers } from '../../test/support/slapd-fixtures.js';
import { createLdapDirectory } from '../directories/ldap/ldap-directory.js';
import { systemClock } from '../platform/clock.js';
import { Codes } from '../platform/errors/catalog.js';
import { createLogger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import { createSyncScheduler } from './sync-scheduler.js';

/*
 * The connectors' test and sync against a real slapd, on both databases, through the API and the
 * CLI: each step of the test reported; a full sync importing every property; an incremental one
 * reading only what changed; deletions found by the next full run; re-runs that change nothing;
 * the audit row of each run; soft match and its refusal for role holders; the refusal of a PATCH
 * of directory-owned properties; sign-in of a synced user; the scheduler, driven by its clock.
 */

const base = '/rekey/v1/connectors';
const fixtureCount = Object.keys(fixtureUsers).length;

interface Report {
  readonly result: string;
  readonly mode: string;
  readonly counts: Record<string, number>;
  readonly code: number | null;
  readonly message: string | null;
}

describe.each(dialects)('directory sync on %s', (dialect) => {
  let slapd: TestSlapd;
  let started: CliTestRekey | undefined;
  let rekey: TestRekey;
  let env: Record<string, string>;
  let admin: string;
  let connectorId: string;
  let slapdStartedAt: number;

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

  function connectorBody(displayName: string, overrides: Record<string, unknown> = {}) {
    return connectorBodyFor(slapd, displayName, {
      connectTimeoutMs: 2000,
      operationTimeoutMs: 5000,
      ...overrides,
    });
  }

  async function post(url: string, payload?: unknown) {
    return rekey.app.inject({
      method: 'POST',
      url,
      headers: bearer(admin),
      ...(payload === undefined ? {} : { payload: payload as Json }),
    });
  }

  async function addConnector(displayName: string, overrides: Record<string, unknown> = {}): Promise<string> {
    const response = await post(base, connectorBody(displayName, overrides));
    expect(response.statusCode, response.body).toBe(201);
    return String(response.json<Json>()['id']);
  }

  async function sync(full = false): Promise<Report> {
    const response = await post(`${base}/${connectorId}/sync${full ? '?full=true' : ''}`);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Report>();
  }

  async function user(upn: string): Promise<Record<string, unknown> | undefined> {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/users/${upn}?$select=id,userPrincipalName,displayName,givenName,surname,mail,mailNickname,accountEnabled,onPremisesSyncEnabled,onPremisesImmutableId,onPremisesDistinguishedName,onPremisesSamAccountName,onPremisesLastSyncDateTime`,
      headers: bearer(admin),
    });
    if (response.statusCode === 404) return undefined;
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Record<string, unknown>>();
  }

  async function entryUuidOf(dn: string): Promise<string> {
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
    const found = await directory.findUserByDn(dn, { correlationId: 'test' }, ['entryUUID']);
    if (!found.ok || !found.value) throw new Error(`no entry ${dn}`);
    const uuid = found.value.attributes['entryUUID']?.[0];
    if (!uuid) throw new Error(`no entryUUID on ${dn}`);
    return uuid;
  }

  async function syncAudits(): Promise<
    Array<{ result: string; additional_details: string; initiated_by: string }>
  > {
    return rekey.db.kysely
      .selectFrom('directory_audits')
      .innerJoin('directory_audit_targets', 'directory_audit_targets.audit_id', 'directory_audits.id')
      .select([
        'directory_audits.result',
        'directory_audits.additional_details',
        'directory_audits.initiated_by',
      ])
      .where('directory_audit_targets.target_id', '=', connectorId)
      .where('directory_audits.activity_display_name', '=', 'Synchronize directory connector')
      .orderBy('directory_audits.activity_at')
      .execute();
  }

  /** Waits for the directory's clock to pass `stamp` (generalized time, whole seconds): modifyTimestamp has no finer grain. */
  async function afterDirectorySecond(stamp: string): Promise<void> {
    const at = Date.UTC(
      Number(stamp.slice(0, 4)),
      Number(stamp.slice(4, 6)) - 1,
      Number(stamp.slice(6, 8)),
      Number(stamp.slice(8, 10)),
      Number(stamp.slice(10, 12)),
      Number(stamp.slice(12, 14)),
    );
    const wait = at + 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 50));
  }

  async function cursorStamp(): Promise<string> {
    const row = await rekey.db.kysely
      .selectFrom('connectors')
      .select('last_sync_cursor')
      .where('id', '=', connectorId)
      .executeTakeFirstOrThrow();
    return (JSON.parse(row.last_sync_cursor ?? '{}') as { modifyTimestamp: string }).modifyTimestamp;
  }

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    slapdStartedAt = Date.now();
    started = await startCliTestRekey(dialect, 'rekey-sync-');
    ({ rekey, env } = started);
    admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    connectorId = await addConnector('Head office');
  });
  afterAll(async () => {
    await started?.close();
    await slapd?.close();
  });

  it('tests a good connector step by step and keeps the report', async () => {
    const response = await post(`${base}/${connectorId}/test`);
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json<{
      success: boolean;
      steps: Array<Record<string, unknown>>;
      usersFound: number;
    }>();
    expect(report.success).toBe(true);
    expect(report.steps.map((step) => [step['step'], step['result'], step['code']])).toEqual([
      ['connect', 'success', null],
      ['startTls', 'success', null],
      ['bind', 'success', null],
      ['search', 'success', null],
    ]);
    for (const step of report.steps) expect(step['latencyMs']).toEqual(expect.any(Number));
    expect(report.usersFound).toBe(fixtureCount);
    const shown = await rekey.app.inject({
      method: 'GET',
      url: `${base}/${connectorId}`,
      headers: bearer(admin),
    });
    expect(shown.json<Json>()['lastTestResult']).toMatchObject({ success: true, usersFound: fixtureCount });

    const cliRun = await cli('connectors', 'test', 'head office');
    expect(cliRun.code, cliRun.err).toBe(0);
    expect(cliRun.out).toContain('bind: success');
    expect(cliRun.out).toContain('The connector works.');
  });

  it('reports a refused bind as 120015 and an unreachable directory as 120013, skipping the rest', async () => {
    const badBind = await addConnector('Wrong password', {
      bindPassword: 'Not-The-Password-1',
      syncIntervalSeconds: null,
    });
    const refused = (await post(`${base}/${badBind}/test`)).json<{ success: boolean; steps: Json[] }>();
    expect(refused.success).toBe(false);
    expect(refused.steps.map((step) => [step['step'], step['result'], step['code']])).toEqual([
      ['connect', 'success', null],
      ['startTls', 'success', null],
      ['bind', 'failure', Codes.PasswordChangeADAdminActionRequired],
      ['search', 'skipped', null],
    ]);
    expect(JSON.stringify(refused)).not.toContain('Not-The-Password-1');

    const closedPort = await freePort();
    const down = await addConnector('Nobody home', {
      url: `ldap://127.0.0.1:${closedPort}`,
      startTls: false,
      caCertificate: null,
      allowInsecure: true,
      syncIntervalSeconds: null,
    });
    const unreachable = (await post(`${base}/${down}/test`)).json<{ success: boolean; steps: Json[] }>();
    expect(unreachable.success).toBe(false);
    expect(unreachable.steps.map((step) => [step['step'], step['result'], step['code']])).toEqual([
      ['connect', 'failure', Codes.PasswordChangeOnPremisesConnectivityFailure],
      ['startTls', 'skipped', null],
      ['bind', 'skipped', null],
      ['search', 'skipped', null],
    ]);
    const cliRun = await cli('connectors', 'test', 'Nobody home');
    expect(cliRun.code).toBe(1);
    expect(cliRun.out).toContain(`connect: failure [${Codes.PasswordChangeOnPremisesConnectivityFailure}]`);
  });

  it('imports every directory user with every property on the first, full, sync', async () => {
    // One entry changed a second after the fixtures were loaded, so the cursor's second holds it
    // alone: the incremental runs below read it again (modifyTimestamp has whole seconds) and no other.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, slapdStartedAt + 1100 - Date.now())));
    await slapd.modify(
      [`dn: ${fixtureUsers.hal.dn}`, 'changetype: modify', 'replace: title', 'title: Boundary'].join('\n'),
    );
    const report = await sync();
    expect(report).toMatchObject({ result: 'success', mode: 'full', code: null });
    expect(report.counts).toEqual({
      seen: fixtureCount,
      created: fixtureCount,
      updated: 0,
      deleted: 0,
      unchanged: 0,
      failed: 0,
    });
    const ann = fixtureUsers.ann;
    expect(await user(ann.mail)).toMatchObject({
      userPrincipalName: ann.mail,
      displayName: 'Ann Tester',
      givenName: 'Ann',
      surname: 'Tester',
      mail: ann.mail,
      mailNickname: 'ann',
      accountEnabled: true,
      onPremisesSyncEnabled: true,
      onPremisesImmutableId: await entryUuidOf(ann.dn),
      onPremisesDistinguishedName: ann.dn,
      onPremisesSamAccountName: 'ann',
      onPremisesLastSyncDateTime: expect.any(String),
    });
    // Locked by an administrator until unlocked: OpenLDAP's disabled account.
    expect(await user(fixtureUsers.ned.mail)).toMatchObject({
      accountEnabled: false,
      onPremisesSyncEnabled: true,
    });
    const audits = await syncAudits();
    expect(audits).toHaveLength(1);
    expect(audits[0]?.result).toBe('success');
    expect(JSON.parse(audits[0]?.additional_details ?? '[]')).toEqual(
      expect.arrayContaining([
        { key: 'Mode', value: 'full' },
        { key: 'Seen', value: String(fixtureCount) },
        { key: 'Created', value: String(fixtureCount) },
        { key: 'Deleted', value: '0' },
      ]),
    );
  });

  it('changes nothing when run again, full or incremental', async () => {
    const before = await user(fixtureUsers.ben.mail);
    const full = await sync(true);
    expect(full.counts).toMatchObject({
      seen: fixtureCount,
      created: 0,
      updated: 0,
      deleted: 0,
      unchanged: fixtureCount,
    });
    const incremental = await sync();
    expect(incremental).toMatchObject({ result: 'success', mode: 'incremental' });
    expect(incremental.counts).toEqual({
      seen: 1,
      created: 0,
      updated: 0,
      deleted: 0,
      unchanged: 1,
      failed: 0,
    });
    expect(await user(fixtureUsers.ben.mail)).toEqual(before);
  });

  it('picks up a modified entry, and only it, incrementally', async () => {
    await afterDirectorySecond(await cursorStamp());
    const bob = fixtureUsers.cat;
    await slapd.modify(
      [
        `dn: ${bob.dn}`,
        'changetype: modify',
        'replace: givenName',
        'givenName: Catherine',
        '-',
        'replace: sn',
        'sn: Renamed',
      ].join('\n'),
    );
    const before = await user(fixtureUsers.dan.mail);
    const report = await sync();
    expect(report).toMatchObject({ result: 'success', mode: 'incremental' });
    // Cat, and hal again: the one entry of the cursor's second, found unchanged.
    expect(report.counts).toEqual({ seen: 2, created: 0, updated: 1, deleted: 0, unchanged: 1, failed: 0 });
    expect(await user(bob.mail)).toMatchObject({ givenName: 'Catherine', surname: 'Renamed' });
    expect(await user(fixtureUsers.dan.mail)).toEqual(before);
  });

  it('refuses a PATCH of directory-owned properties, naming them, and allows the others', async () => {
    const ann = await user(fixtureUsers.ann.mail);
    const patch = (payload: Json) =>
      rekey.app.inject({
        method: 'PATCH',
        url: `/v1.0/users/${String(ann?.['id'])}`,
        headers: bearer(admin),
        payload,
      });
    const refused = await patch({ displayName: 'Someone Else', accountEnabled: false, jobTitle: 'Engineer' });
    const inner = expectErrorCode(refused, 400, Codes.OnPremisesMasteredProperty);
    expect(refused.body).toContain('displayName, accountEnabled');
    expect(refused.body).toContain('on-premises directory');
    expect(inner).toBeDefined();
    expect((await patch({ jobTitle: 'Engineer' })).statusCode).toBe(204);
    expect(await user(fixtureUsers.ann.mail)).toMatchObject({
      displayName: 'Ann Tester',
      accountEnabled: true,
    });
  });

  it("signs in a synced user, who has no cloud password, by the directory's password (pass-through); a wrong one is 50126, not a 500", async () => {
    expect(await rekey.signInCode(fixtureUsers.ann.mail, fixtureUsers.ann.password)).toBe(0);
    expect(await rekey.signInCode(fixtureUsers.ann.mail, 'Not-Anns-Password-1')).toBe(
      Codes.InvalidUserNameOrPassword,
    );
  });

  it('soft-matches a cloud user by UPN, but never one holding a directory role', async () => {
    await rekey.createUser('zed', 'Cloud-Only-Pass-1!', { userPrincipalName: 'zed@rekey.test' });
    await rekey.createUser('yan', 'Cloud-Admin-Pass-1!', {
      userPrincipalName: 'yan@rekey.test',
      roles: ['Helpdesk Administrator'],
    });
    await afterDirectorySecond(await cursorStamp());
    for (const uid of ['zed', 'yan']) {
      await slapd.modify(
        [
          `dn: uid=${uid},${slapd.peopleDn}`,
          'changetype: add',
          'objectClass: inetOrgPerson',
          `uid: ${uid}`,
          `cn: ${uid} Directory`,
          'sn: Directory',
          `mail: ${uid}@rekey.test`,
        ].join('\n'),
      );
    }
    const report = await sync();
    // zed and yan, and cat again (the cursor's second).
    expect(report.counts).toMatchObject({ seen: 3, created: 0, updated: 1, unchanged: 1, failed: 1 });
    expect(report.message).toContain('directory role');
    expect(await user('zed@rekey.test')).toMatchObject({
      onPremisesSyncEnabled: true,
      onPremisesImmutableId: await entryUuidOf(`uid=zed,${slapd.peopleDn}`),
      displayName: 'zed Directory',
    });
    expect(await user('yan@rekey.test')).toMatchObject({ onPremisesSyncEnabled: null });
  });

  it('soft-deletes a user gone from the directory on the next full run, not on an incremental one', async () => {
    const kim = fixtureUsers.kim;
    await slapd.modify(`dn: ${kim.dn}\nchangetype: delete`);
    const incremental = await sync();
    expect(incremental.counts['deleted']).toBe(0);
    expect(await user(kim.mail)).toBeDefined();
    const full = await sync(true);
    expect(full.counts).toMatchObject({ deleted: 1, created: 0, updated: 0 });
    expect(await user(kim.mail)).toBeUndefined();
    const deletedItems = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/directory/deletedItems/microsoft.graph.user',
      headers: bearer(admin),
    });
    expect(deletedItems.body).toContain(kim.mail);
    const again = await sync(true);
    expect(again.counts).toMatchObject({ deleted: 0, created: 0, updated: 0 });
  });

  it('syncs from the CLI with `rekey sync`, the alias of `connectors sync`', async () => {
    const run = await cli('sync', 'Head office', '--full');
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain('full sync finished');
    expect(run.out).toMatch(/seen \d+, created 0, updated 0, deleted 0/);
    const failed = await cli('sync', 'Nobody home');
    expect(failed.code).toBe(1);
    expect(failed.out).toContain(`error ${Codes.PasswordChangeOnPremisesConnectivityFailure}`);
  });

  it('runs a due scheduled sync once, driven by its clock, even with two schedulers', async () => {
    const record = await rekey.connectors.get(connectorId);
    expect(record.lastSyncAt).not.toBeNull();
    let now = new Date(Date.parse(record.lastSyncAt ?? '') + 1000);
    const clock = { now: () => now };
    const logger = createLogger('silent');
    const schedulers = [1, 2].map(() => createSyncScheduler({ connectors: rekey.connectors, clock, logger }));
    const auditsBefore = (await syncAudits()).length;
    expect(await schedulers[0]?.runDue()).toBe(0);
    now = new Date(Date.parse(record.lastSyncAt ?? '') + 3600_000 + 1);
    const ran = await Promise.all(schedulers.map((scheduler) => scheduler.runDue()));
    expect(ran.reduce((a, b) => a + b, 0)).toBe(1);
    const audits = await syncAudits();
    expect(audits).toHaveLength(auditsBefore + 1);
    // Rekey itself ran it: no user in initiated_by.
    expect(JSON.parse(audits.at(-1)?.initiated_by ?? '{}')).toMatchObject({ user: null });
    expect((await rekey.connectors.get(connectorId)).lastSyncAt).not.toBe(record.lastSyncAt);
  });
});
