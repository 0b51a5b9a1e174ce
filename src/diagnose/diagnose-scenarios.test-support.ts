import type { LightMyRequestResponse } from 'fastify';
import { aadstsCodeOf, bearer, type Json, signInCodeOf } from '../../test/support/http-helpers.js';
import { passwordGrant, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { adConnectorBodyFor, sambaUsers, type TestSambaDc } from '../../test/support/samba.js';
import { makeSigningCertificate } from '../../test/support/signing-certificate.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { fixtureUsers } from '../../test/support/slapd-fixtures.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import type { Clock } from '../platform/clock.js';
import type { DialectName } from '../platform/db/database.js';
import { systemContext } from '../platform/request-context.js';
import type { DiagnoseReport } from './diagnose-types.js';

/*
 * The troubleshooter's scenarios, shared by the scenario suite (diagnose-scenarios.test.ts, and
 * the Active Directory rows in test/active-directory.test.ts) and by `npm run bench -- diagnose`,
 * which runs the same rows to count how many verdicts are right. Each scenario makes a failure
 * happen for real through the public API (sign-ins, changes, resets against a real database and,
 * for the hybrid ones, a real directory), then asks POST /rekey/v1/diagnose three ways: by user, by
 * the failed request's correlation ID, and by the code callers saw across users. The runners here
 * return the three reports; the test asserts on them, the bench counts them.
 *
 * Arranging a scenario checks what it arranges (a status, a code) and throws a plain Error when
 * that goes wrong, so the module runs under vitest and under the bench alike.
 */

/** Throws `message` unless `condition` holds (a scenario's arrangement went wrong). */
export function must(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function expectStatus(response: LightMyRequestResponse, status: number): void {
  must(
    response.statusCode === status,
    `expected HTTP ${status}, got ${response.statusCode}: ${response.body}`,
  );
}

function expectCode(seen: number, code: number): void {
  must(seen === code, `expected code ${code}, got ${seen}`);
}

/** What a scenario's failure left behind: whose, which request, and the code the caller saw. */
export interface Produced {
  readonly upn: string;
  readonly correlationId: string;
  readonly seenCode: number;
}

export interface Harness {
  readonly rekey: TestRekey;
  readonly admin: string;
}

export interface CloudScenario {
  readonly name: string;
  /** The root cause diagnose must name. */
  readonly verdict: number;
  /** The check that must show the cause among its evidence (status fail). */
  readonly check: string;
  /** How many users the scenario fails (the by-code diagnosis spans them). */
  readonly users?: number;
  readonly before?: (h: Harness) => Promise<void>;
  readonly after?: (h: Harness) => Promise<void>;
  produce(h: Harness, alias: string, correlationId: string): Promise<Produced>;
  /** Extra checks of the by-code report (they throw when it falls short). */
  readonly alsoByCode?: (report: DiagnoseReport) => void;
}

export const canary = 'Canary-Secret-Pass-93!';
export const goodPassword = 'Granite-Meadow-41!';

async function changeOwn(h: Harness, token: string, body: Json, correlationId: string) {
  return h.rekey.app.inject({
    method: 'POST',
    url: '/v1.0/me/changePassword',
    payload: body,
    headers: { ...bearer(token), 'client-request-id': correlationId },
  });
}

export async function signInSeen(
  h: Harness,
  upn: string,
  password: string,
  correlationId: string,
): Promise<number> {
  return signInCodeOf(
    await h.rekey.tokenRequest(passwordGrant(upn, password), { 'client-request-id': correlationId }),
  );
}

/** A user's own change that the policy refuses; returns the code the caller saw. */
export async function refusedChange(
  h: Harness,
  alias: string,
  correlationId: string,
  newPassword: (current: string) => string,
) {
  const user = await h.rekey.createUserWithToken(alias, canary);
  const response = await changeOwn(
    h,
    user.token,
    { currentPassword: canary, newPassword: newPassword(canary) },
    correlationId,
  );
  expectStatus(response, 400);
  return { upn: user.userPrincipalName, correlationId, seenCode: aadstsCodeOf(response) };
}

export const cloudScenarios: readonly CloudScenario[] = [
  {
    name: 'locked by smart lockout',
    verdict: 50053,
    check: 'accountState',
    before: async (h) => {
      await h.rekey.settings.updateSmartLockout(systemContext('scenario'), { lockoutThreshold: 3 });
    },
    after: async (h) => {
      await h.rekey.settings.updateSmartLockout(systemContext('scenario'), { lockoutThreshold: 10 });
    },
    async produce(h, alias, correlationId) {
      const user = await h.rekey.createUser(alias, canary);
      for (let i = 0; i < 3; i += 1)
        await signInSeen(h, user.userPrincipalName, `Wrong-Guess-${i}-Pass!`, `${correlationId}-guess-${i}`);
      await signInSeen(h, user.userPrincipalName, canary, correlationId);
      return { upn: user.userPrincipalName, correlationId, seenCode: 50053 };
    },
  },
  {
    name: 'disabled account',
    verdict: 50057,
    check: 'accountState',
    async produce(h, alias, correlationId) {
      const user = await h.rekey.createUser(alias, canary);
      const patched = await h.rekey.app.inject({
        method: 'PATCH',
        url: `/v1.0/users/${user.id}`,
        headers: bearer(h.admin),
        payload: { accountEnabled: false },
      });
      expectStatus(patched, 204);
      const seen = await signInSeen(h, user.userPrincipalName, canary, correlationId);
      return { upn: user.userPrincipalName, correlationId, seenCode: seen === 50126 ? 50057 : seen };
    },
  },
  {
    name: 'deleted account',
    verdict: 7700105,
    check: 'accountState',
    async produce(h, alias, correlationId) {
      const user = await h.rekey.createUser(alias, canary);
      const deleted = await h.rekey.app.inject({
        method: 'DELETE',
        url: `/v1.0/users/${user.id}`,
        headers: bearer(h.admin),
      });
      expectStatus(deleted, 204);
      await signInSeen(h, user.userPrincipalName, canary, correlationId);
      return { upn: user.userPrincipalName, correlationId, seenCode: 50034 };
    },
  },
  {
    name: 'forced change at next sign-in',
    verdict: 50055,
    check: 'accountState',
    async produce(h, alias, correlationId) {
      const user = await h.rekey.createUser(alias, canary, { forceChangePasswordNextSignIn: true });
      expectCode(await signInSeen(h, user.userPrincipalName, canary, correlationId), 50055);
      return { upn: user.userPrincipalName, correlationId, seenCode: 50055 };
    },
  },
  {
    name: 'expired password',
    verdict: 50055,
    check: 'accountState',
    before: async (h) => {
      await h.rekey.settings.updatePasswordPolicy(systemContext('scenario'), { maximumAgeDays: 30 });
    },
    after: async (h) => {
      await h.rekey.settings.updatePasswordPolicy(systemContext('scenario'), { maximumAgeDays: null });
    },
    async produce(h, alias, correlationId) {
      const user = await h.rekey.createUser(alias, canary);
      // Arranged: the password was last set 40 days ago (the clock cannot be turned back).
      const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000).toISOString();
      await h.rekey.db.kysely
        .updateTable('users')
        .set({ last_password_change_at: longAgo })
        .where('id', '=', user.id)
        .execute();
      expectCode(await signInSeen(h, user.userPrincipalName, canary, correlationId), 50055);
      return { upn: user.userPrincipalName, correlationId, seenCode: 50055 };
    },
  },
  {
    name: 'weak new password',
    verdict: 120002,
    check: 'policyCompliance',
    produce: (h, alias, correlationId) => refusedChange(h, alias, correlationId, () => 'abc'),
  },
  {
    name: 'banned new password (Password Protection)',
    verdict: 120018,
    check: 'policyCompliance',
    before: async (h) => {
      await h.rekey.settings.updatePasswordProtection(systemContext('scenario'), {
        customBannedPasswords: ['zebrafish'],
      });
    },
    produce: (h, alias, correlationId) => refusedChange(h, alias, correlationId, () => 'Zebrafish1!'),
  },
  {
    name: 'new password in the history',
    verdict: 120002,
    check: 'policyCompliance',
    produce: (h, alias, correlationId) => refusedChange(h, alias, correlationId, (current) => current),
  },
  {
    name: 'minimum password age',
    verdict: 120002,
    check: 'policyCompliance',
    before: async (h) => {
      await h.rekey.settings.updatePasswordPolicy(systemContext('scenario'), { minimumAgeDays: 1 });
    },
    after: async (h) => {
      await h.rekey.settings.updatePasswordPolicy(systemContext('scenario'), { minimumAgeDays: 0 });
    },
    produce: (h, alias, correlationId) => refusedChange(h, alias, correlationId, () => goodPassword),
  },
  {
    name: 'wrong current password',
    verdict: 120000,
    check: 'correlationTimeline',
    async produce(h, alias, correlationId) {
      const user = await h.rekey.createUserWithToken(alias, canary);
      const response = await changeOwn(
        h,
        user.token,
        { currentPassword: 'Not-The-Current-1!', newPassword: goodPassword },
        correlationId,
      );
      expectStatus(response, 400);
      return { upn: user.userPrincipalName, correlationId, seenCode: aadstsCodeOf(response) };
    },
  },
  {
    name: 'federated domain (the password belongs to the federation)',
    verdict: 120012,
    check: 'federationAndConnector',
    async produce(h, alias, correlationId) {
      // A user of a domain that was managed when the user was made, and is federated since.
      const domain = `${alias}.fed.example`;
      await h.rekey.domains.addDomain(systemContext('scenario'), { id: domain });
      const upn = `${alias}@${domain}`;
      const created = await h.rekey.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: bearer(h.admin),
        payload: {
          accountEnabled: true,
          displayName: alias,
          mailNickname: alias,
          userPrincipalName: upn,
          passwordProfile: { password: canary, forceChangePasswordNextSignIn: false },
        },
      });
      expectStatus(created, 201);
      const federated = await h.rekey.app.inject({
        method: 'POST',
        url: `/v1.0/domains/${domain}/federationConfiguration`,
        headers: bearer(h.admin),
        payload: {
          '@odata.type': '#microsoft.graph.internalDomainFederation',
          displayName: 'Scenario STS',
          issuerUri: `http://${domain}/adfs/services/trust`,
          signingCertificate: makeSigningCertificate(`sts.${domain}`),
          passiveSignInUri: `https://sts.${domain}/adfs/ls`,
          preferredAuthenticationProtocol: 'wsFed',
          passwordResetUri: `https://sts.${domain}/adfs/portal/updatepassword`,
        },
      });
      expectStatus(federated, 201);
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        headers: { 'client-request-id': correlationId },
        payload: { userPrincipalName: upn, currentPassword: canary, newPassword: 'Quartz-Ribbon-55!' },
      });
      expectStatus(response, 400);
      return { upn, correlationId, seenCode: aadstsCodeOf(response) };
    },
  },
  {
    name: 'a policy change that starts refusing many users',
    verdict: 120002,
    check: 'policyCompliance',
    users: 3,
    before: async (h) => {
      const response = await h.rekey.app.inject({
        method: 'PATCH',
        url: '/rekey/v1/settings/passwordPolicy',
        headers: bearer(h.admin),
        payload: { minLength: 20 },
      });
      must(response.statusCode < 300, `expected a success, got ${response.statusCode}: ${response.body}`);
    },
    after: async (h) => {
      await h.rekey.settings.updatePasswordPolicy(systemContext('scenario'), { minLength: 8 });
    },
    produce: (h, alias, correlationId) => refusedChange(h, alias, correlationId, () => goodPassword),
    alsoByCode(report) {
      const changed = report.findings.find((f) => f.check === 'whatChanged');
      must(changed?.status === 'warn', `whatChanged is ${changed?.status}, not warn`);
      must(
        /Update password policy.*3 user\(s\) failed since/.test(changed?.evidence.join('\n') ?? ''),
        `whatChanged does not name the policy change: ${changed?.evidence.join(' | ')}`,
      );
      must(report.scope.usersAffected >= 3, `${report.scope.usersAffected} users affected, not 3 or more`);
    },
  },
];

