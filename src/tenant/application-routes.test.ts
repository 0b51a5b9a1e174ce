import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeUrl, pkcePair, redirectParams, TestBrowser } from '../../test/support/browser-sign-in.js';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode } from '../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  cliClientId,
  portalClientId,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';

describe.each(dialects)('/v1.0/applications and their redirect URIs on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  function patch(id: string, body: unknown, token = admin, correlationId = 'app-patch') {
    return rekey.app.inject({
      method: 'PATCH',
      url: `/v1.0/applications/${id}`,
      headers: { ...bearer(token), 'content-type': 'application/json', 'client-request-id': correlationId },
      payload: JSON.stringify(body),
    });
  }

  async function get(id: string) {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/applications/${id}`,
      headers: bearer(admin),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ spa: { redirectUris: string[] }; publicClient: { redirectUris: string[] } }>();
  }

  it('lists the built-in applications with their built-in redirect URIs', async () => {
    const response = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/applications',
      headers: bearer(admin),
    });
    expect(response.statusCode).toBe(200);
    const value = response.json<{ value: Array<Record<string, unknown>> }>().value;
    expect(value.map((app) => app['appId']).sort()).toEqual([cliClientId, portalClientId].sort());
    expect(value.find((app) => app['appId'] === portalClientId)).toMatchObject({
      displayName: 'Rekey portal',
      spa: { redirectUris: ['/portal/callback', '/myaccount/callback'] },
      web: { redirectUris: [] },
    });
    expect((await get(cliClientId)).publicClient.redirectUris).toEqual(['http://localhost']);
  });

  it('adds and removes redirect URIs, audited, and the authorize endpoint follows', async () => {
    const uri = 'https://app.example.com/callback';
    const { challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    const before = await browser.get(authorizeUrl(challenge, { redirect_uri: uri }));
    expect(before.statusCode).toBe(400);
    expect(before.body).toContain('AADSTS50011');

    const added = await patch(
      portalClientId,
      { spa: { redirectUris: ['/portal/callback', uri] } },
      admin,
      `app-add-${dialect}`,
    );
    expect(added.statusCode, added.body).toBe(204);
    // The built-in ones stay, whether the list names them or not.
    expect((await get(portalClientId)).spa.redirectUris).toEqual([
      '/portal/callback',
      '/myaccount/callback',
      uri,
    ]);
    const audits = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/auditLogs/directoryAudits?$filter=correlationId eq '${`app-add-${dialect}`}'`,
      headers: bearer(admin),
    });
    const rows = audits.json<{
      value: Array<{
        activityDisplayName: string;
        category: string;
        targetResources: Array<{
          id: string;
          modifiedProperties: Array<{ displayName: string; newValue: string }>;
        }>;
      }>;
    }>().value;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      activityDisplayName: 'Update application',
      category: 'ApplicationManagement',
    });
    expect(rows[0]?.targetResources[0]?.id).toBe(portalClientId);
    expect(rows[0]?.targetResources[0]?.modifiedProperties[0]).toMatchObject({
      displayName: 'spa.redirectUris',
    });

    const page = await browser.get(authorizeUrl(challenge, { redirect_uri: uri }));
    expect(page.statusCode).toBe(200);
    const answer = await browser.submit(page, { username: adminUpn, password: adminPassword });
    expect(redirectParams(answer, uri).get('code')).toBeTruthy();

    expect((await patch(portalClientId, { spa: { redirectUris: [] } })).statusCode).toBe(204);
    expect((await get(portalClientId)).spa.redirectUris).toEqual(['/portal/callback', '/myaccount/callback']);
    const after = await browser.get(authorizeUrl(challenge, { redirect_uri: uri, prompt: 'login' }));
    expect(after.statusCode).toBe(400);
  });

  it.each([
    ['http on another host', { web: { redirectUris: ['http://app.example.com/cb'] } }],
    ['a fragment', { spa: { redirectUris: ['https://app.example.com/cb#x'] } }],
    ['a path outside spa', { web: { redirectUris: ['/portal/other'] } }],
    ['a relative URI', { spa: { redirectUris: ['callback'] } }],
    ['another scheme', { publicClient: { redirectUris: ['javascript:alert(1)'] } }],
  ])('refuses %s with 7701507 and stores nothing', async (_name, body) => {
    const refused = await patch(cliClientId, body);
    expectErrorCode(refused, 400, 7701507);
    expect((await get(cliClientId)).publicClient.redirectUris).toEqual(['http://localhost']);
  });

  it('lets only a Global Administrator change them, and answers 404 for an unknown application', async () => {
    const user = await rekey.createUserWithToken(`app.reader.${dialect}`, 'Pebble-Frost-27-Lk!');
    expectErrorCode(await patch(portalClientId, { spa: { redirectUris: [] } }, user.token), 403, 7700103);
    const unknown = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/applications/00000000-0000-0000-0000-000000000009',
      headers: bearer(admin),
    });
    expect(unknown.statusCode).toBe(404);
  });
});
