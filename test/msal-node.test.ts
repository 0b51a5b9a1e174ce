import {
  type AccountInfo,
  CryptoProvider,
  type INetworkModule,
  InteractionRequiredAuthError,
  type NetworkRequestOptions,
  type NetworkResponse,
  ProtocolMode,
  PublicClientApplication,
  ServerError,
} from '@azure/msal-node';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listSignInsByCorrelation } from '../src/sign-ins/sign-in-store.js';
import { adminPassword, adminUpn, cliClientId, type TestRekey } from './support/rekey-harness.js';
import { startTlsTestRekey, type TlsTestRekey } from './support/tls-rekey.js';

const graphDefault = 'https://graph.microsoft.com/.default';

/**
 * Drives Rekey with Microsoft's own MSAL Node, unmodified, through its username/password flow
 * over TLS. Only the network client is MSAL's documented `system.networkClient` hook, so that the
 * throwaway self-signed certificate is trusted by this test alone.
 */
describe('MSAL Node against Rekey over TLS', () => {
  let rekey: TestRekey;
  let baseUrl: string;
  let host: string;
  let agent: Agent;
  let tls: TlsTestRekey | undefined;
  let networkClient: INetworkModule;

  beforeAll(async () => {
    tls = await startTlsTestRekey();
    ({ rekey, baseUrl, host, agent } = tls);
    const send = async <T>(
      url: string,
      method: 'GET' | 'POST',
      options: NetworkRequestOptions | undefined,
    ): Promise<NetworkResponse<T>> => {
      const response = await fetch(url, {
        method,
        headers: options?.headers ?? {},
        ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
        dispatcher: agent,
      });
      return {
        headers: Object.fromEntries(response.headers.entries()),
        body: (await response.json()) as T,
        status: response.status,
      };
    };
    networkClient = {
      sendGetRequestAsync: (url, options) => send(url, 'GET', options),
      sendPostRequestAsync: (url, options) => send(url, 'POST', options),
    };
  });
  afterAll(async () => {
    await tls?.close();
  });

  /**
   * The configuration the README gave before Rekey had an authorization endpoint, still working:
   * OIDC protocol mode, the authority by tenant id, and Rekey's discovery document passed in as
   * `authorityMetadata`.
   */
  async function documentedClient(): Promise<PublicClientApplication> {
    const authority = `${baseUrl}/${rekey.tenant.id}`;
    const discovery = await networkClient.sendGetRequestAsync<object>(
      `${authority}/v2.0/.well-known/openid-configuration`,
    );
    expect(discovery.status).toBe(200);
    return new PublicClientApplication({
      auth: {
        clientId: cliClientId,
        authority,
        knownAuthorities: [host],
        authorityMetadata: JSON.stringify(discovery.body),
      },
      system: { networkClient, protocolMode: ProtocolMode.OIDC },
    });
  }

  async function signInRows(correlationId: string) {
    return (await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlationId)).map(
      (row) => row.error_code,
    );
  }

  it('signs in with the password, logs MSAL’s correlation ID, and serves a silent call from its cache', async () => {
    const msal = await documentedClient();
    const correlationId = 'msal-sign-in-1';
    const result = await msal.acquireTokenByUsernamePassword({
      scopes: [graphDefault],
      username: adminUpn,
      password: adminPassword,
      correlationId,
    });
    expect(result?.accessToken).toBeTypeOf('string');
    expect(await signInRows(correlationId)).toEqual([0]);
    // client_info: MSAL's account id is uid.utid, as with Entra, not its fallback to `sub`.
    const account = result?.account as AccountInfo;
    expect(account.homeAccountId).toBe(`${account.localAccountId}.${rekey.tenant.id}`);
    expect(account.tenantId).toBe(rekey.tenant.id);
    expect(account.username).toBe(adminUpn);

    const rowsBefore = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const silent = await msal.acquireTokenSilent({ account, scopes: [graphDefault] });
    expect(silent.fromCache).toBe(true);
    expect(silent.accessToken).toBe(result?.accessToken);
    const rowsAfter = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(rowsAfter.n)).toBe(Number(rowsBefore.n));
  });

  it('surfaces a wrong password as 50126 with the correlation ID Rekey logged', async () => {
    const msal = await documentedClient();
    const correlationId = 'msal-wrong-password-1';
    const failure = await msal
      .acquireTokenByUsernamePassword({
        scopes: [graphDefault],
        username: adminUpn,
        password: 'Not-The-Password-9!',
        correlationId,
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(ServerError);
    const serverError = failure as ServerError;
    expect(serverError.errorCode).toBe('invalid_grant');
    expect(String(serverError.errorNo)).toBe('50126');
    expect(serverError.correlationId).toBe(correlationId);
    expect(await signInRows(correlationId)).toEqual([50126]);
  });

  it('refreshes an expired access token with the refresh token in a silent call', async () => {
    const msal = await documentedClient();
    const password = 'Lantern-Birch-58-Qs!';
    const user = await rekey.createUser('msal.expiry', password);
    const result = await msal.acquireTokenByUsernamePassword({
      scopes: [graphDefault],
      username: user.userPrincipalName,
      password,
    });
    const account = result?.account as AccountInfo;
    const me = async (token: string | undefined) =>
      (
        await rekey.app.inject({
          method: 'GET',
          url: '/v1.0/me',
          headers: { authorization: `Bearer ${token}` },
        })
      ).statusCode;
    // Two hours on (access tokens live one), for MSAL and Rekey alike: both read the clock of this process.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 3_600_000 });
    try {
      expect(await me(result?.accessToken)).toBe(401);
      const silent = await msal.acquireTokenSilent({ account, scopes: [graphDefault] });
      expect(silent.fromCache).toBe(false);
      expect(silent.accessToken).not.toBe(result?.accessToken);
      expect(silent.account?.homeAccountId).toBe(account.homeAccountId);
      expect(await me(silent.accessToken)).toBe(200);
      // The refreshed token is cached in turn: the next silent call spends nothing.
      const again = await msal.acquireTokenSilent({ account, scopes: [graphDefault] });
      expect(again.fromCache).toBe(true);
      expect(again.accessToken).toBe(silent.accessToken);
    } finally {
      vi.useRealTimers();
    }
  });

  it('raises InteractionRequiredAuthError for a refresh after the password changed', async () => {
    const msal = await documentedClient();
    const upn = 'msal.changed@example.com';
    const password = 'Harbor-Quill-73-Np!';
    await rekey.createUser('msal.changed', password);
    const result = await msal.acquireTokenByUsernamePassword({
      scopes: [graphDefault],
      username: upn,
      password,
    });
    const changed = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      headers: { authorization: `Bearer ${result?.accessToken}` },
      payload: { currentPassword: password, newPassword: 'Velvet-Orbit-73-Kp!' },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    const failure = await msal
      .acquireTokenSilent({
        account: result?.account as AccountInfo,
        scopes: [graphDefault],
        forceRefresh: true,
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    // suberror bad_token is what makes MSAL say "sign the user in again" rather than a plain ServerError.
    expect(failure).toBeInstanceOf(InteractionRequiredAuthError);
    expect(failure).toMatchObject({ errorCode: 'invalid_grant', subError: 'bad_token' });
    expect(String((failure as InteractionRequiredAuthError).errorNo)).toBe('50173');
  });

  /** A GET or form POST over the TLS socket, as a browser sends it: cookies given, redirects not followed. */
  async function browserRequest(url: string, cookies: Map<string, string>, form?: Record<string, string>) {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        ...(cookies.size > 0
          ? { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
          : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      dispatcher: agent,
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
    return {
      status: response.status,
      location: response.headers.get('location'),
      body: await response.text(),
      setCookies,
    };
  }

  it('signs in through the browser in MSAL’s default configuration: getAuthCodeUrl, the page, acquireTokenByCode', async () => {
    // MSAL's defaults: AAD protocol mode, discovery fetched from the authority (it needs
    // authorization_endpoint), PKCE generated by MSAL; only the network client trusts the test CA.
    const msal = new PublicClientApplication({
      auth: { clientId: cliClientId, authority: `${baseUrl}/${rekey.tenant.id}`, knownAuthorities: [host] },
      system: { networkClient },
    });
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    // A loopback redirect URI on any port, as a CLI listening for the answer uses (RFC 8252).
    const redirectUri = 'http://localhost:53123/';
    const scopes = [graphDefault];
    const url = await msal.getAuthCodeUrl({
      scopes,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: 'msal-state-1',
      loginHint: adminUpn,
    });
    expect(url.startsWith(`${baseUrl}/${rekey.tenant.id}/oauth2/v2.0/authorize?`)).toBe(true);

    const cookies = new Map<string, string>();
    const page = await browserRequest(url, cookies);
    expect(page.status, page.body).toBe(200);
    expect(page.body).toContain(`value="${adminUpn}"`);
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page.body)?.[1] ?? '';
    const answer = await browserRequest(`${baseUrl}/${rekey.tenant.id}/oauth2/v2.0/authorize`, cookies, {
      transaction: field('transaction'),
      csrf_token: field('csrf_token'),
      username: adminUpn,
      password: adminPassword,
    });
    expect(answer.status, answer.body).toBe(303);
    // Over TLS the SSO cookie is Secure, HttpOnly and SameSite=Lax.
    const sso = answer.setCookies.find((line) => line.startsWith('rekey_sso='));
    expect(sso).toMatch(/; HttpOnly/);
    expect(sso).toMatch(/; SameSite=Lax/);
    expect(sso).toMatch(/; Secure/);
    const location = new URL(String(answer.location));
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('msal-state-1');

    const result = await msal.acquireTokenByCode({
      code: location.searchParams.get('code') ?? '',
      codeVerifier: verifier,
      redirectUri,
      scopes,
    });
    expect(result.accessToken).toBeTypeOf('string');
    expect(result.idToken).toBeTypeOf('string');
    expect(result.account?.username).toBe(adminUpn);
    expect(result.account?.homeAccountId).toBe(`${result.account?.localAccountId}.${rekey.tenant.id}`);
    // The refresh token MSAL cached from the code works in a silent call.
    const silent = await msal.acquireTokenSilent({
      account: result.account as AccountInfo,
      scopes,
      forceRefresh: true,
    });
    expect(silent.accessToken).not.toBe(result.accessToken);
  });

  it('refuses a wrong code_verifier in acquireTokenByCode with 501481', async () => {
    const msal = new PublicClientApplication({
      auth: { clientId: cliClientId, authority: `${baseUrl}/${rekey.tenant.id}`, knownAuthorities: [host] },
      system: { networkClient },
    });
    const crypto = new CryptoProvider();
    const { challenge } = await crypto.generatePkceCodes();
    const other = await crypto.generatePkceCodes();
    const redirectUri = 'http://localhost:53124/';
    const url = await msal.getAuthCodeUrl({
      scopes: [graphDefault],
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
    });
    const cookies = new Map<string, string>();
    const page = await browserRequest(url, cookies);
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page.body)?.[1] ?? '';
    const answer = await browserRequest(`${baseUrl}/${rekey.tenant.id}/oauth2/v2.0/authorize`, cookies, {
      transaction: field('transaction'),
      csrf_token: field('csrf_token'),
      username: adminUpn,
      password: adminPassword,
    });
    const code = new URL(String(answer.location)).searchParams.get('code') ?? '';
    const failure = await msal
      .acquireTokenByCode({ code, codeVerifier: other.verifier, redirectUri, scopes: [graphDefault] })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(ServerError);
    expect(String((failure as ServerError).errorNo)).toBe('501481');
  });
});
