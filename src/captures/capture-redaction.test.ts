import { describe, expect, it } from 'vitest';
import { toHarEntry } from './capture-har.js';
import {
  captureRequestBody,
  captureResponseBody,
  isSecretName,
  redactHeaders,
  redactJson,
  redactUrl,
  truncateText,
} from './capture-redaction.js';

/*
 * What a capture keeps of an exchange: every secret a Rekey request or answer can carry is gone
 * before anything is stored, whatever the case of its name or where it sits, and a cut body is
 * marked. (The real exchanges are in capture-routes.test.ts; these are the shapes no route of
 * today sends, so that the next one is covered too.)
 */

const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlLWJ5dGVz';

describe('capture redaction', () => {
  it('knows the secret names in any case, and the look-alikes that are not secrets', () => {
    for (const name of [
      'password',
      'Password',
      'currentPassword',
      'NEWPASSWORD',
      'bindPassword',
      'client_secret',
      'Client_Secret',
      'refresh_token',
      'access_token',
      'id_token',
      'code',
      'CODE',
      'code_verifier',
      'assertion',
      'client_assertion',
      'authorization',
      'Cookie',
      'set-cookie',
      'x-api-key',
      'secretKey',
    ])
      expect(isSecretName(name), name).toBe(true);
    for (const name of [
      'userPrincipalName',
      'username',
      'errorCode',
      'error_codes',
      'grant_type',
      'token_type',
      'passwordPolicies',
      'lastPasswordChangeDateTime',
      'bindPasswordSet',
      'client-request-id',
    ])
      expect(isSecretName(name), name).toBe(false);
  });

  it('redacts secret fields at any depth and JWT-looking strings anywhere, keeping the rest', () => {
    expect(
      redactJson({
        userPrincipalName: 'ada@example.com',
        passwordProfile: { password: 'Hunter-2-Canary!', forceChangePasswordNextSignIn: true },
        nested: [{ Refresh_Token: 'r-123', note: `Bearer ${jwt}` }],
        errorCode: 50126,
        PIN: 1234,
        bindPassword: null,
      }),
    ).toEqual({
      userPrincipalName: 'ada@example.com',
      passwordProfile: { password: '[redacted]', forceChangePasswordNextSignIn: true },
      nested: [{ Refresh_Token: '[redacted]', note: 'Bearer [redacted]' }],
      errorCode: 50126,
      PIN: 1234,
      bindPassword: null,
    });
    expect(redactJson({ newPassword: 123456 })).toEqual({ newPassword: '[redacted]' });
    // An error's code names the error; an authorization code anywhere else is a secret.
    expect(redactJson({ error: { code: 'Request_BadRequest', innerError: { code: 'x' } } })).toEqual({
      error: { code: 'Request_BadRequest', innerError: { code: 'x' } },
    });
    expect(redactJson({ code: 'auth-code-1', calls: [{ code: 120013 }] })).toEqual({
      code: '[redacted]',
      calls: [{ code: 120013 }],
    });
    expect(redactJson({ access_token: ['a', 'b'] })).toEqual({ access_token: '[redacted]' });
  });

  it('keeps only the names of credential headers', () => {
    expect(
      redactHeaders({
        Authorization: `Bearer ${jwt}`,
        cookie: 'session=abc',
        'set-cookie': ['a=1', 'b=2'],
        'x-api-key': 'k',
        'content-type': 'application/json',
        'x-forwarded-for': undefined,
      }),
    ).toEqual([
      { name: 'Authorization', value: '[redacted]' },
      { name: 'cookie', value: '[redacted]' },
      { name: 'set-cookie', value: '[redacted]' },
      { name: 'set-cookie', value: '[redacted]' },
      { name: 'x-api-key', value: '[redacted]' },
      { name: 'content-type', value: 'application/json' },
    ]);
  });

  it('redacts tokens in query strings, by name and by shape', () => {
    const { url, queryString } = redactUrl(
      'http://rekey.test',
      `/callback?code=abc&state=xyz&ACCESS_TOKEN=t&hint=${jwt}&$top=5`,
    );
    expect(queryString).toEqual([
      { name: 'code', value: '[redacted]' },
      { name: 'state', value: 'xyz' },
      { name: 'ACCESS_TOKEN', value: '[redacted]' },
      { name: 'hint', value: '[redacted]' },
      { name: '$top', value: '5' },
    ]);
    expect(url).toBe(
      'http://rekey.test/callback?code=%5Bredacted%5D&state=xyz&ACCESS_TOKEN=%5Bredacted%5D&hint=%5Bredacted%5D&%24top=5',
    );
  });

  it('redacts form bodies and free text, and keeps no body it cannot read', () => {
    const form = captureRequestBody(
      { grant_type: 'password', username: 'ada@example.com', password: 'Canary-1!', client_secret: 's' },
      'application/x-www-form-urlencoded',
      1000,
    );
    expect(form?.params).toEqual([
      { name: 'grant_type', value: 'password' },
      { name: 'username', value: 'ada@example.com' },
      { name: 'password', value: '[redacted]' },
      { name: 'client_secret', value: '[redacted]' },
    ]);
    expect(form?.text).toBe(
      'grant_type=password&username=ada%40example.com&password=%5Bredacted%5D&client_secret=%5Bredacted%5D',
    );
    const html = captureResponseBody(
      '<a href="/cb?code=abc&amp;x=1">next</a> {"refresh_token": "r-1"}',
      'text/html; charset=utf-8',
      1000,
    );
    expect(html.text).toBe('<a href="/cb?code=[redacted]&amp;x=1">next</a> {"refresh_token": "[redacted]"}');
    expect(captureResponseBody('{"password": "Canary-1!"', 'application/json', 1000)).toMatchObject({
      text: undefined,
      comment: 'JSON that does not parse; not kept',
    });
    expect(captureResponseBody(Buffer.from('PK\u0003\u0004'), 'application/zip', 1000)).toMatchObject({
      text: undefined,
      size: 4,
    });
  });

  it('cuts bodies after redaction, with a marker saying how much there was', () => {
    expect(truncateText('abcdef', 6)).toEqual({ text: 'abcdef', truncated: false });
    expect(truncateText('abcdefgh', 3)).toEqual({
      text: 'abc\n[truncated by Rekey: 5 more characters of 8]',
      truncated: true,
    });
    // A secret at the cut is redacted first, so no part of it is kept.
    const body = captureRequestBody(
      { note: 'x'.repeat(20), password: 'Canary-Secret-Long-Value' },
      'application/json',
      50,
    );
    expect(body?.truncated).toBe(true);
    expect(body?.text).not.toContain('Canary');
    expect(body?.text?.startsWith('{"note":"xxxxxxxxxxxxxxxxxxxx","password":')).toBe(true);
  });

  it('builds a HAR 1.2 entry of an exchange', () => {
    const entry = toHarEntry('http://rekey.test', {
      startedAt: new Date('2026-12-07T10:00:00.000Z'),
      elapsedMs: 12.3456,
      method: 'POST',
      url: '/v1.0/me/changePassword?x=1',
      httpVersion: '1.1',
      requestHeaders: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
      requestBody: { currentPassword: 'a', newPassword: 'b' },
      status: 400,
      responseHeaders: { 'content-type': 'application/json; charset=utf-8', 'client-request-id': 'c-1' },
      responsePayload: '{"error":{"code":"x"}}',
      correlationId: 'c-1',
      requestId: 'r-1',
      clientAddress: '127.0.0.1',
    });
    expect(entry).toMatchObject({
      startedDateTime: '2026-12-07T10:00:00.000Z',
      time: 12.346,
      request: {
        method: 'POST',
        url: 'http://rekey.test/v1.0/me/changePassword?x=1',
        httpVersion: 'HTTP/1.1',
        queryString: [{ name: 'x', value: '1' }],
        postData: {
          mimeType: 'application/json',
          text: '{"currentPassword":"[redacted]","newPassword":"[redacted]"}',
        },
        headersSize: -1,
      },
      response: { status: 400, statusText: 'Bad Request', content: { text: '{"error":{"code":"x"}}' } },
      timings: { send: 0, wait: 12.346, receive: 0 },
      _correlationId: 'c-1',
      _truncated: false,
    });
    expect(JSON.stringify(entry)).not.toContain(jwt);
  });
});
