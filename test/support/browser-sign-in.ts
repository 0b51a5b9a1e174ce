import { createHash, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { RekeyApp } from '../../src/platform/http/app.js';
import { portalClientId } from './rekey-harness.js';

/*
 * A browser of the sign-in flow over inject(): it keeps cookies as a browser does (by name, from
 * Set-Cookie), reads the forms of Rekey's sign-in page and posts them back. Used by the tests of
 * the authorize endpoint; a real Chromium drives the same pages in the portal's browser tests.
 */

/** The portal's callback on the harness's public URL (REKEY_PUBLIC_URL=http://rekey.test). */
export const portalCallback = 'http://rekey.test/portal/callback';

/** A PKCE pair (RFC 7636): a random verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The value of a hidden field of the page's form. */
export function formField(html: string, name: string): string | undefined {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return match?.[1]?.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
}

/** The form's action. */
export function formAction(html: string): string {
  const match = /<form method="post" action="([^"]*)"/.exec(html);
  if (!match?.[1]) throw new Error(`no form on the page: ${html.slice(0, 300)}`);
  return match[1];
}

export class TestBrowser {
  readonly cookies = new Map<string, string>();
  /** The raw Set-Cookie headers of the last answer. */
  lastSetCookies: string[] = [];

  constructor(private readonly app: RekeyApp) {}

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }

  private keep(response: LightMyRequestResponse): LightMyRequestResponse {
    const raw = response.headers['set-cookie'];
    this.lastSetCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    for (const line of this.lastSetCookies) {
      const [pair] = line.split(';');
      const index = pair?.indexOf('=') ?? -1;
      if (!pair || index < 0) continue;
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.keep(await this.app.inject({ method: 'GET', url, headers: this.cookieHeader() }));
  }

  async post(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.keep(
      await this.app.inject({
        method: 'POST',
        url,
        payload: new URLSearchParams(fields).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.cookieHeader() },
      }),
    );
  }

  /** Posts the page's form with its hidden fields and `fields`. */
  async submit(
    page: LightMyRequestResponse,
    fields: Record<string, string>,
  ): Promise<LightMyRequestResponse> {
    const html = page.body;
    return this.post(formAction(html), {
      transaction: formField(html, 'transaction') ?? '',
      csrf_token: formField(html, 'csrf_token') ?? '',
      ...fields,
    });
  }
}

/** The authorize URL of the portal client with PKCE, state and nonce (override any parameter). */
export function authorizeUrl(
  challenge: string,
  overrides: Record<string, string | undefined> = {},
  tenant = 'example.com',
): string {
  const params: Record<string, string | undefined> = {
    client_id: portalClientId,
    response_type: 'code',
    redirect_uri: portalCallback,
    scope: 'openid profile offline_access',
    state: 'state-123',
    nonce: 'nonce-456',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
  return `/${tenant}/oauth2/v2.0/authorize?${query.toString()}`;
}

/** The query parameters of a redirect back to the client (asserting it is one, to `redirectUri`). */
export function redirectParams(
  response: LightMyRequestResponse,
  redirectUri = portalCallback,
): URLSearchParams {
  expect([302, 303], response.body).toContain(response.statusCode);
  const location = new URL(String(response.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  return location.searchParams;
}
