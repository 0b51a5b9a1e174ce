import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer, type Json, signInCodeOf } from '../../test/support/http-helpers.js';
import { passwordGrant, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { makeSigningCertificate } from '../../test/support/signing-certificate.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { type FixtureUser, fixtureUsers } from '../../test/support/slapd-fixtures.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { readZip } from '../platform/archive/zip-writer.js';
import type { Clock } from '../platform/clock.js';
import { systemContext } from '../platform/request-context.js';
import type { DiagnoseReport } from './diagnose-types.js';

/*
 * The troubleshooter's scenario suite: each scenario makes a failure happen for real through the
 * public API (sign-ins, changes, resets against real SQLite/PostgreSQL and, for the hybrid ones, a
 * real slapd), then asks POST /rekey/v1/diagnose three ways (by user, by the failed request's
 * correlation ID, by the code callers saw across users) and checks the verdict names the root
 * cause with evidence. Add a scenario by adding a row to a table below (AD, licence and federation
 * scenarios join when their features do).
 */

/** What a scenario's failure left behind: whose, which request, and the code the caller saw. */
interface Produced {
  readonly upn: string;
  readonly correlationId: string;
  readonly seenCode: number;
}

interface Harness {
  readonly rekey: TestRekey;
  readonly admin: string;
}

interface CloudScenario {
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
  /** Extra assertions on the by-code report. */
  readonly alsoByCode?: (report: DiagnoseReport) => void;
}

const canary = 'Canary-Secret-Pass-93!';
const goodPassword = 'Granite-Meadow-41!';

async function changeOwn(h: Harness, token: string, body: Json, correlationId: string) {
  return h.rekey.app.inject({
    method: 'POST',
    url: '/v1.0/me/changePassword',
    payload: body,
    headers: { ...bearer(token), 'client-request-id': correlationId },
  });
}

async function signInSeen(h: Harness, upn: string, password: string, correlationId: string): Promise<number> {
  return signInCodeOf(
    await h.rekey.tokenRequest(passwordGrant(upn, password), { 'client-request-id': correlationId }),
  );
}

/** A user's own change that the policy refuses; returns the code the caller saw. */
async function refusedChange(
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
  expect(response.statusCode, response.body).toBe(400);
  return { upn: user.userPrincipalName, correlationId, seenCode: aadstsCodeOf(response) };
}

const cloudScenarios: readonly CloudScenario[] = [
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
      expect(patched.statusCode, patched.body).toBe(204);
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
      expect(deleted.statusCode, deleted.body).toBe(204);
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
      expect(await signInSeen(h, user.userPrincipalName, canary, correlationId)).toBe(50055);
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
      expect(await signInSeen(h, user.userPrincipalName, canary, correlationId)).toBe(50055);
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
      expect(response.statusCode, response.body).toBe(400);
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
      expect(created.statusCode, created.body).toBe(201);
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
      expect(federated.statusCode, federated.body).toBe(201);
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        headers: { 'client-request-id': correlationId },
        payload: { userPrincipalName: upn, currentPassword: canary, newPassword: 'Quartz-Ribbon-55!' },
      });
      expect(response.statusCode, response.body).toBe(400);
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
      expect(response.statusCode, response.body).toBeLessThan(300);
    },
    after: async (h) => {
      await h.rekey.settings.updatePasswordPolicy(systemContext('scenario'), { minLength: 8 });
    },
    produce: (h, alias, correlationId) => refusedChange(h, alias, correlationId, () => goodPassword),
    alsoByCode(report) {
      const changed = report.findings.find((f) => f.check === 'whatChanged');
      expect(changed?.status).toBe('warn');
      expect(changed?.evidence.join('\n')).toMatch(/Update password policy.*3 user\(s\) failed since/);
      expect(report.scope.usersAffected).toBeGreaterThanOrEqual(3);
    },
  },
];

