import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  formField,
  pkcePair,
  portalCallback,
  redirectParams,
  TestBrowser,
} from '../../test/support/browser-sign-in.js';
import { dialects } from '../../test/support/databases.js';
import { bearer } from '../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  portalClientId,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';

describe.each(dialects)('browser sign-in (authorization code with PKCE) on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  /** Exchanges a code at the token endpoint as the portal does. */
  function redeem(code: string, verifier: string, extra: Record<string, string> = {}) {
    return rekey.tokenRequest({
      grant_type: 'authorization_code',
      client_id: portalClientId,
      code,
      redirect_uri: portalCallback,
      code_verifier: verifier,
      ...extra,
    });
  }

  /** Signs `upn` in through the page; returns the browser and the code's redirect. */
  async function signInThroughPage(upn: string, password: string, challenge: string) {
    const browser = new TestBrowser(rekey.app);
    const page = await browser.get(authorizeUrl(challenge));
    expect(page.statusCode, page.body).toBe(200);
    const answer = await browser.submit(page, { username: upn, password });
    return { browser, answer };
  }

  it('signs in at the page, redirects with code and state, and the code buys tokens with the verifier', async () => {
    const { verifier, challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    const page = await browser.get(authorizeUrl(challenge));
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(formField(page.body, 'csrf_token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(page.body).toContain('Rekey portal');

    const answer = await browser.submit(page, { username: adminUpn, password: adminPassword });
    const params = redirectParams(answer);
    expect(answer.statusCode).toBe(303);
    expect(params.get('state')).toBe('state-123');
    const code = params.get('code');
    expect(code).toBeTruthy();

    const tokens = await redeem(code ?? '', verifier);
    expect(tokens.statusCode, tokens.body).toBe(200);
    const body = tokens.json<{ access_token: string; id_token: string; refresh_token: string }>();
    const idToken = decodeJwt(body.id_token);
    expect(idToken['nonce']).toBe('nonce-456');
    expect(idToken['aud']).toBe(portalClientId);
    expect(body.refresh_token).toBeTypeOf('string');
    // The access token works against the API.
    const me = await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(body.access_token) });
    expect(me.statusCode).toBe(200);
  });

  it('answers a second authorize from the SSO session without the page, and prompt=none too', async () => {
    const first = pkcePair();
    const { browser, answer } = await signInThroughPage(adminUpn, adminPassword, first.challenge);
    redirectParams(answer);
    const { challenge } = pkcePair();
    const again = await browser.get(authorizeUrl(challenge, { state: 'reload' }));
    expect(again.statusCode).toBe(302);
    expect(redirectParams(again).get('state')).toBe('reload');
    const silent = await browser.get(authorizeUrl(challenge, { prompt: 'none' }));
    expect(redirectParams(silent).get('code')).toBeTruthy();
    // prompt=login shows the page even with a session.
    const login = await browser.get(authorizeUrl(challenge, { prompt: 'login' }));
    expect(login.statusCode).toBe(200);
  });
});
