import type { FastifyPluginAsync, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.js';
import { bearer } from '../../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../../audit/audit-store.js';
import { passwordMethodId } from '../../passwords/password-routes.js';
import { listSignInsByCorrelation } from '../../sign-ins/sign-in-store.js';
import type { RekeyApp } from './app.js';

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface GraphError {
  error: {
    code: string;
    message: string;
    innerError: {
      date: string;
      'request-id': string;
      'client-request-id': string;
      aadstsCode: number;
      details?: Record<string, unknown>;
    };
  };
}

/** Asserts Graph's error envelope with exactly the expected keys, and that headers match it. */
function expectGraphError(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: number,
  graphCode: string,
): GraphError {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = JSON.parse(response.body) as GraphError;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error)).toEqual(['code', 'message', 'innerError']);
  expect(body.error.code).toBe(graphCode);
  expect(body.error.message).toBeTypeOf('string');
  expect(body.error.innerError.aadstsCode).toBe(code);
  expect(body.error.innerError.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  expect(body.error.innerError['request-id']).toBe(response.headers['request-id']);
  expect(body.error.innerError['client-request-id']).toBe(response.headers['client-request-id']);
  expect(response.body).not.toMatch(/\bat .+\(.*:\d+:\d+\)|node_modules|\.ts:\d+/);
  return body;
}

/** A route that fails the way a bug or a driver would, to prove nothing of it reaches the client. */
const crashRoute = (): FastifyPluginAsync => async (plugin) => {
  const app = plugin as unknown as RekeyApp;
  app.get('/test/crash', async () => {
    const error = new Error('relation "credentials" violates constraint at /srv/rekey/secret-path.ts:12');
    Object.assign(error, { code: '23505', detail: 'Key (password_hash)=(abc) already exists.' });
    throw error;
  });
};

