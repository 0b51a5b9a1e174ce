import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer, type Json } from '../../test/support/http-helpers.js';
import { fixtureUsers } from '../../test/support/slapd-fixtures.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { readZip } from '../platform/archive/zip-writer.js';
import {
  canary,
  cloudScenarios,
  diagnose,
  goodPassword,
  type Harness,
  type HybridHarness,
  hybridScenarios,
  refusedChange,
  runCloudScenario,
  runDirectoryScenario,
  type ScenarioRun,
  signInSeen,
  startCloudHarness,
  startHybridHarness,
} from './diagnose-scenarios.test-support.js';
import type { DiagnoseReport } from './diagnose-types.js';

/*
 * The troubleshooter's scenario suite: each scenario (diagnose-scenarios.test-support.ts, shared
 * with `npm run bench -- diagnose`) makes a failure happen for real through the public API
 * (sign-ins, changes, resets against real SQLite/PostgreSQL and, for the hybrid ones, a real
 * slapd), then asks POST /rekey/v1/diagnose three ways (by user, by the failed request's
 * correlation ID, by the code callers saw across users); this file checks each verdict names the
 * root cause with evidence. The Active Directory rows run in test/active-directory.test.ts, which
 * owns the one Samba domain controller. Add a scenario by adding a row to a table there.
 */

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

/** The three reports of a scenario name its root cause, each with the evidence of its check. */
function expectRun(run: ScenarioRun, code: number, check: string): void {
  expectVerdict(run.reports.user, code, check, 'user');
  expectVerdict(run.reports.correlation, code, check, 'correlation');
  expectVerdict(run.reports.code, code, check, 'code');
  expect(run.reports.code.scope.usersAffected).toBeGreaterThanOrEqual(run.produced.length);
}

describe.each(dialects)('diagnose scenarios on %s', (dialect) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startCloudHarness(dialect);
  });
  afterAll(async () => h?.rekey.close());

  cloudScenarios.forEach((scenario, index) => {
    it(`${scenario.name}: verdict ${scenario.verdict} by user, by correlation ID and by code`, async () => {
      const run = await runCloudScenario(h, scenario, index);
      expectRun(run, scenario.verdict, scenario.check);
      scenario.alsoByCode?.(run.reports.code);
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

describe.each(dialects)('diagnose hybrid scenarios against OpenLDAP on %s', (dialect) => {
  let h: HybridHarness;

  beforeAll(async () => {
    h = await startHybridHarness(dialect);
  });
  afterAll(async () => h?.close());

  hybridScenarios.forEach((scenario, index) => {
    it(`${scenario.name}: verdict ${scenario.verdict} by user, by correlation ID and by code`, async () => {
      const run = await runDirectoryScenario(h, scenario, `hybrid-${index}`);
      expectRun(run, scenario.verdict, scenario.check);
      for (const report of Object.values(run.reports))
        expect(JSON.stringify(report)).not.toContain(h.slapd.serviceAccount.password);
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
