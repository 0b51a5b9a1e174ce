import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';

/*
 * GET /metrics on a real Rekey: off without REKEY_METRICS_TOKEN, refused without the token, and
 * with it the Prometheus text of what the requests before it really did (sign-ins, a password
 * change run as an operation, a hash of each kind).
 */

const token = 'metrics-token-0123456789abcdef';

/** The value of the sample `name{labels}` in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(dialects)('metrics on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { env: { REKEY_METRICS_TOKEN: token } });
  });
  afterAll(async () => rekey?.close());

  const scrape = () => rekey.app.inject({ method: 'GET', url: '/metrics', headers: bearer(token) });

  it('refuses a scrape without the token (401 7700101) or with another one (401 7700102)', async () => {
    expectErrorCode(await rekey.app.inject({ method: 'GET', url: '/metrics' }), 401, 7700101);
    expectErrorCode(
      await rekey.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: bearer('metrics-token-0123456789abcdeX'),
      }),
      401,
      7700102,
    );
  });

  it('counts requests by route pattern and status, operations by state and code, hashes, and the queue', async () => {
    const user = await rekey.createUserWithToken('mira', 'Tidal-Lantern-37!');
    expect(await rekey.signInCode(user.userPrincipalName, 'wrong-password')).toBe(50126);
    const changed = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      headers: bearer(user.token),
      payload: { currentPassword: 'Tidal-Lantern-37!', newPassword: 'Copper-Orchard-52!' },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    await rekey.app.inject({ method: 'GET', url: `/v1.0/users/${user.id}`, headers: bearer(user.token) });

    const response = await scrape();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    const tokenRoute = 'route="/:tenant/oauth2/v2.0/token"';
    expect(
      sample(text, `rekey_http_requests_total{method="POST",${tokenRoute},status="200"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, `rekey_http_requests_total{method="POST",${tokenRoute},status="400"}`)).toBe(1);
    expect(
      sample(text, 'rekey_http_requests_total{method="POST",route="/v1.0/me/changePassword",status="204"}'),
    ).toBe(1);
    // The pattern, not the id in the path.
    expect(text).toContain('route="/v1.0/users/:id"');
    expect(text).not.toContain(user.id);
    expect(
      sample(text, `rekey_http_request_duration_seconds_count{method="POST",${tokenRoute}}`),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'rekey_password_operations_total{state="succeeded",code="0"}')).toBe(1);
    expect(
      sample(text, 'rekey_password_hash_duration_seconds_count{operation="verify"}'),
    ).toBeGreaterThanOrEqual(3);
    expect(
      sample(text, 'rekey_password_hash_duration_seconds_count{operation="hash"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'rekey_worker_queue_depth')).toBe(0);
    expect(sample(text, 'rekey_worker_queue_lag_seconds')).toBe(0);
    expect(text).toContain('# TYPE rekey_connector_call_duration_seconds histogram');
    expect(text).toContain('rekey_process_cpu_seconds_total');
    expect(text).not.toContain('Tidal-Lantern-37!');
  });
});

describe('status and metrics without REKEY_METRICS_TOKEN', () => {
  it('answers /status with the database interrupted once it is unreachable, without a 500', async () => {
    const rekey = await startTestRekey('sqlite');
    try {
      await rekey.db.close();
      const response = await rekey.app.inject({
        method: 'GET',
        url: '/status',
        headers: { accept: 'application/json' },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({
        status: 'serviceInterruption',
        components: [
          { id: 'api', status: 'serviceOperational' },
          { id: 'database', status: 'serviceInterruption' },
        ],
        incidents: [],
      });
    } finally {
      await rekey.close();
    }
  });

  it('has no /metrics route at all (404 7700005)', async () => {
    const rekey = await startTestRekey('sqlite');
    try {
      const response = await rekey.app.inject({ method: 'GET', url: '/metrics', headers: bearer(token) });
      expectErrorCode(response, 404, 7700005);
    } finally {
      await rekey.close();
    }
  });
});
