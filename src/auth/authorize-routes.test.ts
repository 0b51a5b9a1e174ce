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

  it('refuses a wrong code_verifier (501481) and a missing one (900144)', async () => {
    const { challenge } = pkcePair();
    const { answer } = await signInThroughPage(adminUpn, adminPassword, challenge);
    const code = redirectParams(answer).get('code') ?? '';
    const wrong = await redeem(code, pkcePair().verifier);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ error: 'invalid_grant', error_codes: [501481] });
    const none = await rekey.tokenRequest({
      grant_type: 'authorization_code',
      client_id: portalClientId,
      code,
      redirect_uri: portalCallback,
    });
    expect(none.json()).toMatchObject({ error: 'invalid_request', error_codes: [900144] });
  });

  it('redeems a code once: a second redemption is 54005 and revokes the tokens of the first', async () => {
    const { verifier, challenge } = pkcePair();
    const { answer } = await signInThroughPage(adminUpn, adminPassword, challenge);
    const code = redirectParams(answer).get('code') ?? '';
    const first = await redeem(code, verifier);
    expect(first.statusCode).toBe(200);
    const { access_token: access, refresh_token: refresh } = first.json<{
      access_token: string;
      refresh_token: string;
    }>();
    const again = await redeem(code, verifier);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
    const me = await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(access) });
    expect(me.statusCode).toBe(401);
    const refreshed = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: portalClientId,
      refresh_token: refresh,
    });
    expect(refreshed.statusCode).toBe(400);
    // Another client, or another redirect_uri, is refused as an unknown grant.
    const other = pkcePair();
    const second = await signInThroughPage(adminUpn, adminPassword, other.challenge);
    const otherCode = redirectParams(second.answer).get('code') ?? '';
    const elsewhere = await redeem(otherCode, other.verifier, {
      redirect_uri: 'http://rekey.test/myaccount/callback',
    });
    expect(elsewhere.json()).toMatchObject({ error: 'invalid_grant', error_codes: [70000] });
  });

  it('shows an unregistered redirect_uri, an unknown client and an unknown tenant on its own page, never redirecting', async () => {
    const { challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    for (const [url, code] of [
      [authorizeUrl(challenge, { redirect_uri: 'https://evil.example/portal/callback' }), 'AADSTS50011'],
      [authorizeUrl(challenge, { redirect_uri: 'http://rekey.test/portal/callback/../x' }), 'AADSTS50011'],
      [authorizeUrl(challenge, { redirect_uri: undefined }), 'AADSTS900144'],
      [authorizeUrl(challenge, { client_id: '00000000-0000-0000-0000-000000000001' }), 'AADSTS700016'],
      [authorizeUrl(challenge, {}, 'nowhere.example'), 'AADSTS90002'],
    ] as const) {
      const page = await browser.get(url);
      expect(page.statusCode, url).toBe(400);
      expect(page.headers.location).toBeUndefined();
      expect(page.body).toContain(`<code>${code}</code>`);
      expect(page.body).toContain(`href="/error?code=${code.replace('AADSTS', '')}"`);
    }
    // The portal's path matches on the origin the request came to, not on any other.
    const own = await browser.get(
      authorizeUrl(challenge, { redirect_uri: 'http://localhost/portal/callback' }),
    );
    expect(own.statusCode).toBe(200);
  });

  it('sends errors after a trusted redirect_uri back to it with the state, unchanged', async () => {
    const browser = new TestBrowser(rekey.app);
    const state = 'a b&c=d/é';
    const noPkce = await browser.get(
      authorizeUrl('x', { code_challenge: undefined, code_challenge_method: undefined, state }),
    );
    const params = redirectParams(noPkce);
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/^7701501: /);
    expect(params.get('error_uri')).toBe('http://rekey.test/error?code=7701501');
    expect(params.get('state')).toBe(state);
    const { challenge } = pkcePair();
    const plain = redirectParams(
      await browser.get(authorizeUrl(challenge, { code_challenge_method: 'plain' })),
    );
    expect(plain.get('error_description')).toMatch(/^7701501: /);
    const token = redirectParams(await browser.get(authorizeUrl(challenge, { response_type: 'token' })));
    expect(token.get('error')).toBe('unsupported_response_type');
    expect(token.get('state')).toBe('state-123');
    const noState = redirectParams(
      await browser.get(authorizeUrl(challenge, { response_type: 'id_token', state: undefined })),
    );
    expect(noState.has('state')).toBe(false);
  });

  it('answers prompt=none without a session with login_required (50058)', async () => {
    const { challenge } = pkcePair();
    const params = redirectParams(
      await new TestBrowser(rekey.app).get(authorizeUrl(challenge, { prompt: 'none' })),
    );
    expect(params.get('error')).toBe('login_required');
    expect(params.get('error_description')).toMatch(/^AADSTS50058: /);
    expect(params.get('state')).toBe('state-123');
  });

  it('refuses a form without its CSRF token, with another one, or from a browser without the cookie', async () => {
    const { challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    const page = await browser.get(authorizeUrl(challenge));
    const transaction = formField(page.body, 'transaction') ?? '';
    const before = await rekey.db.kysely.selectFrom('sign_ins').select('id').execute();
    for (const csrf of [undefined, 'x'.repeat(43), formField(page.body, 'transaction')]) {
      const refused = await browser.post('/example.com/oauth2/v2.0/authorize', {
        transaction,
        ...(csrf === undefined ? {} : { csrf_token: csrf }),
        username: adminUpn,
        password: adminPassword,
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.body).toContain('<code>7701504</code>');
    }
    // The right token from another browser (no rekey_signin cookie) is not enough.
    const stranger = await new TestBrowser(rekey.app).submit(page, {
      username: adminUpn,
      password: adminPassword,
    });
    expect(stranger.statusCode).toBe(400);
    expect(stranger.body).toContain('<code>7701503</code>');
    // None of them reached the password check.
    const after = await rekey.db.kysely.selectFrom('sign_ins').select('id').execute();
    expect(after.length).toBe(before.length);
    // The genuine post still works, once.
    const genuine = await browser.submit(page, { username: adminUpn, password: adminPassword });
    expect(genuine.statusCode).toBe(303);
    const replay = await browser.submit(page, { username: adminUpn, password: adminPassword });
    expect(replay.body).toContain('<code>7701503</code>');
  });

  it('refuses a wrong password with the code and a link, and applies smart lockout like the token endpoint', async () => {
    const password = 'Meadow-Lantern-42-Xy!';
    const user = await rekey.createUser(`page.lockout.${dialect}`, password);
    const { challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    let page = await browser.get(authorizeUrl(challenge));
    page = await browser.submit(page, { username: user.userPrincipalName, password: 'Wrong-Guess-0!' });
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('<code>AADSTS50126</code>');
    expect(page.body).toContain('href="/error?code=50126"');
    const rows = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select(['error_code', 'client_app_used'])
      .where('user_principal_name', '=', user.userPrincipalName)
      .execute();
    expect(rows).toEqual([{ error_code: 50126, client_app_used: 'Browser' }]);
    const threshold = (await rekey.settings.getSmartLockout()).lockoutThreshold;
    for (let i = 1; i < threshold; i += 1)
      page = await browser.submit(page, { username: user.userPrincipalName, password: `Wrong-Guess-${i}!` });
    // Locked now: the right password is refused at the page and at the token endpoint alike.
    const right = await browser.submit(page, { username: user.userPrincipalName, password });
    expect(right.statusCode).toBe(400);
    expect(right.headers.location).toBeUndefined();
    expect(await rekey.signInCode(user.userPrincipalName, password)).not.toBe(0);
    const locked = await rekey.db.kysely
      .selectFrom('lockout_states')
      .select('locked_until')
      .where('user_id', '=', user.id)
      .execute();
    expect(locked.some((row) => row.locked_until !== null)).toBe(true);
  });

  it('asks for a new password when a change is forced, shows a policy refusal with its code, then continues to the code', async () => {
    const password = 'Orchard-Velvet-61-Qa!';
    const user = await rekey.createUser(`page.forced.${dialect}`, password, {
      forceChangePasswordNextSignIn: true,
    });
    const { verifier, challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    const page = await browser.get(authorizeUrl(challenge));
    const change = await browser.submit(page, { username: user.userPrincipalName, password });
    expect(change.statusCode).toBe(200);
    expect(change.body).toContain('name="new_password"');
    expect(change.body).not.toContain('name="password"');
    expect(change.body).toContain('/authorize/password');
    const mismatch = await browser.submit(change, {
      new_password: 'Granite-Harbor-88-Lm!',
      confirm_password: 'Other-1!',
    });
    expect(mismatch.body).toContain('<code>7701508</code>');
    const weak = await browser.submit(mismatch, { new_password: 'password', confirm_password: 'password' });
    expect(weak.statusCode).toBe(400);
    expect(weak.body).toMatch(/<code>AADSTS1200\d\d<\/code>/);
    expect(weak.body).toMatch(/href="\/error\?code=1200\d\d"/);
    const newPassword = 'Granite-Harbor-88-Lm!';
    const done = await browser.submit(weak, { new_password: newPassword, confirm_password: newPassword });
    const code = redirectParams(done).get('code') ?? '';
    const tokens = await redeem(code, verifier);
    expect(tokens.statusCode, tokens.body).toBe(200);
    // The change went through the password change path: the new password signs in, the old one does not.
    expect(await rekey.signInCode(user.userPrincipalName, newPassword)).toBe(0);
    expect(await rekey.signInCode(user.userPrincipalName, password)).not.toBe(0);
    const logged = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select('error_code')
      .where('user_principal_name', '=', user.userPrincipalName)
      .where('client_app_used', '=', 'Browser')
      .orderBy('created_at')
      .execute();
    expect(logged.map((row) => row.error_code)).toEqual([50055, 0]);
  });

  it('ends the SSO session at sign-out and redirects only to a registered URI', async () => {
    const { challenge } = pkcePair();
    const { browser, answer } = await signInThroughPage(adminUpn, adminPassword, challenge);
    redirectParams(answer);
    const unregistered = await browser.get(
      `/example.com/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    );
    expect(unregistered.statusCode).toBe(400);
    expect(unregistered.body).toContain('<code>7701506</code>');
    expect(unregistered.headers.location).toBeUndefined();
    // The session ended anyway.
    const silent = redirectParams(await browser.get(authorizeUrl(challenge, { prompt: 'none' })));
    expect(silent.get('error')).toBe('login_required');

    const again = await signInThroughPage(adminUpn, adminPassword, challenge);
    redirectParams(again.answer);
    const out = await again.browser.get(
      `/example.com/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent('http://rekey.test/portal/callback')}&state=bye`,
    );
    expect(out.statusCode).toBe(302);
    expect(out.headers.location).toBe('http://rekey.test/portal/callback?state=bye');
    expect(again.browser.lastSetCookies.find((line) => line.startsWith('rekey_sso='))).toMatch(/Max-Age=0/);
    expect(again.browser.cookies.has('rekey_sso')).toBe(false);
    const after = redirectParams(await again.browser.get(authorizeUrl(challenge, { prompt: 'none' })));
    expect(after.get('error')).toBe('login_required');
  });

  it('ends the SSO session when the user’s sessions are revoked', async () => {
    const password = 'Copper-Willow-35-Rt!';
    const user = await rekey.createUser(`page.revoked.${dialect}`, password);
    const { challenge } = pkcePair();
    const { browser, answer } = await signInThroughPage(user.userPrincipalName, password, challenge);
    redirectParams(answer);
    expect(
      redirectParams(await browser.get(authorizeUrl(challenge, { prompt: 'none' }))).get('code'),
    ).toBeTruthy();
    const disabled = await rekey.app.inject({
      method: 'PATCH',
      url: `/v1.0/users/${user.id}`,
      headers: { ...bearer(await rekey.adminToken()), 'content-type': 'application/json' },
      payload: { accountEnabled: false },
    });
    expect(disabled.statusCode, disabled.body).toBe(204);
    const after = redirectParams(await browser.get(authorizeUrl(challenge, { prompt: 'none' })));
    expect(after.get('error')).toBe('login_required');
  });

  it('sets its cookies HttpOnly and SameSite=Lax (not Secure over http), and a CSP without inline script', async () => {
    const { challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    const page = await browser.get(authorizeUrl(challenge));
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/form-action 'self' http:\/\/rekey\.test/);
    expect(page.body).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
    const signin = browser.lastSetCookies.find((line) => line.startsWith('rekey_signin='));
    expect(signin).toMatch(/; HttpOnly/);
    expect(signin).toMatch(/; SameSite=Lax/);
    expect(signin).not.toMatch(/Secure/);
    const answer = await browser.submit(page, { username: adminUpn, password: adminPassword });
    const sso = browser.lastSetCookies.find((line) => line.startsWith('rekey_sso='));
    expect(sso).toMatch(/; HttpOnly; SameSite=Lax; Max-Age=43200/);
    expect(answer.headers['cache-control']).toBe('no-store');
    // The token endpoint answers no other origin's script: no CORS headers.
    const code = redirectParams(answer).get('code') ?? '';
    const tokens = await rekey.tokenRequest(
      {
        grant_type: 'authorization_code',
        client_id: portalClientId,
        code,
        redirect_uri: portalCallback,
        code_verifier: 'x',
      },
      { origin: 'https://evil.example' },
    );
    expect(tokens.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers response_mode=form_post with a form that its own script file submits', async () => {
    const { challenge } = pkcePair();
    const { browser, answer } = await signInThroughPage(adminUpn, adminPassword, challenge);
    redirectParams(answer);
    const posted = await browser.get(authorizeUrl(challenge, { response_mode: 'form_post' }));
    expect(posted.statusCode).toBe(200);
    expect(posted.body).toContain(`<form method="post" action="${portalCallback}">`);
    expect(formField(posted.body, 'code')).toBeTruthy();
    expect(formField(posted.body, 'state')).toBe('state-123');
    expect(String(posted.headers['content-security-policy'])).toContain("script-src 'self'");
    const script = await rekey.app.inject({ method: 'GET', url: '/oauth2/form-post.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  });
});

describe('authorization codes expire', () => {
  let rekey: TestRekey;
  let offsetMs = 0;
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite', { clock: { now: () => new Date(Date.now() + offsetMs) } });
  });
  afterAll(async () => rekey?.close());

  it('refuses a code redeemed after its 60 seconds with 70008', async () => {
    const { verifier, challenge } = pkcePair();
    const browser = new TestBrowser(rekey.app);
    const page = await browser.get(authorizeUrl(challenge));
    const code = redirectParams(
      await browser.submit(page, { username: adminUpn, password: adminPassword }),
    ).get('code');
    offsetMs = 61_000;
    const late = await rekey.tokenRequest({
      grant_type: 'authorization_code',
      client_id: portalClientId,
      code: code ?? '',
      redirect_uri: portalCallback,
      code_verifier: verifier,
    });
    expect(late.statusCode).toBe(400);
    expect(late.json()).toMatchObject({ error: 'invalid_grant', error_codes: [70008] });
  });
});