async function diagnose(h: Harness, body: Json): Promise<DiagnoseReport> {
  const response = await h.rekey.app.inject({
    method: 'POST',
    url: '/rekey/v1/diagnose',
    headers: bearer(h.admin),
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<DiagnoseReport>();
}

function expectVerdict(report: DiagnoseReport, code: number, check: string, how: string): void {
  expect(report.verdict.code, `${how}: ${JSON.stringify(report.verdict)}`).toBe(code);
  expect(report.findings.map((f) => f.check)).toEqual([
    'serviceStatus',
    'scope',
    'correlationTimeline',
    'accountState',
    'licence',
    'lockoutAndSignIns',
    'policyCompliance',
    'directoryObject',
    'federationAndConnector',
    'operationHistory',
    'whatChanged',
  ]);
  const failed = report.findings.filter((f) => f.status === 'fail');
  expect(failed.length, `${how}: some check fails`).toBeGreaterThan(0);
  if (how !== 'code') {
    const named = report.findings.find((f) => f.check === check);
    expect(named?.status, `${how}: ${check} ${JSON.stringify(named)}`).toBe('fail');
    expect(named?.evidence.length).toBeGreaterThan(0);
  }
  expect(report.timeline.length).toBeGreaterThan(0);
  expect(JSON.stringify(report)).not.toContain(canary);
}

describe.each(dialects)('diagnose scenarios on %s', (dialect) => {
  let h: Harness;

  beforeAll(async () => {
    const rekey = await startTestRekey(dialect);
    h = { rekey, admin: await rekey.adminToken() };
  });
  afterAll(async () => h?.rekey.close());

  cloudScenarios.forEach((scenario, index) => {
    it(`${scenario.name}: verdict ${scenario.verdict} by user, by correlation ID and by code`, async () => {
      const since = new Date(Date.now() - 1).toISOString();
      await scenario.before?.(h);
      try {
        const produced: Produced[] = [];
        for (let i = 0; i < (scenario.users ?? 2); i += 1)
          produced.push(await scenario.produce(h, `s${index}u${i}`, `scenario-${index}-user-${i}`));
        const first = produced[0];
        if (!first) throw new Error('no failure produced');
        expectVerdict(
          await diagnose(h, { userPrincipalName: first.upn, since }),
          scenario.verdict,
          scenario.check,
          'user',
        );
        expectVerdict(
          await diagnose(h, { correlationId: first.correlationId }),
          scenario.verdict,
          scenario.check,
          'correlation',
        );
        const byCode = await diagnose(h, { errorCode: first.seenCode, since });
        expectVerdict(byCode, scenario.verdict, scenario.check, 'code');
        expect(byCode.scope.usersAffected).toBeGreaterThanOrEqual(produced.length);
        scenario.alsoByCode?.(byCode);
      } finally {
        await scenario.after?.(h);
      }
    });
  });

  it('names the rules a refused password failed, never the password', async () => {
    const produced = await refusedChange(h, 'rules-user', 'rules-request', () => 'abc');
    const report = await diagnose(h, { userPrincipalName: produced.upn });
    const policy = report.findings.find((f) => f.check === 'policyCompliance');
    expect(policy?.evidence.join('\n')).toMatch(/rules failed: .*length/);
    expect(Object.keys((policy?.data?.['failedRules'] as Json) ?? {})).toContain('characterCategories');
    expect(report.verdict.summary).toContain('length');
  });

  it('refuses a request without a selector, and bad ones, with a catalog code', async () => {
    for (const [body, code] of [
      [{}, 7700001],
      [{ errorCode: 424242 }, 7700001],
      [{ userPrincipalName: 'a@example.com', since: 'yesterday' }, 7700601],
      [{ userPrincipalName: 'a@example.com', extra: 1 }, 7700001],
    ] as const) {
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: '/rekey/v1/diagnose',
        headers: bearer(h.admin),
        payload: body,
      });
      expect(response.statusCode, response.body).toBe(400);
      expect(aadstsCodeOf(response)).toBe(code);
    }
  });

  it('is open to the help desk and Global Reader, not to a plain user; the bundle only to readers of everything', async () => {
    const helpdesk = await h.rekey.createUserWithToken('diag-helpdesk', canary, {
      roles: ['Helpdesk Administrator'],
    });
    const reader = await h.rekey.createUserWithToken('diag-reader', canary, { roles: ['Global Reader'] });
    const plain = await h.rekey.createUserWithToken('diag-plain', canary);
    const ask = (token: string, url: string) =>
      h.rekey.app.inject({
        method: 'POST',
        url,
        headers: bearer(token),
        payload: { userPrincipalName: plain.userPrincipalName },
      });
    expect((await ask(helpdesk.token, '/rekey/v1/diagnose')).statusCode).toBe(200);
    expect((await ask(reader.token, '/rekey/v1/diagnose')).statusCode).toBe(200);
    expect((await ask(plain.token, '/rekey/v1/diagnose')).statusCode).toBe(403);
    // The help desk sees one user at a time, and only one whose password it may reset.
    const askBody = (token: string, payload: Json) =>
      h.rekey.app.inject({ method: 'POST', url: '/rekey/v1/diagnose', headers: bearer(token), payload });
    const ofAdmin = await askBody(helpdesk.token, { userPrincipalName: 'admin@example.com' });
    expect(ofAdmin.statusCode, ofAdmin.body).toBe(403);
    expect(aadstsCodeOf(ofAdmin)).toBe(7700103);
    const byCode = await askBody(helpdesk.token, { errorCode: 50126 });
    expect(byCode.statusCode, byCode.body).toBe(403);
    expect((await askBody(reader.token, { errorCode: 50126 })).statusCode).toBe(200);
    expect((await askBody(reader.token, { userPrincipalName: 'admin@example.com' })).statusCode).toBe(200);
    expect((await ask(helpdesk.token, '/rekey/v1/supportBundles')).statusCode).toBe(403);
    expect((await ask(reader.token, '/rekey/v1/supportBundles')).statusCode).toBe(200);
  });

  it('builds support bundles with a true manifest and without the canary password in any file', async () => {
    // The canary is used in a reset, a change and sign-ins, right and wrong, of one user.
    const user = await h.rekey.createUser('bundle-user', goodPassword);
    const reset = await h.rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${user.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      headers: { ...bearer(h.admin), 'client-request-id': 'bundle-reset' },
      payload: { newPassword: canary },
    });
    expect(reset.statusCode, reset.body).toBe(202);
    await h.rekey.operations.runOperation(String(reset.headers['location']).split('/').pop() ?? '');
    await signInSeen(h, user.userPrincipalName, canary, 'bundle-signin-expired');
    const changed = await h.rekey.app.inject({
      method: 'POST',
      url: '/example.com/password/change',
      payload: {
        userPrincipalName: user.userPrincipalName,
        currentPassword: canary,
        newPassword: `${canary}x`,
      },
      headers: { 'client-request-id': 'bundle-change' },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    await signInSeen(h, user.userPrincipalName, canary, 'bundle-signin-old');
    await signInSeen(h, user.userPrincipalName, `${canary}x`, 'bundle-signin-new');
    for (const body of [
      { userPrincipalName: user.userPrincipalName },
      { correlationId: 'bundle-change' },
      { errorCode: 50126 },
    ]) {
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: '/rekey/v1/supportBundles',
        headers: bearer(h.admin),
        payload: body,
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['content-type']).toBe('application/zip');
      const entries = readZip(response.rawPayload);
      const names = entries.map((e) => e.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'diagnose.json',
          'diagnose.txt',
          'logs/sign-ins.json',
          'logs/audit.json',
          'logs/event-log.json',
          'operations/operations.json',
          'operations/connector-trace.json',
          'configuration/settings.json',
          'configuration/connectors.json',
          'configuration/domains.json',
          'versions.json',
          'manifest.json',
        ]),
      );
      // The event log entries of the requests: the failed sign-in with the old password is one.
      if ('userPrincipalName' in body) {
        const events = JSON.parse(
          entries.find((e) => e.name === 'logs/event-log.json')?.data.toString('utf8') ?? '[]',
        ) as Array<{ correlationId: string }>;
        expect(events.map((event) => event.correlationId)).toContain('bundle-signin-old');
        const versions = JSON.parse(
          entries.find((e) => e.name === 'versions.json')?.data.toString('utf8') ?? '{}',
        ) as Record<string, unknown>;
        expect(JSON.stringify(versions)).toMatch(/0\d{3}-/);
      }
      for (const entry of entries) {
        expect(entry.data.toString('utf8'), entry.name).not.toContain(canary);
        expect(entry.data.toString('base64'), entry.name).not.toContain(
          Buffer.from(canary).toString('base64'),
        );
      }
      const manifest = JSON.parse(
        entries.find((e) => e.name === 'manifest.json')?.data.toString('utf8') ?? '{}',
      ) as {
        files: Array<{ name: string; size: number; sha256: string }>;
      };
      const { createHash } = await import('node:crypto');
      for (const file of manifest.files) {
        const entry = entries.find((e) => e.name === file.name);
        expect(entry?.data.length).toBe(file.size);
        expect(
          createHash('sha256')
            .update(entry?.data ?? Buffer.alloc(0))
            .digest('hex'),
        ).toBe(file.sha256);
      }
    }
  });
});