describe.each(dialects)('HTTP platform on %s', (dialect) => {
  let rekey: TestRekey;
  let token: string;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { plugins: [crashRoute] });
    token = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  const changePassword = (payload: string, headers: Record<string, string> = {}) =>
    rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload,
      headers: { ...bearer(token), 'content-type': 'application/json', ...headers },
    });

  it('answers unknown routes with 404 7700005 in Graph’s envelope', async () => {
    const response = await rekey.app.inject({ method: 'GET', url: '/v1.0/nothing/here?x=1' });
    const body = expectGraphError(response, 404, 7700005, 'Request_ResourceNotFound');
    expect(body.error.innerError.details).toEqual({ method: 'GET', path: '/v1.0/nothing/here' });
    expect(response.headers['request-id']).toMatch(guid);
  });

  it('answers a path that is not valid percent-encoding with 400 7700001, with correlation headers', async () => {
    const response = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/users/%E0%A4%A',
      headers: { 'client-request-id': 'bad-url-1' },
    });
    const body = expectGraphError(response, 400, 7700001, 'Request_BadRequest');
    expect(response.headers['client-request-id']).toBe('bad-url-1');
    expect(body.error.message).toMatch(/percent-encoding/);
    expect(response.body).not.toContain('FST_ERR');
  });

  it('answers malformed JSON with 400 7700002', async () => {
    const response = await changePassword('{"currentPassword": "abc",');
    expectGraphError(response, 400, 7700002, 'Request_BadRequest');
  });

  it('answers an empty JSON body with 400 7700002', async () => {
    const response = await changePassword('');
    const body = expectGraphError(response, 400, 7700002, 'Request_BadRequest');
    expect(body.error.message).toMatch(/empty/);
  });

  it('answers a body over 64 KiB with 413 7700004', async () => {
    const response = await changePassword(JSON.stringify({ currentPassword: 'x'.repeat(70_000) }));
    const body = expectGraphError(response, 413, 7700004, 'Request_BadRequest');
    expect(body.error.innerError.details).toEqual({ limitBytes: 65536 });
  });

  it.each([
    ['text/plain', 'currentPassword=a'],
    ['application/x-www-form-urlencoded', 'currentPassword=a&newPassword=b'],
    ['application/xml', '<changePassword/>'],
  ])('answers %s sent to a JSON endpoint with 415 7700003', async (contentType, payload) => {
    const response = await changePassword(payload, { 'content-type': contentType });
    expectGraphError(response, 415, 7700003, 'Request_BadRequest');
  });

  it('refuses U+0000 anywhere in a request with 400 7700001, as PostgreSQL cannot store it', async () => {
    const get = (url: string) => rekey.app.inject({ method: 'GET', url, headers: bearer(token) });
    const filter = (text: string) => `$filter=${encodeURIComponent(text)}`;
    const tokenWithNul = Buffer.from(
      JSON.stringify({ v: 1, s: 'createdDateTime desc,id desc', k: ['2026-01-01T00:00:00.000Z', 'a\u0000'] }),
    ).toString('base64url');
    const cases: Array<[string, Promise<LightMyRequestResponse>]> = [
      ['query', get(`/v1.0/auditLogs/signIns?${filter("userPrincipalName eq 'a\u0000b'")}`)],
      [
        'query',
        get(`/v1.0/auditLogs/directoryAudits?${filter("targetResources/any(t: t/id eq 'a\u0000')")}`),
      ],
      ['path', get('/v1.0/auditLogs/signIns/%00')],
      ['path', get('/v1.0/users/a%00b')],
      [
        'body',
        rekey.app.inject({
          method: 'POST',
          url: '/v1.0/users',
          headers: bearer(token),
          payload: {
            accountEnabled: true,
            displayName: 'Nul\u0000Name',
            mailNickname: 'nul',
            userPrincipalName: 'nul@example.com',
            passwordProfile: { password: 'Harbor-Quill-73-Np!' },
          },
        }),
      ],
    ];
    for (const [location, pending] of cases) {
      const response = await pending;
      const body = expectGraphError(response, 400, 7700001, 'Request_BadRequest');
      expect(body.error.innerError.details).toEqual({ location });
    }
    // Inside a $skiptoken the character is refused by the token's own check.
    const paged = await get(`/v1.0/auditLogs/signIns?$skiptoken=${tokenWithNul}`);
    expectGraphError(paged, 400, 7700007, 'Request_UnsupportedQuery');
    // The token endpoint answers in the OAuth shape, and no sign-in row is attempted.
    const form = await rekey.app.inject({
      method: 'POST',
      url: '/organizations/oauth2/v2.0/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=password&client_id=2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20&username=a%00b%40example.com&password=x`,
    });
    expect(form.statusCode, form.body).toBe(400);
    expect(form.json()).toMatchObject({ error: 'invalid_request', error_codes: [7700001] });
  });

  it('refuses a lone UTF-16 surrogate in a JSON string with 400 7700001, as the databases store it differently', async () => {
    const createUser = (displayName: string, alias: string) =>
      rekey.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { ...bearer(token), 'content-type': 'application/json' },
        // Written by hand: JSON.stringify would escape nothing here, and the point is the escape.
        payload: `{"accountEnabled":true,"displayName":"${displayName}","mailNickname":"${alias}","userPrincipalName":"${alias}@example.com","passwordProfile":{"password":"Harbor-Quill-73-Np!"}}`,
      });
    for (const [lone, alias] of [
      ['Lone\\ud800Name', 'lone.high'],
      ['Lone\\udc00Name', 'lone.low'],
      ['\\udc00\\ud800', 'lone.reversed'],
    ] as const) {
      const response = await createUser(lone, alias);
      const body = expectGraphError(response, 400, 7700001, 'Request_BadRequest');
      expect(body.error.innerError.details).toEqual({ location: 'body' });
      expect(body.error.message).toMatch(/surrogate/);
    }
    // A surrogate pair (one character outside the Basic Multilingual Plane) is a valid string.
    const paired = await createUser('Paired \\ud83d\\ude00 Name', 'paired.surrogate');
    expect(paired.statusCode, paired.body).toBe(201);
    expect(paired.json()).toMatchObject({ displayName: 'Paired \u{1F600} Name' });
  });

  it('answers a body that fails the schema with 400 7700001 naming the fields, not their values', async () => {
    const response = await changePassword(JSON.stringify({ currentPassword: '', extra: 'Visible-Value-9' }));
    const body = expectGraphError(response, 400, 7700001, 'Request_BadRequest');
    const fields = body.error.innerError.details?.['fields'] as Array<{ field: string; property?: string }>;
    expect(fields.map((f) => f.field)).toEqual(expect.arrayContaining(['body', 'body/currentPassword']));
    expect(fields.some((f) => f.property === 'extra')).toBe(true);
    expect(response.body).not.toContain('Visible-Value-9');
  });

  it('answers a missing bearer token with 401 7700101 and a www-authenticate challenge', async () => {
    const response = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword: 'a', newPassword: 'b' },
    });
    expectGraphError(response, 401, 7700101, 'InvalidAuthenticationToken');
    expect(response.headers['www-authenticate']).toBe(
      'Bearer error="invalid_token", error_description="AADSTS7700101"',
    );
  });

  it.each([
    ['a garbage token', 'Bearer not-a-jwt'],
    ['a token with a forged signature', 'forged'],
    ['a token of another scheme', 'Basic YWRtaW46cGFzcw=='],
  ])('answers %s with 401 and a challenge', async (name, header) => {
    const authorization =
      header === 'forged' ? `Bearer ${token.slice(0, token.lastIndexOf('.'))}.c2lnbmF0dXJl` : header;
    const response = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: { currentPassword: 'a', newPassword: 'b' },
      headers: { authorization },
    });
    const code = name === 'a token of another scheme' ? 7700101 : 7700102;
    expectGraphError(response, 401, code, 'InvalidAuthenticationToken');
    expect(response.headers['www-authenticate']).toBe(
      `Bearer error="invalid_token", error_description="AADSTS${code}"`,
    );
  });

  it('answers an operation id that is not a GUID with 400 7700001', async () => {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/users/${adminUpn}/authentication/operations/not-a-guid`,
      headers: bearer(token),
    });
    const body = expectGraphError(response, 400, 7700001, 'Request_BadRequest');
    expect(JSON.stringify(body.error.innerError.details)).toContain('operationId');
  });

  it('turns an unexpected error into a generic 500 7700201 and logs the cause under the request id', async () => {
    const response = await rekey.app.inject({ method: 'GET', url: '/test/crash' });
    const body = expectGraphError(response, 500, 7700201, 'generalException');
    expect(body.error.message).toBe(
      'An unexpected error occurred. The details are in the server log under this request ID.',
    );
    expect(body.error.innerError.details).toBeUndefined();
    expect(response.body).not.toMatch(/credentials|secret-path|23505|password_hash|constraint/);
    const logged = rekey.logLines.find(
      (line) => line.includes('secret-path') && line.includes(body.error.innerError['request-id']),
    );
    expect(logged).toBeDefined();
  });

  describe('correlation', () => {
    const probe = (headers: Record<string, string>) =>
      rekey.app.inject({ method: 'GET', url: '/healthz', headers });

    it('logs one completion line per request with its request ID and correlation ID', async () => {
      const response = await probe({ 'client-request-id': 'log-line-1' });
      const lines = rekey.logLines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter(
          (line) =>
            line['requestId'] === response.headers['request-id'] && line['msg'] === 'request completed',
        );
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        correlationId: 'log-line-1',
        method: 'GET',
        path: '/healthz',
        status: 200,
      });
    });

    it('takes client-request-id first, then x-ms-correlation-id, then the traceparent trace id', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const all = await probe({
        'client-request-id': 'client-1',
        'x-ms-correlation-id': 'ms-1',
        traceparent,
      });
      expect(all.headers['client-request-id']).toBe('client-1');
      const ms = await probe({ 'x-ms-correlation-id': 'ms-1', traceparent });
      expect(ms.headers['client-request-id']).toBe('ms-1');
      const trace = await probe({ traceparent });
      expect(trace.headers['client-request-id']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    });

    it('generates a GUID when none is given or the given ones are unusable, and a new request-id each time', async () => {
      const none = await probe({});
      expect(none.headers['client-request-id']).toMatch(guid);
      const unusable = await probe({
        'client-request-id': 'has spaces\nand a newline',
        traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      });
      expect(unusable.headers['client-request-id']).toMatch(guid);
      const tooLong = await probe({ 'client-request-id': 'x'.repeat(65) });
      expect(tooLong.headers['client-request-id']).toMatch(guid);
      expect(none.headers['request-id']).toMatch(guid);
      expect(none.headers['request-id']).not.toBe(unusable.headers['request-id']);
      expect(none.headers['request-id']).not.toBe(none.headers['client-request-id']);
    });

    it('stores the correlation ID on sign-in, audit and operation rows', async () => {
      const correlation = `corr-${dialect}-stored`;
      const signIn = await rekey.tokenRequest(passwordGrant(adminUpn, adminPassword), {
        'x-ms-correlation-id': correlation,
      });
      expect(signIn.statusCode).toBe(200);
      expect(signIn.headers['client-request-id']).toBe(correlation);
      const signIns = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
      expect(signIns.map((s) => s.error_code)).toEqual([0]);

      const user = await rekey.createUser(`corr.${dialect}`, 'Maple-Orchard-77!');
      const reset = await rekey.app.inject({
        method: 'POST',
        url: `/v1.0/users/${user.id}/authentication/methods/${passwordMethodId}/resetPassword`,
        payload: { newPassword: 'Granite-Valley-58!' },
        headers: { ...bearer(token), 'x-ms-correlation-id': correlation },
      });
      expect(reset.statusCode).toBe(202);
      const operations = await rekey.db.kysely
        .selectFrom('password_operations')
        .select(['id', 'correlation_id'])
        .where('correlation_id', '=', correlation)
        .execute();
      expect(operations).toHaveLength(1);
      await rekey.operations.runDueOperations();
      const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
      expect(audits.map((a) => [a.activity_display_name, a.result])).toEqual([
        ['Reset password (by admin)', 'success'],
      ]);
    });
  });
});

describe.each(dialects)('HTTP platform with its database gone on %s', (dialect) => {
  let rekey: TestRekey;
  let token: string;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    token = await rekey.adminToken();
    await rekey.db.close();
  });
  afterAll(async () => rekey?.close());

  it('answers API calls with a generic 5xx body, never a driver message or stack trace', async () => {
    const responses = await Promise.all([
      rekey.app.inject({
        method: 'POST',
        url: '/v1.0/me/changePassword',
        payload: { currentPassword: adminPassword, newPassword: 'Granite-Valley-58!' },
        headers: bearer(token),
      }),
      rekey.app.inject({
        method: 'GET',
        url: `/v1.0/users/${adminUpn}/authentication/operations/0b6b0e38-33ab-4a8e-9a52-6c1a9f9f3c11`,
        headers: bearer(token),
      }),
      rekey.app.inject({ method: 'GET', url: '/readyz' }),
    ]);
    for (const response of responses) {
      expect([500, 503]).toContain(response.statusCode);
      const body = JSON.parse(response.body) as GraphError;
      expect([7700201, 7700202]).toContain(body.error.innerError.aadstsCode);
      expect(['generalException', 'serviceNotAvailable']).toContain(body.error.code);
      expect(response.body).not.toMatch(
        /destroyed|pool|sqlite|SQLITE|ECONN|driver|kysely|select|node_modules|\.ts:\d+|\bat /i,
      );
      expect(body.error.innerError.details).toBeUndefined();
    }
    // The cause is in the log, under the request id the client was given.
    for (const response of responses) {
      const requestId = String(response.headers['request-id']);
      const line = rekey.logLines.find((l) => l.includes(requestId) && l.includes('request failed'));
      expect(line, `no log line for ${response.body}`).toBeDefined();
    }
  });

  it('answers the token endpoint in the OAuth shape with a catalog code only', async () => {
    const response = await rekey.tokenRequest(passwordGrant(adminUpn, adminPassword));
    expect([500, 503]).toContain(response.statusCode);
    const body = response.json<{ error: string; error_codes: number[]; error_description: string }>();
    expect([[7700201], [7700202]]).toContainEqual(body.error_codes);
    expect(['server_error', 'temporarily_unavailable']).toContain(body.error);
    expect(body.error_description).toMatch(/^AADSTS77002(01|02): /);
    expect(response.body).not.toMatch(/destroyed|pool|sqlite|ECONN|driver|kysely|node_modules|\.ts:\d+/i);
  });
});
