import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { type FixtureUser, fixtureUsers } from '../../test/support/slapd-fixtures.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import type { Clock } from '../platform/clock.js';
import { systemContext } from '../platform/request-context.js';

/*
 * Writeback to a stopped slapd until the operations' deadline, on both databases: each reset
 * ends terminated with cause 120013, which writes event 3001 (with the cause) beside its audit
 * row; the incident rules then open "Password changes failing" and "On-premises directory
 * unreachable" from those operations, and the worker queue shows the first as degraded.
 */

class TestClock implements Clock {
  private current = new Date();
  now(): Date {
    return new Date(this.current);
  }
  set(at: Date): void {
    this.current = new Date(at);
  }
}

describe.each(dialects)('incidents from terminated operations on %s', (dialect) => {
  const clock = new TestClock();
  let slapd: TestSlapd;
  let rekey: TestRekey;
  let admin: string;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    rekey = await startTestRekey(dialect, {
      clock,
      env: {
        REKEY_CHANGE_WAIT: '1',
        REKEY_INCIDENT_TERMINATED_USERS: '2',
        REKEY_INCIDENT_UNREACHABLE_USERS: '2',
      },
    });
    admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, 'Branch office', {
        connectTimeoutMs: 1000,
        operationTimeoutMs: 2000,
        writeback: true,
      }) as Json,
    });
    expect(created.statusCode, created.body).toBe(201);
    const synced = await rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/connectors/${String(created.json<Json>()['id'])}/sync`,
      headers: bearer(admin),
    });
    expect(synced.json<Json>()['result'], synced.body).toBe('success');
  });
  afterAll(async () => {
    await rekey?.close();
    await slapd?.close();
  });

  async function acceptReset(user: FixtureUser, newPassword: string): Promise<string> {
    const id = (await rekey.users.getUser(user.mail)).id;
    const response = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${id}/authentication/methods/${passwordMethodId}/resetPassword`,
      headers: bearer(admin),
      payload: { newPassword },
    });
    expect(response.statusCode, response.body).toBe(202);
    return String(response.headers['location']).split('/').pop() ?? '';
  }

  it('writes 3001 for each terminated operation and opens both incidents from them', async () => {
    await slapd.stop();
    try {
      const ids = [
        await acceptReset(fixtureUsers.fay, 'Saffron-Ridge-85!'),
        await acceptReset(fixtureUsers.gus, 'Violet-Harbor-52!'),
      ];
      for (const id of ids) await rekey.operations.runOperation(id);
      const deadlines = await Promise.all(ids.map((id) => rekey.operations.getOperation(id)));
      clock.set(new Date(Math.max(...deadlines.map((row) => Date.parse(row?.deadline_at ?? '')))));
      for (const id of ids) {
        await rekey.operations.runOperation(id);
        expect(await rekey.operations.getOperation(id)).toMatchObject({
          state: 'terminated',
          error_code: 120013,
        });
      }
    } finally {
      if (!slapd.isRunning) await slapd.start();
    }
    const terminated = await rekey.db.kysely
      .selectFrom('event_log')
      .select(['channel', 'level', 'source', 'message', 'details'])
      .where('event_id', '=', 3001)
      .execute();
    expect(terminated).toHaveLength(2);
    expect(terminated[0]).toMatchObject({
      channel: 'application',
      level: 'error',
      source: 'Rekey-Operations',
    });
    expect(JSON.parse(terminated[0]?.details ?? '{}')).toMatchObject({ causeCode: 120013 });
    expect(terminated[0]?.message).toContain('AADSTS120013');

    const { opened } = await rekey.status.evaluate();
    expect(opened).toHaveLength(2);
    const issues = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/admin/serviceAnnouncement/issues',
      headers: bearer(admin),
    });
    const titles = issues.json<{ value: Json[] }>().value.map((issue) => [issue['title'], issue['status']]);
    expect(titles).toEqual(
      expect.arrayContaining([
        ['Password changes failing', 'serviceDegradation'],
        ['On-premises directory unreachable', 'serviceInterruption'],
      ]),
    );
    const overview = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/admin/serviceAnnouncement/healthOverviews',
      headers: bearer(admin),
    });
    const queue = overview.json<{ value: Json[] }>().value.find((c) => c['id'] === 'workerQueue');
    expect(queue).toMatchObject({ status: 'serviceDegradation', figures: { depth: 0 } });
  });
});