/** A clock that only moves when the test moves it (the directory-down scenario waits for a deadline). */
class TestClock implements Clock {
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

interface HybridHarness extends Harness {
  readonly slapd: TestSlapd;
  readonly clock: TestClock;
  readonly connectorId: string;
  userId(user: FixtureUser): Promise<string>;
  /** An administrator's reset, accepted then run (to its end when `untilEnd`). */
  reset(user: FixtureUser, password: string, correlationId: string): Promise<string>;
  patchConnector(payload: Json): Promise<void>;
}

interface HybridScenario {
  readonly name: string;
  readonly verdict: number;
  readonly check: string;
  produce(h: HybridHarness, correlationId: string): Promise<Produced>;
}

const hybridScenarios: readonly HybridScenario[] = [
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
      expect(response.statusCode, response.body).toBe(400);
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
      expect(response.statusCode, response.body).toBe(400);
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
      expect(await signInSeen(h, user.mail, user.password, correlationId)).toBe(50144);
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
      expect(removed.statusCode, removed.body).toBe(200);
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: `/v1.0/users/${id}/authentication/methods/${passwordMethodId}/resetPassword`,
        headers: { ...bearer(h.admin), 'client-request-id': correlationId },
        payload: { newPassword: 'Harbor-Violet-82!' },
      });
      expect(response.statusCode, response.body).toBe(403);
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

