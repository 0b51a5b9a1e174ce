import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { PasswordService } from '../passwords/password-service.js';
import type { Clock } from '../platform/clock.js';
import type { SecretBox } from '../platform/crypto/secret-box.js';
import type { Db } from '../platform/db/database.js';
import type { UserRow } from '../platform/db/schema.js';
import { Codes, type ErrorCode } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { findRegisteredRedirectUri, isRegisteredForAnyApplication } from '../tenant/application-service.js';
import { builtinApplications } from '../tenant/builtin-applications.js';
import { assertTenantSegment } from '../tenant/tenant-resolver.js';
import { findClientApplication, type TenantRecord } from '../tenant/tenant-service.js';
import { findLiveUser } from '../users/user-service.js';
import {
  deleteExpiredSignInRows,
  deleteSignInTransaction,
  findLiveSsoSession,
  findSignInTransaction,
  holdPasswordForChange,
  insertAuthorizationCode,
  insertSignInTransaction,
  insertSsoSession,
  revokeSsoSession,
  type SignInTransactionRow,
} from './browser-sign-in-store.js';
import type { SignInService } from './sign-in-service.js';

/*
 * The browser sign-in (OAuth 2.0 authorization-code flow with PKCE, OpenID Connect): the
 * authorize endpoint's decisions, Rekey's sign-in page and its password change step, the SSO
 * session and sign-out. The routes (authorize-routes.ts) turn the outcomes into HTML, redirects
 * and cookies; nothing here knows HTTP.
 *
 * Errors before the redirect URI is known to be registered are shown on Rekey's own error page
 * (RFC 6749 §4.1.2.1: never redirect to an unverified URI); after it, they go back to the client
 * as `error`, `error_description`, `error_uri` and `state`.
 */

/** How long an authorization code may wait for redemption. */
export const authorizationCodeLifetimeSeconds = 60;
/** How long the sign-in page (a sign-in transaction) stays usable. */
export const signInTransactionLifetimeSeconds = 15 * 60;
/** How long an SSO session lasts from the sign-in (it ends earlier with the user's sessions). */
export const ssoSessionLifetimeSeconds = 12 * 3600;
/** How long a redeemed or expired code is kept, so that a replay still revokes its tokens. */
const spentCodeRetentionSeconds = 24 * 3600;

/** `prompt` values the authorize endpoint honours (OIDC Core §3.1.2.1). */
export type Prompt = 'none' | 'login' | 'select_account';
export type ResponseMode = 'query' | 'form_post';

/** An authorize request once its client and redirect URI are trusted. */
export interface AuthorizeRequest {
  /** The `{tenant}` segment it was sent to, kept for the form actions and the discovery links. */
  readonly tenantSegment: string;
  readonly clientId: string;
  /** The application's display name, shown on the sign-in page. */
  readonly applicationName: string;
  readonly redirectUri: string;
  readonly responseMode: ResponseMode;
  readonly scope: string;
  readonly state: string | null;
  readonly nonce: string | null;
  readonly codeChallenge: string;
  readonly prompt: Prompt | null;
  readonly loginHint: string | null;
}

/** Where and how to send the browser back to the client. */
export interface ClientResponse {
  readonly redirectUri: string;
  readonly responseMode: ResponseMode;
  readonly params: Readonly<Record<string, string>>;
}

/** What the sign-in page shows. */
export interface SignInPageModel {
  readonly step: 'credentials' | 'changePassword';
  readonly tenantSegment: string;
  readonly transactionId: string;
  readonly csrfToken: string;
  readonly applicationName: string;
  readonly username: string;
  readonly redirectOrigin: string;
  /** Why the last post was refused, if it was. */
  readonly error?: RekeyError | undefined;
}

/** What the routes do with a request of the browser sign-in. */
export type BrowserOutcome =
  /** Send the browser back to the client (a code, or an error after the redirect URI is trusted). */
  | {
      readonly kind: 'respond';
      readonly response: ClientResponse;
      /** A new SSO session cookie to set. */
      readonly ssoToken?: string | undefined;
    }
  /** Show the sign-in page (credentials or the change step); set the browser cookie if given. */
  | { readonly kind: 'page'; readonly page: SignInPageModel; readonly browserToken?: string | undefined }
  /** Show Rekey's error page: nothing trustworthy to redirect to. */
  | { readonly kind: 'error'; readonly error: RekeyError }
  /** Signed out, nowhere to go: show the signed-out page. */
  | { readonly kind: 'signedOut' };