export async function diagnose(h: Harness, body: Json): Promise<DiagnoseReport> {
  const response = await h.rekey.app.inject({
    method: 'POST',
    url: '/rekey/v1/diagnose',
    headers: bearer(h.admin),
    payload: body,
  });
  expectStatus(response, 200);
  return response.json<DiagnoseReport>();
}

/** The three reports of one scenario, and the failures it produced. */
export interface ScenarioRun {
  readonly produced: readonly Produced[];
  readonly reports: {
    readonly user: DiagnoseReport;
    readonly correlation: DiagnoseReport;
    readonly code: DiagnoseReport;
  };
}

/** A Rekey on a fresh database of `dialect`, with an administrator's token. */
export async function startCloudHarness(dialect: DialectName): Promise<Harness> {
  const rekey = await startTestRekey(dialect);
  return { rekey, admin: await rekey.adminToken() };
}

/**
 * Runs cloud scenario number `index`: its set-up, its failure for each of its users, the three
 * diagnoses (by the first user, by their request, by the code across users), then its clean-up.
 */
export async function runCloudScenario(
  h: Harness,
  scenario: CloudScenario,
  index: number,
): Promise<ScenarioRun> {
  const since = new Date(Date.now() - 1).toISOString();
  await scenario.before?.(h);
  try {
    const produced: Produced[] = [];
    for (let i = 0; i < (scenario.users ?? 2); i += 1)
      produced.push(await scenario.produce(h, `s${index}u${i}`, `scenario-${index}-user-${i}`));
    const first = produced[0];
    if (!first) throw new Error('no failure produced');
    return {
      produced,
      reports: {
        user: await diagnose(h, { userPrincipalName: first.upn, since }),
        correlation: await diagnose(h, { correlationId: first.correlationId }),
        code: await diagnose(h, { errorCode: first.seenCode, since }),
      },
    };
  } finally {
    await scenario.after?.(h);
  }
}