describe.each(dialects)('diagnose hybrid scenarios against OpenLDAP on %s', (dialect) => {
  let h: HybridHarness;

  beforeAll(async () => {
    const clock = new TestClock();
    const slapd = await startSlapd({ tls: true });
    const rekey = await startTestRekey(dialect, {
      clock,
      env: { REKEY_CHANGE_WAIT: '2', REKEY_OPERATION_BACKOFF_BASE: '1', REKEY_OPERATION_BACKOFF_MAX: '1' },
    });
    const admin = await rekey.adminToken();
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
    const connectorId = String(created.json<Json>()['id']);
    const synced = await rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/connectors/${connectorId}/sync`,
      headers: bearer(admin),
    });
    expect(synced.json<Json>()['result'], synced.body).toBe('success');
    const userId = async (user: FixtureUser) => (await rekey.users.getUser(user.mail)).id;
    h = {
      rekey,
      admin,
      slapd,
      clock,
      connectorId,
      userId,
      async reset(user, password, correlationId) {
        const response = await rekey.app.inject({
          method: 'POST',
          url: `/v1.0/users/${await userId(user)}/authentication/methods/${passwordMethodId}/resetPassword`,
          headers: { ...bearer(admin), 'client-request-id': correlationId },
          payload: { newPassword: password },
        });
        expect(response.statusCode, response.body).toBe(202);
        const id = String(response.headers['location']).split('/').pop() ?? '';
        await rekey.operations.runOperation(id);
        const row = await rekey.operations.getOperation(id);
        if (row?.state === 'retryScheduled') {
          clock.set(new Date(row.deadline_at));
          await rekey.operations.runOperation(id);
        }
        return id;
      },
      async patchConnector(payload) {
        const response = await rekey.app.inject({
          method: 'PATCH',
          url: `/rekey/v1/connectors/${connectorId}`,
          headers: bearer(admin),
          payload,
        });
        expect(response.statusCode, response.body).toBe(200);
      },
    };
  });
  afterAll(async () => {
    await h?.rekey.close();
    await h?.slapd.close();
  });

  hybridScenarios.forEach((scenario, index) => {
    it(`${scenario.name}: verdict ${scenario.verdict} by user, by correlation ID and by code`, async () => {
      h.clock.advance(1000);
      const since = h.clock.now().toISOString();
      h.clock.advance(1000);
      try {
        const produced = await scenario.produce(h, `hybrid-${index}`);
        h.clock.advance(1000);
        const reports = [
          await diagnose(h, { userPrincipalName: produced.upn, since }),
          await diagnose(h, { correlationId: produced.correlationId }),
          await diagnose(h, { errorCode: produced.seenCode, since }),
        ];
        expectVerdict(reports[0] as DiagnoseReport, scenario.verdict, scenario.check, 'user');
        expectVerdict(reports[1] as DiagnoseReport, scenario.verdict, scenario.check, 'correlation');
        expectVerdict(reports[2] as DiagnoseReport, scenario.verdict, scenario.check, 'code');
        for (const report of reports)
          expect(JSON.stringify(report)).not.toContain(h.slapd.serviceAccount.password);
      } finally {
        await h.patchConnector({ writeback: true, bindPassword: h.slapd.serviceAccount.password });
      }
    });
  });

  it("keeps the connector's bind password and the users' passwords out of every bundle", async () => {
    await h.reset(fixtureUsers.kim, canary, 'hybrid-bundle-reset');
    for (const body of [
      { userPrincipalName: fixtureUsers.kim.mail },
      { userPrincipalName: fixtureUsers.hal.mail, since: '1d' },
      { errorCode: 120008, since: '7d' },
    ]) {
      const response = await h.rekey.app.inject({
        method: 'POST',
        url: '/rekey/v1/supportBundles',
        headers: bearer(h.admin),
        payload: body,
      });
      expect(response.statusCode, response.body).toBe(200);
      const entries = readZip(response.rawPayload);
      const connectors = entries.find((e) => e.name === 'configuration/connectors.json');
      expect(connectors?.data.toString('utf8')).toContain(h.slapd.serviceAccount.dn);
      for (const entry of entries) {
        const text = entry.data.toString('utf8');
        for (const secret of [
          canary,
          h.slapd.serviceAccount.password,
          'Not-The-Service-Pass-1',
          'Harbor-Thistle-36!',
          fixtureUsers.pam.password,
        ])
          expect(text, `${entry.name} holds a secret`).not.toContain(secret);
      }
    }
  });
});