/** The query of an authorize request, as strings (a repeated parameter is refused). */
export type AuthorizeQuery = Readonly<Record<string, string | undefined>>;

/** The browser's cookies the flow reads. */
export interface BrowserCookies {
  readonly ssoToken: string | undefined;
  readonly browserToken: string | undefined;
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of a presented secret's hash with a stored one. */
function hashesMatch(presented: string | undefined, storedHash: string): boolean {
  if (presented === undefined || presented.length === 0 || presented.length > 256) return false;
  const a = Buffer.from(sha256(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 7636 §4.2: a S256 challenge is 43 base64url characters (a verifier may be 43 to 128). */
const codeChallengePattern = /^[A-Za-z0-9_-]{43,128}$/;
const prompts: readonly Prompt[] = ['none', 'login', 'select_account'];

export type AuthorizeService = ReturnType<typeof createAuthorizeService>;

export function createAuthorizeService(deps: {
  readonly db: Db;
  readonly tenant: TenantRecord;
  readonly clock: Clock;
  readonly secretBox: SecretBox;
  readonly signIns: Pick<SignInService, 'signInAtSignInPage' | 'recordBrowserSignIn'>;
  readonly passwords: Pick<PasswordService, 'changeExpiredPassword'>;
  readonly publicUrl: string;
}) {
  const { db, tenant, clock } = deps;

  function at(offsetSeconds = 0): string {
    return new Date(clock.now().getTime() + offsetSeconds * 1000).toISOString();
  }

  function errorResponse(
    request: AuthorizeRequest | Pick<AuthorizeRequest, 'redirectUri' | 'responseMode' | 'state'>,
    error: RekeyError,
  ): ClientResponse {
    return {
      redirectUri: request.redirectUri,
      responseMode: request.responseMode,
      params: {
        error: error.entry.oauthError,
        error_description: `${error.entry.isEntraCode ? 'AADSTS' : ''}${error.code}: ${error.message}`,
        error_uri: `${deps.publicUrl}/error?code=${error.code}`,
        ...(request.state === null ? {} : { state: request.state }),
      },
    };
  }

  /** Issues a code for `user` and sends it back to the client. */
  async function codeResponse(request: AuthorizeRequest, user: UserRow): Promise<ClientResponse> {
    const code = newSecret();
    const now = at();
    await deleteExpiredSignInRows(db.kysely, now, at(-spentCodeRetentionSeconds));
    await insertAuthorizationCode(db.kysely, {
      code_hash: sha256(code),
      tenant_id: tenant.id,
      client_id: request.clientId,
      user_id: user.id,
      redirect_uri: request.redirectUri,
      code_challenge: request.codeChallenge,
      nonce: request.nonce,
      scope: request.scope,
      session_version: user.session_version,
      created_at: now,
      expires_at: at(authorizationCodeLifetimeSeconds),
      redeemed_at: null,
      family_id: null,
    });
    return {
      redirectUri: request.redirectUri,
      responseMode: request.responseMode,
      params: { code, ...(request.state === null ? {} : { state: request.state }) },
    };
  }

  /** Opens an SSO session for `user`; returns the cookie value. */
  async function openSsoSession(user: UserRow): Promise<string> {
    const token = newSecret();
    await insertSsoSession(db.kysely, {
      id: randomUUID(),
      tenant_id: tenant.id,
      user_id: user.id,
      token_hash: sha256(token),
      session_version: user.session_version,
      created_at: at(),
      expires_at: at(ssoSessionLifetimeSeconds),
      revoked_at: null,
    });
    return token;
  }

  /** The signed-in user of a live SSO session: same session version, account still enabled. */
  async function ssoUser(ssoToken: string | undefined): Promise<UserRow | undefined> {
    if (!ssoToken || ssoToken.length > 256) return undefined;
    const session = await findLiveSsoSession(db.kysely, tenant.id, sha256(ssoToken), at());
    if (!session) return undefined;
    const user = await findLiveUser(db.kysely, tenant.id, { id: session.user_id });
    // revokeSignInSessions, a password change or reset, disabling: the session version moved on.
    if (user?.account_enabled !== 1 || user.session_version !== session.session_version) return undefined;
    return user;
  }

  function pageModel(
    request: AuthorizeRequest,
    transactionId: string,
    csrfToken: string,
    step: SignInPageModel['step'],
    username: string,
    error?: RekeyError,
  ): SignInPageModel {
    return {
      step,
      tenantSegment: request.tenantSegment,
      transactionId,
      csrfToken,
      applicationName: request.applicationName,
      username,
      redirectOrigin: new URL(request.redirectUri).origin,
      error,
    };
  }

  /** One value of the query: absent, or a single string (a repeated parameter is refused). */
  function single(query: AuthorizeQuery, name: string): string | undefined {
    const value = query[name];
    return value === undefined || value === '' ? undefined : value;
  }

  function missing(parameter: string): RekeyError {
    return new RekeyError(Codes.InvalidRequestParameter, { details: { parameter } });
  }

  /**
   * `GET /{tenant}/oauth2/v2.0/authorize`: validates the request, answers from the SSO session
   * when there is one (unless `prompt=login`/`select_account`), else opens a sign-in transaction
   * and shows the page. `origins` are the origins the portal's callback paths may be on.
   */
  async function authorize(
    context: RequestContext,
    segment: string,
    query: AuthorizeQuery,
    origins: readonly string[],
    cookies: BrowserCookies,
  ): Promise<BrowserOutcome> {
    try {
      await assertTenantSegment(db, tenant, segment);
    } catch (error) {
      if (error instanceof RekeyError) return { kind: 'error', error };
      throw error;
    }
    const clientId = single(query, 'client_id');
    if (!clientId) return { kind: 'error', error: missing('client_id') };
    const app = await findClientApplication(db.kysely, tenant.id, clientId);
    if (!app)
      return {
        kind: 'error',
        error: new RekeyError(Codes.UnauthorizedClient_DoesNotMatchRequest, {
          details: { client_id: clientId },
        }),
      };
    const requestedRedirect = single(query, 'redirect_uri');
    if (!requestedRedirect) return { kind: 'error', error: missing('redirect_uri') };
    const redirectUri = await findRegisteredRedirectUri(
      db.kysely,
      tenant.id,
      app.appId,
      requestedRedirect,
      origins,
    );
    if (!redirectUri)
      return {
        kind: 'error',
        error: new RekeyError(Codes.InvalidReplyTo, {
          details: { redirect_uri: requestedRedirect, client_id: app.appId },
        }),
      };
    // From here on the redirect URI is trusted: errors go back to the client.
    const state = single(query, 'state') ?? null;
    const modeParameter = single(query, 'response_mode') ?? 'query';
    const responseMode: ResponseMode = modeParameter === 'form_post' ? 'form_post' : 'query';
    const back = { redirectUri, responseMode, state };
    const refuse = (code: ErrorCode, details?: Record<string, unknown>): BrowserOutcome => ({
      kind: 'respond',
      response: errorResponse(back, new RekeyError(code, details ? { details } : {})),
    });
    if (modeParameter !== 'query' && modeParameter !== 'form_post')
      return refuse(Codes.UnsupportedResponseMode, { response_mode: modeParameter });
    const responseType = single(query, 'response_type');
    if (!responseType) return refuse(Codes.InvalidRequestParameter, { parameter: 'response_type' });
    if (responseType !== 'code')
      return refuse(Codes.UnsupportedResponseType, { response_type: responseType });
    const scope = single(query, 'scope');
    if (!scope) return refuse(Codes.InvalidRequestParameter, { parameter: 'scope' });
    // Every Rekey client is public (no client secrets): PKCE with S256 is required of all of them.
    const codeChallenge = single(query, 'code_challenge');
    const challengeMethod = single(query, 'code_challenge_method');
    if (!codeChallenge || challengeMethod !== 'S256') return refuse(Codes.PkceRequired);
    if (!codeChallengePattern.test(codeChallenge))
      return refuse(Codes.InvalidRequestParameter, { parameter: 'code_challenge' });
    const promptParameter = single(query, 'prompt');
    const prompt = prompts.find((p) => p === promptParameter) ?? null;
    if (promptParameter !== undefined && prompt === null)
      return refuse(Codes.InvalidRequestParameter, { parameter: 'prompt' });
    const request: AuthorizeRequest = {
      tenantSegment: segment,
      clientId: app.appId,
      applicationName: app.displayName,
      redirectUri,
      responseMode,
      scope,
      state,
      nonce: single(query, 'nonce') ?? null,
      codeChallenge,
      prompt,
      loginHint: single(query, 'login_hint') ?? null,
    };

    if (prompt !== 'login' && prompt !== 'select_account') {
      const user = await ssoUser(cookies.ssoToken);
      if (user) {
        await deps.signIns.recordBrowserSignIn(context, user, app.appId, false);
        return { kind: 'respond', response: await codeResponse(request, user) };
      }
      if (prompt === 'none') return refuse(Codes.UserInformationNotProvided);
    }

    const transactionId = newSecret();
    const csrfToken = newSecret();
    // The browser cookie binds the transaction to this browser; one per browser, reused.
    const browserToken =
      cookies.browserToken && cookies.browserToken.length <= 256 ? cookies.browserToken : newSecret();
    await insertSignInTransaction(db.kysely, {
      id: transactionId,
      tenant_id: tenant.id,
      browser_hash: sha256(browserToken),
      csrf_hash: sha256(csrfToken),
      request: JSON.stringify(request),
      user_id: null,
      sealed_password: null,
      created_at: at(),
      expires_at: at(signInTransactionLifetimeSeconds),
    });
    return {
      kind: 'page',
      page: pageModel(request, transactionId, csrfToken, 'credentials', request.loginHint ?? ''),
      ...(browserToken === cookies.browserToken ? {} : { browserToken }),
    };
  }

  /**
   * The transaction a form names, if this browser opened it and the form carries its CSRF token.
   * The token is compared in constant time; a missing or wrong one is 7701504, an unknown,
   * expired or other browser's transaction 7701503.
   */
  async function openTransaction(
    transactionId: string | undefined,
    csrfToken: string | undefined,
    browserToken: string | undefined,
  ): Promise<{ readonly row: SignInTransactionRow; readonly request: AuthorizeRequest } | RekeyError> {
    if (!transactionId || transactionId.length > 256) return new RekeyError(Codes.SignInTransactionNotFound);
    const row = await findSignInTransaction(db.kysely, tenant.id, transactionId, at());
    if (!row || !hashesMatch(browserToken, row.browser_hash))
      return new RekeyError(Codes.SignInTransactionNotFound);
    if (!hashesMatch(csrfToken, row.csrf_hash)) return new RekeyError(Codes.CsrfTokenInvalid);
    return { row, request: JSON.parse(row.request) as AuthorizeRequest };
  }

  /** Ends the transaction and completes the sign-in: SSO session, code, back to the client. */
  async function complete(
    row: SignInTransactionRow,
    request: AuthorizeRequest,
    user: UserRow,
  ): Promise<BrowserOutcome> {
    // Two posts of the same form: only the one that ends the transaction gets a code.
    if (!(await deleteSignInTransaction(db.kysely, row.id)))
      return { kind: 'error', error: new RekeyError(Codes.SignInTransactionNotFound) };
    const ssoToken = await openSsoSession(user);
    return { kind: 'respond', response: await codeResponse(request, user), ssoToken };
  }

  /**
   * The credentials form: the one password check (lockout, log) through the sign-in service. A
   * refusal shows the page again with the code; a password that must change shows the change step.
   */
  async function submitCredentials(
    context: RequestContext,
    form: Readonly<Record<string, string | undefined>>,
    browserToken: string | undefined,
  ): Promise<BrowserOutcome> {
    const opened = await openTransaction(form['transaction'], form['csrf_token'], browserToken);
    if (opened instanceof RekeyError) return { kind: 'error', error: opened };
    const { row, request } = opened;
    const username = (form['username'] ?? '').slice(0, 256);
    if (row.user_id !== null)
      return {
        kind: 'page',
        page: pageModel(request, row.id, form['csrf_token'] ?? '', 'changePassword', username),
      };
    try {
      const result = await deps.signIns.signInAtSignInPage(context, {
        clientId: request.clientId,
        username,
        password: form['password'] ?? '',
      });
      if (result.outcome === 'signedIn') return await complete(row, request, result.user);
      // The password is right and must change: held, sealed, for the change step only.
      await holdPasswordForChange(
        db.kysely,
        row.id,
        result.user.id,
        deps.secretBox.seal(form['password'] ?? ''),
      );
      return {
        kind: 'page',
        page: pageModel(
          request,
          row.id,
          form['csrf_token'] ?? '',
          'changePassword',
          result.user.user_principal_name,
        ),
      };
    } catch (error) {
      if (!(error instanceof RekeyError) || (error.entry.httpStatus >= 500 && !error.entry.retryable))
        throw error;
      return {
        kind: 'page',
        page: pageModel(request, row.id, form['csrf_token'] ?? '', 'credentials', username, error),
      };
    }
  }

  /**
   * The change step: the new password (twice) through the expired-password change, which applies
   * the policy, the history, writeback and the operation record; the current password is the one
   * the credentials step proved, held sealed in the transaction. Then the sign-in completes.
   */
  async function submitPasswordChange(
    context: RequestContext,
    form: Readonly<Record<string, string | undefined>>,
    browserToken: string | undefined,
  ): Promise<BrowserOutcome> {
    const opened = await openTransaction(form['transaction'], form['csrf_token'], browserToken);
    if (opened instanceof RekeyError) return { kind: 'error', error: opened };
    const { row, request } = opened;
    if (row.user_id === null || row.sealed_password === null)
      return { kind: 'error', error: new RekeyError(Codes.SignInTransactionNotFound) };
    const user = await findLiveUser(db.kysely, tenant.id, { id: row.user_id });
    if (!user) return { kind: 'error', error: new RekeyError(Codes.SignInTransactionNotFound) };
    const again = (error: RekeyError): BrowserOutcome => ({
      kind: 'page',
      page: pageModel(
        request,
        row.id,
        form['csrf_token'] ?? '',
        'changePassword',
        user.user_principal_name,
        error,
      ),
    });
    const newPassword = form['new_password'] ?? '';
    if (!newPassword) return again(missing('new_password'));
    if (newPassword !== (form['confirm_password'] ?? ''))
      return again(new RekeyError(Codes.NewPasswordConfirmationMismatch));
    try {
      await deps.passwords.changeExpiredPassword(context, {
        userPrincipalName: user.user_principal_name,
        currentPassword: deps.secretBox.open(row.sealed_password),
        newPassword,
      });
    } catch (error) {
      if (!(error instanceof RekeyError) || (error.entry.httpStatus >= 500 && !error.entry.retryable))
        throw error;
      return again(error);
    }
    // The change moved the session version on: the session and the code carry the new one.
    const changed = await findLiveUser(db.kysely, tenant.id, { id: user.id });
    if (!changed) return { kind: 'error', error: new RekeyError(Codes.SignInTransactionNotFound) };
    await deps.signIns.recordBrowserSignIn(context, changed, request.clientId, true);
    return complete(row, request, changed);
  }

  /**
   * `GET /{tenant}/oauth2/v2.0/logout`: ends the SSO session of this browser, then sends it to
   * `post_logout_redirect_uri` if that is registered for an application (with `state`), or shows
   * the signed-out page.
   */
  async function logout(
    segment: string,
    query: AuthorizeQuery,
    origins: readonly string[],
    ssoToken: string | undefined,
  ): Promise<BrowserOutcome | { readonly kind: 'redirect'; readonly location: string }> {
    try {
      await assertTenantSegment(db, tenant, segment);
    } catch (error) {
      if (error instanceof RekeyError) return { kind: 'error', error };
      throw error;
    }
    if (ssoToken && ssoToken.length <= 256) await revokeSsoSession(db.kysely, sha256(ssoToken), at());
    const target = single(query, 'post_logout_redirect_uri');
    if (!target) return { kind: 'signedOut' };
    const registered = await isRegisteredForAnyApplication(
      db.kysely,
      tenant.id,
      builtinApplications.map((app) => app.appId),
      target,
      origins,
    );
    if (!registered)
      return {
        kind: 'error',
        error: new RekeyError(Codes.PostLogoutRedirectUriNotRegistered, {
          details: { post_logout_redirect_uri: target },
        }),
      };
    const url = new URL(target);
    const state = single(query, 'state');
    if (state !== undefined) url.searchParams.set('state', state);
    return { kind: 'redirect', location: url.toString() };
  }

  return { authorize, submitCredentials, submitPasswordChange, logout };
}
