import { jwtClaims, randomToken, s256Challenge } from './pkce.js';

/*
 * Sign-in with Rekey's built-in portal client: OAuth 2.0 authorization code with PKCE (S256),
 * `state` and `nonce`, against the endpoints Rekey's discovery document lists.
 *
 * Tokens live in this module's memory only, never in localStorage or sessionStorage: a script
 * injected into the page could read those, and they outlive the tab. The PKCE verifier, state and
 * nonce sit in sessionStorage only between leaving for the authorize endpoint and coming back to
 * the callback, and are removed as soon as they are read. A reload loses the tokens; the app then
 * runs authorize again, which the server's sign-in cookie answers without asking for a password.
 */

/** Rekey's built-in portal application (src/tenant/builtin-applications.ts). */
export const portalClientId = '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45';

/** The tenant segment of the OAuth URLs: any of the tenant's names would do; this one needs none. */
const tenantSegment = 'organizations';

/** The two apps the bundle serves; each has its own registered redirect URI. */
export type AppArea = 'portal' | 'myaccount';

export interface SignedInUser {
  readonly id: string;
  readonly name: string;
  readonly userPrincipalName: string;
}

interface Session {
  readonly accessToken: string;
  readonly idToken: string;
  readonly user: SignedInUser;
}

/** What survives the round trip to the authorize endpoint (sessionStorage, removed on return). */
interface PendingSignIn {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly returnTo: string;
}

interface Endpoints {
  readonly authorization_endpoint?: string;
  readonly token_endpoint: string;
  readonly end_session_endpoint?: string;
}

/** A sign-in that could not complete, with the server's code when it gave one. */
export class SignInError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

const pendingKey = 'rekey.pendingSignIn';
/** The `state` the logout endpoint brings back to the callback after signing out. */
export const signedOutState = 'signed-out';
let session: Session | undefined;
let endpointsPromise: Promise<Endpoints> | undefined;
/** The callback's exchange, shared so a second render (React's StrictMode) does not spend the code twice. */
let exchange: Promise<string> | undefined;

export function redirectUriOf(area: AppArea): string {
  return `${window.location.origin}/${area}/callback`;
}

/** The area a path belongs to: /myaccount/... or (anything else) /portal/... */
export function areaOf(pathname: string): AppArea {
  return pathname.startsWith('/myaccount') ? 'myaccount' : 'portal';
}

/** Rekey's OpenID configuration, read once. */
function endpoints(): Promise<Endpoints> {
  endpointsPromise ??= fetch(`/${tenantSegment}/v2.0/.well-known/openid-configuration`).then(
    async (response) => {
      if (!response.ok)
        throw new SignInError(
          `Rekey's sign-in configuration could not be read (HTTP ${response.status}).`,
          undefined,
        );
      return (await response.json()) as Endpoints;
    },
  );
  return endpointsPromise;
}

export function currentUser(): SignedInUser | undefined {
  return session?.user;
}

export function accessToken(): string | undefined {
  return session?.accessToken;
}

/** Leaves for the authorize endpoint; the browser comes back to `/{area}/callback`. */
export async function signIn(area: AppArea, returnTo: string): Promise<void> {
  const config = await endpoints();
  if (!config.authorization_endpoint) {
    throw new SignInError(
      'This Rekey does not offer browser sign-in (its discovery lists no authorization_endpoint).',
      undefined,
    );
  }
  const pending: PendingSignIn = {
    verifier: randomToken(),
    state: randomToken(),
    nonce: randomToken(),
    returnTo,
  };
  sessionStorage.setItem(pendingKey, JSON.stringify(pending));
  const url = new URL(config.authorization_endpoint, window.location.origin);
  url.search = new URLSearchParams({
    client_id: portalClientId,
    response_type: 'code',
    redirect_uri: redirectUriOf(area),
    response_mode: 'query',
    scope: 'openid profile offline_access',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256Challenge(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.toString());
}

function takePending(): PendingSignIn | undefined {
  const raw = sessionStorage.getItem(pendingKey);
  sessionStorage.removeItem(pendingKey);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as PendingSignIn;
  } catch {
    return undefined;
  }
}

/** The first AADSTS code in an OAuth error description or error_codes, if any. */
function codeIn(body: { error_codes?: unknown; error_description?: unknown }): number | undefined {
  if (Array.isArray(body.error_codes) && typeof body.error_codes[0] === 'number') return body.error_codes[0];
  const match =
    typeof body.error_description === 'string' ? /AADSTS(\d+)/.exec(body.error_description) : null;
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * Completes the sign-in at `/{area}/callback`: checks `state`, trades the code and the PKCE
 * verifier for tokens, checks the id token's `nonce`. Returns where the user was going.
 */
export function completeSignIn(area: AppArea, search: string): Promise<string> {
  // Shared with a second call for the same answer: both get the same destination.
  exchange ??= (async () => {
    const params = new URLSearchParams(search);
    const pending = takePending();
    const error = params.get('error');
    if (error !== null) {
      const description = params.get('error_description') ?? error;
      throw new SignInError(description, codeIn({ error_description: description }));
    }
    const code = params.get('code');
    if (!pending || code === null || params.get('state') !== pending.state) {
      throw new SignInError(
        'This sign-in answer does not belong to a sign-in started here (state mismatch). Sign in again.',
        undefined,
      );
    }
    const config = await endpoints();
    const response = await fetch(config.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: portalClientId,
        code,
        redirect_uri: redirectUriOf(area),
        code_verifier: pending.verifier,
      }).toString(),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) {
      throw new SignInError(
        String(body['error_description'] ?? body['error'] ?? 'The sign-in failed.'),
        codeIn(body),
      );
    }
    const idToken = String(body['id_token'] ?? '');
    const claims = jwtClaims(idToken);
    if (claims['nonce'] !== pending.nonce) {
      throw new SignInError(
        'The id token does not carry the nonce of this sign-in. Sign in again.',
        undefined,
      );
    }
    session = {
      accessToken: String(body['access_token']),
      idToken,
      user: {
        id: String(claims['oid'] ?? claims['sub'] ?? ''),
        name: String(claims['name'] ?? claims['preferred_username'] ?? ''),
        userPrincipalName: String(claims['preferred_username'] ?? ''),
      },
    };
    return pending.returnTo.startsWith(`/${area}`) ? pending.returnTo : `/${area}`;
  })();
  return exchange.catch((error: unknown) => {
    exchange = undefined;
    throw error;
  });
}

/** Forgets the tokens and ends the server's sign-in session (its cookie) at the logout endpoint. */
export async function signOut(area: AppArea): Promise<void> {
  const idToken = session?.idToken;
  session = undefined;
  exchange = undefined;
  const config = await endpoints();
  const target = config.end_session_endpoint ?? `/${tenantSegment}/oauth2/v2.0/logout`;
  const url = new URL(target, window.location.origin);
  // The logout endpoint returns only to a registered redirect URI: the area's callback, whose
  // page reads this state as "signed out" (no code comes with it).
  url.search = new URLSearchParams({
    post_logout_redirect_uri: redirectUriOf(area),
    state: signedOutState,
    client_id: portalClientId,
    ...(idToken ? { id_token_hint: idToken } : {}),
  }).toString();
  window.location.assign(url.toString());
}

/** Drops the tokens (e.g. after a 401) so the next page load signs in again. */
export function forgetSession(): void {
  session = undefined;
  exchange = undefined;
}
