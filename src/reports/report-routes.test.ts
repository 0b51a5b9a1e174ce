import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { recordSignIn } from '../sign-ins/sign-in-log-service.js';
import type { OperationOutcomes, SignInActivity } from './report-schemas.js';

/*
 * The portal's chart reports against real SQLite and PostgreSQL: sign-ins written at known times
 * land in the right hour and day buckets by result and code, real password resets are counted by
 * outcome, and bad windows and callers without the role are refused with their codes.
 */

describe.each(dialects)('reports on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  async function report<T>(path: string, token = admin): Promise<T> {
    const response = await rekey.app.inject({ method: 'GET', url: path, headers: bearer(token) });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<T>();
  }

  function signInAt(createdAt: string, errorCode: number) {
    return recordSignIn(rekey.db.kysely, {
      tenant_id: rekey.tenant.id,
      created_at: createdAt,
      user_id: null,
      user_principal_name: 'chart@example.com',
      user_display_name: null,
      app_id: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20',
      app_display_name: 'Rekey CLI',
      client_app_used: 'Mobile Apps and Desktop clients',
      ip_address: '192.0.2.10',
      user_agent: null,
      correlation_id: `chart-${createdAt}-${errorCode}`,
      is_interactive: 0,
      error_code: errorCode,
      failure_reason: errorCode === 0 ? null : 'refused',
      additional_details: null,
    });
  }

  it('counts sign-ins per hour and per day by result and error code, empty buckets included', async () => {
    await signInAt('2026-03-02T10:05:00.000Z', 0);
    await signInAt('2026-03-02T10:59:59.999Z', 50126);
    await signInAt('2026-03-02T10:30:00.000Z', 50126);
    await signInAt('2026-03-02T12:00:00.000Z', 50053);
    await signInAt('2026-03-03T01:00:00.000Z', 0);
    // Outside the window: before since and at until (exclusive).
    await signInAt('2026-03-02T09:59:59.999Z', 50126);
    await signInAt('2026-03-03T10:00:00.000Z', 50126);

    const hourly = await report<SignInActivity>(
      '/rekey/v1/reports/signInActivity?since=2026-03-02T10:20:00Z&until=2026-03-03T10:00:00Z',
    );
    expect(hourly.interval).toBe('hour');
    expect(hourly.sinceDateTime).toBe('2026-03-02T10:00:00.000Z');
    expect(hourly.buckets).toHaveLength(24);
    expect(hourly.buckets[0]).toEqual({
      startDateTime: '2026-03-02T10:00:00.000Z',
      succeeded: 1,
      failed: 2,
      errorCodes: [{ errorCode: 50126, count: 2 }],
    });
    expect(hourly.buckets[1]).toMatchObject({ succeeded: 0, failed: 0, errorCodes: [] });
    expect(hourly.buckets[2]).toMatchObject({ failed: 1, errorCodes: [{ errorCode: 50053, count: 1 }] });
    expect(hourly.buckets[15]).toMatchObject({ startDateTime: '2026-03-03T01:00:00.000Z', succeeded: 1 });
    expect(hourly.errorCodes).toEqual([
      { errorCode: 50126, name: 'InvalidUserNameOrPassword', count: 2 },
      { errorCode: 50053, name: expect.any(String), count: 1 },
    ]);

    const daily = await report<SignInActivity>(
      '/rekey/v1/reports/signInActivity?since=2026-03-02T00:00:00Z&until=2026-03-04T00:00:00Z&interval=day',
    );
    expect(daily.buckets.map((b) => [b.startDateTime, b.succeeded, b.failed])).toEqual([
      ['2026-03-02T00:00:00.000Z', 1, 4],
      ['2026-03-03T00:00:00.000Z', 1, 1],
    ]);
  });

  it('counts password operations by outcome: a reset that ran succeeded, one not yet run is in progress', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const reset = async (alias: string) => {
      const user = await rekey.createUser(alias, 'Granite-Before-Pass-1!');
      const response = await rekey.app.inject({
        method: 'POST',
        url: `/v1.0/users/${user.id}/authentication/methods/${passwordMethodId}/resetPassword`,
        headers: bearer(admin),
        payload: { newPassword: 'Quartz-After-Ribbon-22!' },
      });
      expect(response.statusCode, response.body).toBe(202);
      return String(response.headers['location']).split('/').pop() ?? '';
    };
    await rekey.operations.runOperation(await reset('chart-done'));
    await reset('chart-waiting');
    const outcomes = await report<OperationOutcomes>(
      `/rekey/v1/reports/operationOutcomes?since=${encodeURIComponent(since)}`,
    );
    const totals = outcomes.buckets.reduce(
      (sum, b) => ({
        succeeded: sum.succeeded + b.succeeded,
        terminated: sum.terminated + b.terminated,
        inProgress: sum.inProgress + b.inProgress,
      }),
      { succeeded: 0, terminated: 0, inProgress: 0 },
    );
    expect(totals).toEqual({ succeeded: 1, terminated: 0, inProgress: 1 });
    expect(outcomes.terminatedCodes).toEqual([]);
  });

  it('refuses bad windows with 7700601, unknown options with 7700001, and callers without the role with 7700103', async () => {
    const ask = (path: string, token = admin) =>
      rekey.app.inject({ method: 'GET', url: path, headers: bearer(token) });
    expectErrorCode(await ask('/rekey/v1/reports/signInActivity?since=yesterday'), 400, 7700601);
    expectErrorCode(await ask('/rekey/v1/reports/signInActivity?since=40d'), 400, 7700601);
    expectErrorCode(
      await ask('/rekey/v1/reports/signInActivity?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z'),
      400,
      7700601,
    );
    expectErrorCode(await ask('/rekey/v1/reports/signInActivity?interval=week'), 400, 7700001);
    expectErrorCode(await ask('/rekey/v1/reports/operationOutcomes?top=5'), 400, 7700001);
    const plain = await rekey.createUserWithToken('chart-plain', 'Granite-Ribbon-Pass-3!');
    const refused: Json = expectErrorCode(
      await ask('/rekey/v1/reports/signInActivity', plain.token),
      403,
      7700103,
    );
    expect(JSON.stringify(refused)).toContain('Reports Reader');
    expectErrorCode(await ask('/rekey/v1/reports/operationOutcomes', plain.token), 403, 7700103);
    // 366 days is the most a daily report covers.
    expect(
      (await report<SignInActivity>('/rekey/v1/reports/signInActivity?since=300d&interval=day')).buckets,
    ).toHaveLength(301);
  });
});
