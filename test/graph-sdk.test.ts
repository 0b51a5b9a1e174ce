import { Client, GraphError, type PageCollection, PageIterator } from '@microsoft/microsoft-graph-client';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPassword, adminUpn, passwordGrant } from './support/rekey-harness.js';
import { startTlsTestRekey, type TlsTestRekey } from './support/tls-rekey.js';

/**
 * Drives Rekey with Microsoft's own Graph SDK, unmodified. The SDK sends tokens only over HTTPS
 * to the hosts named in `customHosts`, so Rekey serves TLS here with a throwaway self-signed
 * certificate that only this test's HTTP agent trusts.
 */
describe('the official Microsoft Graph SDK against Rekey over TLS', () => {
  let baseUrl: string;
  let agent: Agent;
  let tls: TlsTestRekey | undefined;

  beforeAll(async () => {
    tls = await startTlsTestRekey();
    ({ baseUrl, agent } = tls);
  });
  afterAll(async () => {
    await tls?.close();
  });

  async function tokenFor(upn: string, password: string): Promise<string> {
    const response = await fetch(`${baseUrl}/example.com/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        ...passwordGrant(upn, password),
        scope: 'https://graph.microsoft.com/.default',
      }),
      dispatcher: agent,
    });
    const body = (await response.json()) as { access_token?: string; error_codes?: number[] };
    if (!body.access_token) throw new Error(`sign-in failed: ${JSON.stringify(body)}`);
    return body.access_token;
  }

  function clientFor(token: string): Client {
    return Client.init({
      authProvider: (done) => done(null, token),
      baseUrl: `${baseUrl}/`,
      customHosts: new Set(['localhost']),
      fetchOptions: { dispatcher: agent },
    });
  }

  it('creates, filters, selects, pages, reads me, and changes a password', async () => {
    const admin = clientFor(await tokenFor(adminUpn, adminPassword));
    for (let i = 1; i <= 5; i += 1) {
      await admin.api('/users').post({
        accountEnabled: true,
        displayName: `Sdk Person ${i}`,
        mailNickname: `sdk${i}`,
        userPrincipalName: `sdk${i}@example.com`,
        passwordProfile: { password: `Orchid-River-${i}-Tq!`, forceChangePasswordNextSignIn: false },
      });
    }

    const firstPage: PageCollection = await admin
      .api('/users')
      .filter("startswith(displayName,'Sdk Person')")
      .select('id,displayName,accountEnabled')
      .orderby('displayName')
      .top(2)
      .get();
    expect(firstPage.value).toHaveLength(2);
    expect(Object.keys(firstPage.value[0]).sort()).toEqual(['accountEnabled', 'displayName', 'id']);
    expect(firstPage['@odata.nextLink']).toMatch(/^https:\/\/localhost:/);

    const seen: string[] = [];
    const iterator = new PageIterator(admin, firstPage, (user: { displayName: string }) => {
      seen.push(user.displayName);
      return true;
    });
    await iterator.iterate();
    expect(seen).toEqual([1, 2, 3, 4, 5].map((i) => `Sdk Person ${i}`));

    const user = clientFor(await tokenFor('sdk3@example.com', 'Orchid-River-3-Tq!'));
    const me = await user.api('/me').get();
    expect(me.userPrincipalName).toBe('sdk3@example.com');

    await user
      .api('/me/changePassword')
      .post({ currentPassword: 'Orchid-River-3-Tq!', newPassword: 'Maple-Comet-88-Vk!' });
    await expect(tokenFor('sdk3@example.com', 'Orchid-River-3-Tq!')).rejects.toThrow(/50126/);
    const fresh = clientFor(await tokenFor('sdk3@example.com', 'Maple-Comet-88-Vk!'));
    expect(
      (await fresh.api('/me').select('id,lastPasswordChangeDateTime').get()).lastPasswordChangeDateTime,
    ).toBeTypeOf('string');
  });

  it("surfaces Rekey's error for a wrong current password through GraphError", async () => {
    const user = clientFor(await tokenFor('sdk4@example.com', 'Orchid-River-4-Tq!'));
    const failure = await user
      .api('/me/changePassword')
      .post({ currentPassword: 'Not-The-Password-1!', newPassword: 'Maple-Comet-99-Vk!' })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(GraphError);
    const graphError = failure as GraphError;
    expect(graphError.statusCode).toBe(400);
    expect(graphError.code).toBe('Request_BadRequest');
    // The SDK keeps the `error` object of the envelope as the body.
    expect(JSON.parse(String(graphError.body)).innerError.aadstsCode).toBe(120000);
    expect(graphError.requestId).toBeTypeOf('string');
  });
});