/** A clock that only moves when the test moves it (the directory-down scenario waits for a deadline). */
export class TestClock implements Clock {
  private current = new Date();

  now(): Date {
    return new Date(this.current);
  }

  set(at: Date): void {
    this.current = new Date(at);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** A user of an on-premises directory, as Rekey's sync imported them (by mail = user name). */
export interface DirectoryUser {
  readonly mail: string;
}

/** A Rekey with a connector to a real directory, its users synced, and a clock the scenario moves. */
export interface DirectoryHarness extends Harness {
  readonly clock: TestClock;
  readonly connectorId: string;
  /** The connector's service account password (restored after each scenario, kept out of reports). */
  readonly bindPassword: string;
  userId(user: DirectoryUser): Promise<string>;
  /** An administrator's reset, accepted then run (to its end, past the deadline when it is retried). */
  reset(user: DirectoryUser, password: string, correlationId: string): Promise<string>;
  patchConnector(payload: Json): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts Rekey on `dialect` with a clock the scenarios move, adds the connector `connectorBody`
 * (writeback on) for the domain `userDomain`, and syncs the directory's users in.
 */
export async function startDirectoryHarness(
  dialect: DialectName,
  connectorBody: Json,
  userDomain: string,
): Promise<DirectoryHarness> {
  const clock = new TestClock();
  const rekey = await startTestRekey(dialect, {
    clock,
    env: { REKEY_CHANGE_WAIT: '2', REKEY_OPERATION_BACKOFF_BASE: '1', REKEY_OPERATION_BACKOFF_MAX: '1' },
  });
  const admin = await rekey.adminToken();
  await rekey.domains.addDomain(systemContext('test-setup'), { id: userDomain });
  const created = await rekey.app.inject({
    method: 'POST',
    url: '/rekey/v1/connectors',
    headers: bearer(admin),
    payload: connectorBody,
  });
  expectStatus(created, 201);
  const connectorId = String(created.json<Json>()['id']);
  const synced = await rekey.app.inject({
    method: 'POST',
    url: `/rekey/v1/connectors/${connectorId}/sync`,
    headers: bearer(admin),
  });
  must(synced.json<Json>()['result'] === 'success', `the first sync failed: ${synced.body}`);
  const userId = async (user: DirectoryUser) => (await rekey.users.getUser(user.mail)).id;
  const reset = async (user: DirectoryUser, password: string, correlationId: string): Promise<string> => {
    const response = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${await userId(user)}/authentication/methods/${passwordMethodId}/resetPassword`,
      headers: { ...bearer(admin), 'client-request-id': correlationId },
      payload: { newPassword: password },
    });
    expectStatus(response, 202);
    const id = String(response.headers['location']).split('/').pop() ?? '';
    await rekey.operations.runOperation(id);
    const row = await rekey.operations.getOperation(id);
    if (row?.state === 'retryScheduled') {
      clock.set(new Date(row.deadline_at));
      await rekey.operations.runOperation(id);
    }
    return id;
  };
  const patchConnector = async (payload: Json): Promise<void> => {
    const response = await rekey.app.inject({
      method: 'PATCH',
      url: `/rekey/v1/connectors/${connectorId}`,
      headers: bearer(admin),
      payload,
    });
    expectStatus(response, 200);
  };
  return {
    rekey,
    admin,
    clock,
    connectorId,
    bindPassword: String(connectorBody['bindPassword']),
    userId,
    reset,
    patchConnector,
    close: () => rekey.close(),
  };
}

/** The OpenLDAP harness: a directory harness on a real slapd (TLS), whose scenarios may stop it. */
export interface HybridHarness extends DirectoryHarness {
  readonly slapd: TestSlapd;
}

export async function startHybridHarness(dialect: DialectName): Promise<HybridHarness> {
  const slapd = await startSlapd({ tls: true });
  try {
    const h = await startDirectoryHarness(
      dialect,
      connectorBodyFor(slapd, 'Head office', {
        connectTimeoutMs: 1000,
        operationTimeoutMs: 3000,
        writeback: true,
      }) as Json,
      'rekey.test',
    );
    return {
      ...h,
      slapd,
      async close() {
        await h.close();
        await slapd.close();
      },
    };
  } catch (error) {
    await slapd.close();
    throw error;
  }
}

/** A scenario against an on-premises directory (OpenLDAP or Active Directory). */
export interface DirectoryScenario<H extends DirectoryHarness> {
  readonly name: string;
  readonly verdict: number;
  readonly check: string;
  produce(h: H, correlationId: string): Promise<Produced>;
}

/**
 * Runs a directory scenario: its failure, then the three diagnoses in a window that holds only
 * it, then puts the connector back (writeback on, the right service account password).
 */
export async function runDirectoryScenario<H extends DirectoryHarness>(
  h: H,
  scenario: DirectoryScenario<H>,
  correlationId: string,
): Promise<ScenarioRun> {
  h.clock.advance(1000);
  const since = h.clock.now().toISOString();
  h.clock.advance(1000);
  try {
    const produced = await scenario.produce(h, correlationId);
    h.clock.advance(1000);
    return {
      produced: [produced],
      reports: {
        user: await diagnose(h, { userPrincipalName: produced.upn, since }),
        correlation: await diagnose(h, { correlationId: produced.correlationId }),
        code: await diagnose(h, { errorCode: produced.seenCode, since }),
      },
    };
  } finally {
    await h.patchConnector({ writeback: true, bindPassword: h.bindPassword });
  }
}

export const hybridScenarios: readonly DirectoryScenario<HybridHarness>[] = [
  {
    name: 'on-premises complexity (password in the directory history)',
    verdict: 120004,
    check: 'policyCompliance',
    async produce(h, correlationId) {
      const user = fixtureUsers.cat;
      await h.reset(user, 'Harbor-Thistle-36!', `${correlationId}-setup`);
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        payload: {
          userPrincipalName: user.mail,
          currentPassword: 'Harbor-Thistle-36!',
          newPassword: user.password,
        },
        headers: { 'client-request-id': correlationId },
      });
      expectStatus(response, 400);
      return { upn: user.mail, correlationId, seenCode: aadstsCodeOf(response) };
    },
  },
  {
    name: 'on-premises account locked',
    verdict: 120014,
    check: 'correlationTimeline',
    async produce(h, correlationId) {
      const user = fixtureUsers.ned; // locked for good (pwdAccountLockedTime), as OpenLDAP disables an account
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        payload: {
          userPrincipalName: user.mail,
          currentPassword: user.password,
          newPassword: 'Ned-Fresh-Pass-71!',
        },
        headers: { 'client-request-id': correlationId },
      });
      expectStatus(response, 400);
      return { upn: user.mail, correlationId, seenCode: aadstsCodeOf(response) };
    },
  },
  {
    name: 'on-premises user missing',
    verdict: 120016,
    check: 'operationHistory',
    async produce(h, correlationId) {
      const user = fixtureUsers.eve;
      await h.slapd.modify(`dn: ${user.dn}\nchangetype: delete\n`);
      await h.reset(user, 'Orchid-Tundra-19!', correlationId);
      return { upn: user.mail, correlationId, seenCode: 120008 };
    },
  },
  {
    name: 'on-premises password expired',
    verdict: 50144,
    check: 'correlationTimeline',
    async produce(h, correlationId) {
      const user = fixtureUsers.pam;
      expectCode(await signInSeen(h, user.mail, user.password, correlationId), 50144);
      return { upn: user.mail, correlationId, seenCode: 50144 };
    },
  },
  {
    name: 'directory down until the deadline',
    verdict: 120013,
    check: 'operationHistory',
    async produce(h, correlationId) {
      const user = fixtureUsers.gus;
      await h.slapd.stop();
      try {
        await h.reset(user, 'Violet-Harbor-52!', correlationId);
      } finally {
        await h.slapd.start();
      }
      return { upn: user.mail, correlationId, seenCode: 120008 };
    },
  },
  {
    name: 'bad service-account credentials',
    verdict: 120015,
    check: 'federationAndConnector',
    async produce(h, correlationId) {
      const user = fixtureUsers.hal;
      await h.patchConnector({ bindPassword: 'Not-The-Service-Pass-1' });
      await h.reset(user, 'Pepper-Lantern-29!', correlationId);
      return { upn: user.mail, correlationId, seenCode: 120008 };
    },
  },
  {
    name: 'no licence that allows writeback',
    verdict: 7701007,
    check: 'licence',
    async produce(h, correlationId) {
      const user = fixtureUsers.dan;
      const id = await h.userId(user);
      // Entra ID P1, which every user holds out of the box, taken away.
      const removed = await h.rekey.app.inject({
        method: 'POST',
        url: `/v1.0/users/${id}/assignLicense`,
        headers: bearer(h.admin),
        payload: { addLicenses: [], removeLicenses: ['078d2b04-f1bd-4111-bbd4-b4b1b354cef4'] },
      });
      expectStatus(removed, 200);
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: `/v1.0/users/${id}/authentication/methods/${passwordMethodId}/resetPassword`,
        headers: { ...bearer(h.admin), 'client-request-id': correlationId },
        payload: { newPassword: 'Harbor-Violet-82!' },
      });
      expectStatus(response, 403);
      return { upn: user.mail, correlationId, seenCode: 7701007 };
    },
  },
  {
    name: 'writeback off',
    verdict: 120012,
    check: 'federationAndConnector',
    async produce(h, correlationId) {
      const user = fixtureUsers.ivy;
      await h.patchConnector({ writeback: false });
      await h.reset(user, 'Maple-Comet-64!', correlationId);
      return { upn: user.mail, correlationId, seenCode: 120008 };
    },
  },
];

/** The Active Directory harness: a directory harness on the one Samba domain controller. */
export interface AdHarness extends DirectoryHarness {
  readonly dc: TestSambaDc;
  /** Adds a user under OU=People and syncs it in; returns it by its user name. */
  addSyncedUser(sam: string, password: string): Promise<DirectoryUser & { readonly password: string }>;
}

/**
 * Starts a Rekey on `dialect` connected to the Samba domain controller `dc` (LDAPS, bound as the
 * service account, writeback on) with the domain's users synced. The caller owns `dc`: its LDAP
 * ports are fixed, so only one runs at a time (test/active-directory.test.ts, or the bench).
 */
export async function startAdHarness(dialect: DialectName, dc: TestSambaDc): Promise<AdHarness> {
  const h = await startDirectoryHarness(
    dialect,
    adConnectorBodyFor(dc, 'Corp domain', {
      connectTimeoutMs: 2000,
      operationTimeoutMs: 5000,
      writeback: true,
    }) as Json,
    'rekey.test',
  );
  return {
    ...h,
    dc,
    async addSyncedUser(sam, password) {
      await dc.addUser(sam, password);
      const synced = await h.rekey.app.inject({
        method: 'POST',
        url: `/rekey/v1/connectors/${h.connectorId}/sync`,
        headers: bearer(h.admin),
      });
      must(synced.json<Json>()['result'] === 'success', `the sync of ${sam} failed: ${synced.body}`);
      return { mail: `${sam}@rekey.test`, password };
    },
  };
}

/**
 * The Active Directory rows. Each user is one no other test changes: oli only has changes refused,
 * and the locked user is made for the scenario (one per run, `unique` tells them apart).
 */
export function adScenarios(unique: string): readonly DirectoryScenario<AdHarness>[] {
  return [
    {
      name: "on-premises complexity on Active Directory (the domain's password rules refuse it)",
      verdict: 120004,
      check: 'policyCompliance',
      async produce(h, correlationId) {
        // oli's password settings allow a change once a day, and the password was set today: the
        // domain controller answers 0000052D, its one code for every rule of its password policy.
        const user = sambaUsers.oli;
        const response = await h.rekey.app.inject({
          method: 'POST',
          url: '/example.com/password/change',
          payload: {
            userPrincipalName: user.upn,
            currentPassword: user.password,
            newPassword: 'Willow-Canyon-84!',
          },
          headers: { 'client-request-id': correlationId },
        });
        expectStatus(response, 400);
        return { upn: user.upn, correlationId, seenCode: aadstsCodeOf(response) };
      },
    },
    {
      name: 'on-premises account locked on Active Directory (the domain locked it after wrong passwords)',
      verdict: 120014,
      check: 'correlationTimeline',
      async produce(h, correlationId) {
        const user = await h.addSyncedUser(`lk${unique}`, 'Locked-Start-Pass-1');
        // Three wrong passwords at the token endpoint, each checked by a bind as the user: the
        // domain's threshold (3) locks the account there; Rekey's own smart lockout is not reached.
        for (let i = 0; i < 3; i += 1)
          await signInSeen(h, user.mail, `Wrong-Guess-${i}-Pass!`, `${correlationId}-guess-${i}`);
        const response = await h.rekey.app.inject({
          method: 'POST',
          url: '/example.com/password/change',
          payload: {
            userPrincipalName: user.mail,
            currentPassword: user.password,
            newPassword: 'Locked-Fresh-Pass-2',
          },
          headers: { 'client-request-id': correlationId },
        });
        expectStatus(response, 400);
        return { upn: user.mail, correlationId, seenCode: aadstsCodeOf(response) };
      },
    },
  ];
}
