import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { answerSignInsAsEntra, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { fixtureUsers } from '../../test/support/slapd-fixtures.js';
import type { Clock } from '../platform/clock.js';
import { createLogger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import { createStatusService } from './status-service.js';

/*
 * Service status on real data: a real slapd stopped under a connector makes synced users'
 * pass-through sign-ins fail with 80001 (written by the token endpoint to the sign-in log, and by
 * the connector to its trace); the incident rule opens "On-premises directory unreachable" with
 * the users hit, the connector shows interrupted, and once slapd is back and the window has
 * passed the incident is resolved. The worker queue's depth and lag come from an operation
 * accepted by the real engine and left for a worker that is not running.
 */

/** A clock the test moves. */
class TestClock implements Clock {
  private current = new Date();
  now(): Date {
    return new Date(this.current);
  }
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

describe.each(dialects)('service status on %s', (dialect) => {
  const clock = new TestClock();
  let slapd: TestSlapd;
  let rekey: TestRekey;
  let admin: string;
  let connectorId: string;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    rekey = await startTestRekey(dialect, {
      clock,
      env: {
        REKEY_INCIDENT_UNREACHABLE_USERS: '3',
        REKEY_INCIDENT_WINDOW: '600',
        REKEY_METRICS_TOKEN: 'status-test-metrics-token',
      },
    });
    await answerSignInsAsEntra(rekey);
    admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, 'Head office', {
        connectTimeoutMs: 1000,
        operationTimeoutMs: 500,
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

  const graph = async (path: string) => {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/admin/serviceAnnouncement/${path}`,
      headers: bearer(admin),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Json & { value: Json[] }>();
  };
  const publicStatus = async () => {
    const response = await rekey.app.inject({
      method: 'GET',
      url: '/status',
      headers: { accept: 'application/json' },
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ status: string; components: Json[]; incidents: Json[] }>();
  };
  const events = async (eventId: number) =>
    rekey.db.kysely
      .selectFrom('event_log')
      .select(['message', 'details', 'correlation_id'])
      .where('event_id', '=', eventId)
      .execute();

  it('shows every component operational while nothing fails', async () => {
    const overview = await graph('healthOverviews');
    expect(overview['@odata.context']).toBe(
      'http://rekey.test/v1.0/$metadata#admin/serviceAnnouncement/healthOverviews',
    );
    expect(overview.value.map((c) => [c['id'], c['status']])).toEqual([
      ['api', 'serviceOperational'],
      ['database', 'serviceOperational'],
      ['workerQueue', 'serviceOperational'],
      [`connector:${connectorId}`, 'serviceOperational'],
    ]);
    expect(overview.value[3]).toMatchObject({ service: 'Head office' });
    expect(await rekey.status.evaluate()).toEqual({ opened: [], resolved: [] });
    expect((await graph('issues')).value).toEqual([]);
    expect((await publicStatus()).status).toBe('serviceOperational');
  });

  it('opens "on-premises directory unreachable" when slapd stops and enough users are hit, and resolves it once it recovers', async () => {
    const users = [fixtureUsers.ann, fixtureUsers.ben, fixtureUsers.cat];
    await slapd.stop();
    try {
      // Two users are below the threshold of three: no incident yet.
      for (const user of users.slice(0, 2))
        expect(await rekey.signInCode(user.mail, user.password)).toBe(80001);
      expect((await rekey.status.evaluate()).opened).toEqual([]);
      expect(await rekey.signInCode(users[2]?.mail ?? '', users[2]?.password ?? '')).toBe(80001);
      const { opened } = await rekey.status.evaluate();
      expect(opened).toHaveLength(1);
      const id = opened[0] ?? '';

      const issue = await rekey.app.inject({
        method: 'GET',
        url: `/v1.0/admin/serviceAnnouncement/issues/${id}`,
        headers: bearer(admin),
      });
      expect(issue.statusCode, issue.body).toBe(200);
      expect(issue.json<Json>()).toMatchObject({
        id,
        title: 'On-premises directory unreachable',
        classification: 'incident',
        status: 'serviceInterruption',
        isResolved: false,
        endDateTime: null,
        details: expect.arrayContaining([
          { name: 'usersAffected', value: '3' },
          { name: 'errorCode', value: '120013' },
        ]),
      });
      expect(String(issue.json<Json>()['impactDescription'])).toContain('3 user(s)');
      // The connector's own calls got no answer: it is interrupted, and says so.
      const connector = (await graph('healthOverviews')).value.find(
        (c) => c['id'] === `connector:${connectorId}`,
      );
      expect(connector).toMatchObject({ status: 'serviceInterruption', figures: { unreachable: 3 } });
      // The public page names the incident and no tenant data: no connector name, no count.
      const page = await publicStatus();
      expect(page.status).toBe('serviceInterruption');
      expect(page.incidents).toEqual([
        expect.objectContaining({ id, title: 'On-premises directory unreachable', isResolved: false }),
      ]);
      expect(JSON.stringify(page)).not.toContain('Head office');
      expect(JSON.stringify(page)).not.toContain('user(s)');
      const html = await rekey.app.inject({ method: 'GET', url: '/status' });
      expect(html.headers['content-type']).toContain('text/html');
      expect(html.body).toContain('On-premises directory unreachable');
      expect(html.body).not.toMatch(/<script/i);
      expect(html.headers['content-security-policy']).toContain("default-src 'none'");
      // The event log has the opening and the connector's errors.
      expect(await events(4001)).toEqual([expect.objectContaining({ correlation_id: id })]);
      expect((await events(2001)).length).toBeGreaterThanOrEqual(3);
      // And the metrics time the connector's unanswered calls under its id.
      const scraped = await rekey.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: bearer('status-test-metrics-token'),
      });
      expect(scraped.body).toMatch(
        new RegExp(
          `rekey_connector_call_duration_seconds_count\\{connector="${connectorId}",operation="\\w+",result="unreachable"\\} [1-9]`,
        ),
      );
      // Evaluated again while it lasts: still one incident.
      expect(await rekey.status.evaluate()).toEqual({ opened: [], resolved: [] });
    } finally {
      if (!slapd.isRunning) await slapd.start();
    }
    expect(await rekey.signInCode(fixtureUsers.dan.mail, fixtureUsers.dan.password)).toBe(0);
    // Still within the window: the failures still count.
    expect((await rekey.status.evaluate()).resolved).toEqual([]);
    clock.advance(601);
    const { resolved } = await rekey.status.evaluate();
    expect(resolved).toHaveLength(1);
    const [issue] = (await graph('issues')).value;
    expect(issue).toMatchObject({ isResolved: true, status: 'serviceRestored' });
    expect(
      ((issue?.['posts'] ?? []) as Json[]).map(
        (p) => String((p['description'] as Json)['content']).split(':')[0],
      ),
    ).toEqual(['Opened', 'Resolved']);
    expect(await events(4002)).toHaveLength(1);
    expect((await publicStatus()).incidents).toEqual([expect.objectContaining({ isResolved: true })]);
  });

  it('measures the worker queue: depth of due operations and the lag of the oldest', async () => {
    const user = await rekey.users.getUser(fixtureUsers.eve.mail);
    const at = clock.now().toISOString();
    await rekey.db.kysely.transaction().execute((trx) =>
      rekey.operations.accept(
        trx,
        {
          id: randomUUID(),
          tenant_id: rekey.tenant.id,
          user_id: user.id,
          kind: 'adminReset',
          requested_by_user_id: null,
          requested_by_app_id: null,
          correlation_id: 'queue-test',
          idempotency_key: null,
          idempotency_fingerprint: null,
          force_change: 1,
          created_at: at,
        },
        'Never-Run-Pass-91!',
      ),
    );
    clock.advance(30);
    let queue = (await graph('healthOverviews')).value.find((c) => c['id'] === 'workerQueue');
    expect(queue).toMatchObject({ status: 'serviceOperational', figures: { depth: 1, lagSeconds: 30 } });
    clock.advance(60);
    queue = (await graph('healthOverviews')).value.find((c) => c['id'] === 'workerQueue');
    expect(queue).toMatchObject({ status: 'serviceDegradation', figures: { depth: 1, lagSeconds: 90 } });
    await rekey.db.kysely.deleteFrom('password_operation_events').execute();
    await rekey.db.kysely
      .deleteFrom('password_operations')
      .where('correlation_id', '=', 'queue-test')
      .execute();
  });

  it('lets one process evaluate per interval: a second claims nothing until the interval passes', async () => {
    const other = createStatusService({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      logger: createLogger('silent'),
      settings: rekey.config.status,
      listConnectors: async () => [],
    });
    clock.advance(rekey.config.status.evaluateSeconds);
    expect(await rekey.status.evaluateIfDue()).toBeDefined();
    expect(await other.evaluateIfDue()).toBeUndefined();
    expect(await rekey.status.evaluateIfDue()).toBeUndefined();
    clock.advance(rekey.config.status.evaluateSeconds);
    expect(await other.evaluateIfDue()).toBeDefined();
  });

  it('keeps the Graph routes for service-health readers, and answers an unknown incident with 404', async () => {
    const plain = await rekey.createUserWithToken('paula', 'Amber-Quarry-64!');
    expectErrorCode(
      await rekey.app.inject({
        method: 'GET',
        url: '/v1.0/admin/serviceAnnouncement/issues',
        headers: bearer(plain.token),
      }),
      403,
      7700103,
    );
    expectErrorCode(
      await rekey.app.inject({ method: 'GET', url: '/v1.0/admin/serviceAnnouncement/healthOverviews' }),
      401,
      7700101,
    );
    const helpdesk = await rekey.createUserWithToken('hank', 'Amber-Quarry-65!', {
      roles: ['Helpdesk Administrator'],
    });
    const read = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/admin/serviceAnnouncement/issues',
      headers: bearer(helpdesk.token),
    });
    expect(read.statusCode).toBe(200);
    expectErrorCode(
      await rekey.app.inject({
        method: 'GET',
        url: '/v1.0/admin/serviceAnnouncement/issues/RKNONE',
        headers: bearer(admin),
      }),
      404,
      7700008,
    );
  });
  // Last: it moves the clock a month on, past every token's lifetime.
  it('keeps a resolved incident 30 days, then deletes it with its posts', async () => {
    expect(await rekey.status.incidents()).toHaveLength(1);
    clock.advance(29 * 86_400);
    await rekey.status.evaluate();
    expect(await rekey.status.incidents()).toHaveLength(1);
    clock.advance(2 * 86_400);
    await rekey.status.evaluate();
    expect(await rekey.status.incidents()).toEqual([]);
    expect(await rekey.db.kysely.selectFrom('service_incidents').select('id').execute()).toEqual([]);
    expect(await rekey.db.kysely.selectFrom('service_incident_posts').select('id').execute()).toEqual([]);
  });
});
