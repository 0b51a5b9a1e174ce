import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPassword, adminUpn, cliClientId, type TestRekey } from './support/rekey-harness.js';
import { startTlsTestRekey, type TlsTestRekey } from './support/tls-rekey.js';

const graphScopes = 'https://graph.microsoft.com/.default openid offline_access';

/**
 * Drives Rekey with openid-client 6, unmodified, over TLS, configured as the README says:
 * discovery from the tenant-id issuer URL (as with Entra), a public client, the password grant
 * through genericGrantRequest and the refresh grant. Only the fetch is the library's documented
 * `customFetch` hook, so that the throwaway certificate is trusted by this test alone.
 */
describe('openid-client against Rekey over TLS', () => {
  let rekey: TestRekey;
  let baseUrl: string;
  let tls: TlsTestRekey | undefined;
  let trustingFetch: client.CustomFetch;

  beforeAll(async () => {
    tls = await startTlsTestRekey();
    ({ rekey, baseUrl } = tls);
    const agent = tls.agent;
    trustingFetch = (url, options) =>
      fetch(url, { ...options, dispatcher: agent } as RequestInit) as ReturnType<client.CustomFetch>;
  });
  afterAll(async () => {
    await tls?.close();
  });

  /** The README's configuration: discovery from `https://host/{tenant id}/v2.0`, no client secret. */
  async function documentedConfiguration(): Promise<client.Configuration> {
    const config = await client.discovery(
      new URL(`${baseUrl}/${rekey.tenant.id}/v2.0`),
      cliClientId,
      undefined,
      client.None(),
      { [client.customFetch]: trustingFetch },
    );
    config[client.customFetch] = trustingFetch;
    return config;
  }

  it('discovers Rekey from the tenant-id issuer URL, as with Entra', async () => {
    const config = await documentedConfiguration();
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(`${baseUrl}/${rekey.tenant.id}/v2.0`);
    expect(metadata.token_endpoint).toMatch(/\/oauth2\/v2\.0\/token$/);
    expect(metadata.jwks_uri).toBeTypeOf('string');
  });

  it('refuses discovery from a domain, whose document names the tenant id as issuer', async () => {
    await expect(
      client.discovery(new URL(`${baseUrl}/example.com/v2.0`), cliClientId, undefined, client.None(), {
        [client.customFetch]: trustingFetch,
      }),
    ).rejects.toThrow();
  });

  it('signs in with the password grant, gets a checked ID token, and refreshes', async () => {
    const config = await documentedConfiguration();
    const tokens = await client.genericGrantRequest(config, 'password', {
      username: adminUpn,
      password: adminPassword,
      scope: graphScopes,
    });
    expect(tokens.access_token).toBeTypeOf('string');
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expiresIn()).toBeGreaterThan(0);
    // openid-client has checked the ID token's issuer, audience and times against the discovery document.
    const claims = tokens.claims();
    expect(claims?.iss).toBe(`${baseUrl}/${rekey.tenant.id}/v2.0`);
    expect(claims?.aud).toBe(cliClientId);
    const refreshToken = tokens.refresh_token;
    expect(refreshToken).toBeTypeOf('string');

    const refreshed = await client.refreshTokenGrant(config, refreshToken as string);
    expect(refreshed.access_token).toBeTypeOf('string');
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(refreshToken);
    const me = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/me',
      headers: { authorization: `Bearer ${refreshed.access_token}` },
    });
    expect(me.statusCode, me.body).toBe(200);
  });

  it('surfaces a wrong password as the invalid_grant error with AADSTS50126', async () => {
    const config = await documentedConfiguration();
    const failure = await client
      .genericGrantRequest(config, 'password', {
        username: adminUpn,
        password: 'Not-The-Password-9!',
        scope: graphScopes,
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(client.ResponseBodyError);
    const body = failure as client.ResponseBodyError;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toContain('AADSTS50126');
    expect(body.cause['error_codes']).toEqual([50126]);
  });
});
