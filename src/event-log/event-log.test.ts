import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json, tokenRequestOptions } from '../../test/support/http-helpers.js';
import { adminUpn, passwordGrant, type TestRekey } from '../../test/support/rekey-harness.js';
import { systemContext } from '../platform/request-context.js';
import { listEventDefinitions } from './event-catalog.js';

/*
 * The event log through the real paths that write it (the token endpoint, Graph's user API, the
 * settings service) and the two ways to read it: GET /rekey/v1/eventLog and `rekey logs events`.
 */

type Entry = Record<string, unknown> & { details: Json };

describe.each(dialects)('event log on %s', (dialect) => {
  let started: CliTestRekey | undefined;
  let rekey: TestRekey;
  let env: Record<string, string>;
  let admin: string;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-event-log-');
    ({ rekey, env } = started);
    admin = await rekey.adminToken();
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(async () => {
    await rekey.db.kysely.deleteFrom('event_log').execute();
  });

  async function events(query: string, token = admin): Promise<{ value: Entry[]; next?: string }> {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `/rekey/v1/eventLog${query}`,
      headers: bearer(token),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ value: Entry[]; '@odata.nextLink'?: string }>();
    return { value: body.value, ...(body['@odata.nextLink'] ? { next: body['@odata.nextLink'] } : {}) };
  }

  it('records a failed sign-in (5001) with its correlation ID, and the lockout it caused (5002)', async () => {
    const user = await rekey.createUser('evelyn', 'Quartz-Meadow-81!');
    await rekey.settings.updateSmartLockout(systemContext('test-lockout'), { lockoutThreshold: 2 });
    const correlationId = '0b8d6f3e-1c2a-4e5f-9a7b-000000005001';
    const first = await rekey.app.inject(
      tokenRequestOptions(passwordGrant(user.userPrincipalName, 'wrong-password-1'), {
        'client-request-id': correlationId,
      }),
    );
    expect(first.statusCode).toBe(400);
    const failed = await events(`?eventId=5001&correlationId=${correlationId}`);
    expect(failed.value).toHaveLength(1);
    expect(failed.value[0]).toMatchObject({
      channel: 'security',
      level: 'warning',
      eventId: 5001,
      eventName: 'SignInFailed',
      source: 'Rekey-SignIn',
      correlationId,
      userId: user.id,
      details: { errorCode: 50126, userPrincipalName: user.userPrincipalName },
    });
    expect(String(failed.value[0]?.['message'])).toContain('AADSTS50126');
    expect(String(failed.value[0]?.['message'])).not.toContain('wrong-password-1');
    expect((await events('?eventId=5002')).value).toHaveLength(0);

    // The second wrong password reaches the threshold: that attempt locks the account.
    await rekey.signInCode(user.userPrincipalName, 'wrong-password-2');
    const locked = await events('?eventId=5002');
    expect(locked.value).toHaveLength(1);
    expect(locked.value[0]).toMatchObject({ channel: 'security', source: 'Rekey-Lockout', userId: user.id });
    // Attempts while locked fail again (5001) without locking again.
    await rekey.signInCode(user.userPrincipalName, 'Quartz-Meadow-81!');
    expect((await events('?eventId=5002')).value).toHaveLength(1);
    expect((await events('?eventId=5001')).value).toHaveLength(3);
    await rekey.settings.updateSmartLockout(systemContext('test-lockout'), { lockoutThreshold: 10 });
  });

  it("records an administrator's action (6001) and a policy change (6101) beside their audit rows", async () => {
    const correlationId = '0b8d6f3e-1c2a-4e5f-9a7b-000000006001';
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/users',
      headers: { ...bearer(admin), 'client-request-id': correlationId },
      payload: {
        accountEnabled: true,
        displayName: 'Felix Event',
        mailNickname: 'felix',
        userPrincipalName: 'felix@example.com',
        passwordProfile: { password: 'Saffron-Lattice-62!', forceChangePasswordNextSignIn: false },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const admins = await events(`?correlationId=${correlationId}`);
    expect(admins.value).toHaveLength(1);
    expect(admins.value[0]).toMatchObject({
      channel: 'security',
      level: 'information',
      eventId: 6001,
      source: 'Rekey-Admin',
      details: { activity: 'addUser', result: 'success', actor: adminUpn },
    });
    const audit = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select('id')
      .where('correlation_id', '=', correlationId)
      .execute();
    expect(audit).toHaveLength(1);

    const policy = await rekey.app.inject({
      method: 'PATCH',
      url: '/rekey/v1/settings/passwordPolicy',
      headers: bearer(admin),
      payload: { minLength: 10 },
    });
    expect(policy.statusCode, policy.body).toBeLessThan(300);
    const changes = await events('?eventId=6101');
    expect(changes.value).toHaveLength(1);
    expect(changes.value[0]).toMatchObject({
      source: 'Rekey-Policy',
      details: { activity: 'updatePasswordPolicy', changed: expect.stringContaining('minLength') },
    });
  });

  it('filters by channel, level, source and time, pages with @odata.nextLink, and refuses bad input', async () => {
    for (const n of [1, 2, 3]) await rekey.signInCode(`nobody${n}@example.com`, 'not-a-password');
    await rekey.settings.updatePasswordPolicy(systemContext('test-filter'), { minLength: 12 });
    expect((await events('?channel=application')).value).toHaveLength(0);
    expect((await events('?channel=security')).value).toHaveLength(4);
    expect((await events('?level=warning')).value).toHaveLength(3);
    expect((await events('?source=Rekey-Policy')).value).toHaveLength(1);
    expect((await events('?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z')).value).toHaveLength(0);

    const seen: string[] = [];
    let page = await events('?channel=security&top=3');
    seen.push(...page.value.map((e) => String(e['id'])));
    expect(page.next).toContain('skiptoken=');
    expect(page.next).toContain('channel=security');
    page = await events(page.next?.replace('http://rekey.test/rekey/v1/eventLog', '') ?? '');
    seen.push(...page.value.map((e) => String(e['id'])));
    expect(page.next).toBeUndefined();
    expect(new Set(seen).size).toBe(4);
    // Newest first.
    const all = (await events('')).value.map((e) => String(e['createdDateTime']));
    expect([...all].sort().reverse()).toEqual(all);

    const bad = (query: string) =>
      rekey.app.inject({ method: 'GET', url: `/rekey/v1/eventLog${query}`, headers: bearer(admin) });
    expectErrorCode(await bad('?skiptoken=not-a-token'), 400, 7700007);
    expectErrorCode(await bad('?channel=system'), 400, 7700001);
    expectErrorCode(await bad('?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z'), 400, 7700007);
    const reader = await rekey.createUserWithToken('gail', 'Cobalt-Harbor-47!');
    expectErrorCode(
      await rekey.app.inject({ method: 'GET', url: '/rekey/v1/eventLog', headers: bearer(reader.token) }),
      403,
      7700103,
    );
    const reports = await rekey.createUserWithToken('hugo', 'Cobalt-Harbor-48!', {
      roles: ['Reports Reader'],
    });
    expect((await events('?top=1', reports.token)).value).toHaveLength(1);
  });

  it('rekey logs events lists the same entries with the same filters, and --ids the catalog', async () => {
    await rekey.signInCode('nobody@example.com', 'not-a-password');
    await rekey.settings.updatePasswordPolicy(systemContext('test-cli'), { minLength: 11 });
    const json = await runRekeyCli(env, [
      'logs',
      'events',
      '--channel',
      'security',
      '--event-id',
      '5001',
      '--json',
    ]);
    expect(json.code, json.err).toBe(0);
    const listed = JSON.parse(json.out) as Entry[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ eventId: 5001, details: { errorCode: expect.any(Number) } });
    const text = await runRekeyCli(env, ['logs', 'events', '--source', 'Rekey-Policy']);
    expect(text.code, text.err).toBe(0);
    expect(text.out.split('\n')).toHaveLength(1);
    expect(text.out).toMatch(/security\s+information\s+6101\s+Rekey-Policy/);
    const none = await runRekeyCli(env, ['logs', 'events', '--channel', 'application']);
    expect(none.out).toBe('No event-log entries match.');
    const bad = await runRekeyCli(env, ['logs', 'events', '--level', 'loud']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error 7700001 /);
    const ids = await runRekeyCli(env, ['logs', 'events', '--ids', '--json']);
    expect(JSON.parse(ids.out)).toEqual(listEventDefinitions());
  });
});

describe('the event id table of docs/event-log.md', () => {
  it('lists every event id with its channel, level, source and name, and nothing else', () => {
    const doc = readFileSync(new URL('../../docs/event-log.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d{4}) \| `(\w+)` \| (\w+) \| (\w+) \| `([\w-]+)` \|/gm)].map(
      (m) => ({
        id: Number(m[1]),
        name: m[2],
        channel: m[3],
        level: m[4],
        source: m[5],
      }),
    );
    expect(rows).toEqual(
      listEventDefinitions().map((d) => ({
        id: d.id,
        name: d.name,
        channel: d.channel,
        level: d.level,
        source: d.source,
      })),
    );
  });
});
