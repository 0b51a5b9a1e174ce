import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/audit-service.js';
import { type LockDescription, lockLogDetails } from '../lockout/lockout-policy.js';
import type { LockoutService } from '../lockout/lockout-service.js';
import { storeRehashedPassword } from '../passwords/credential-service.js';
import { federationOwningPassword } from '../passwords/password-eligibility.js';
import type { PasswordPolicyService } from '../passwords/password-policy-service.js';
import type { Clock } from '../platform/clock.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import type { Db } from '../platform/db/database.js';
import type { Database, UserRow } from '../platform/db/schema.js';
import { Codes, type ErrorCode } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { recordSignIn } from '../sign-ins/sign-in-log-service.js';
import { assertTenantSegment } from '../tenant/tenant-resolver.js';
import { findClientApplication, type TenantRecord } from '../tenant/tenant-service.js';
import { findLiveUser, findUserForPasswordCheck } from '../users/user-service.js';
import { type AccessTokenClaims, grantedScopes, type TokenIssuer } from './access-token.js';
import { toClientInfo, toResponseScope } from './auth-mapper.js';
import { findAuthorizationCode, redeemAuthorizationCode } from './browser-sign-in-store.js';
import type { CredentialSubject, PasswordCheck, PasswordCheckResult } from './password-check.js';
import {
  findRefreshTokenForGrant,
  insertRefreshToken,
  insertTokenFamily,
  revokeTokenFamily,
  spendRefreshToken,
} from './refresh-token-store.js';
import { answeredOutcome, type SignInErrorDisclosure } from './sign-in-disclosure.js';

export interface TokenResponse {
  readonly token_type: 'Bearer';
  readonly scope: string;
  readonly expires_in: number;
  readonly ext_expires_in: number;
  readonly access_token: string;
  readonly refresh_token: string;
  readonly id_token?: string;
  /** Only when asked with `client_info=1`: who signed in, for the client's account cache. */
  readonly client_info?: string;
  /**
   * Only while the password is in the expiry warning window: seconds until it expires, and where
   * to change it. Named after the `pwd_exp` / `pwd_url` claims Entra and AD FS issue for the same
   * purpose; OAuth clients ignore response fields they do not know (RFC 6749 §5.1).
   */
  readonly pwd_exp?: number;
  readonly pwd_url?: string;
}

export interface PasswordGrant {
  readonly tenant: string;
  readonly clientId: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly scope: string | undefined;
  /** `client_info=1`: the client wants `client_info` in the answer. */
  readonly clientInfo?: boolean;
}

export interface RefreshGrant {
  readonly tenant: string;
  readonly clientId: string | undefined;
  readonly refreshToken: string | undefined;
  readonly scope: string | undefined;
  /** `client_info=1`: the client wants `client_info` in the answer. */
  readonly clientInfo?: boolean;
}

export interface AuthorizationCodeGrant {
  readonly tenant: string;
  readonly clientId: string | undefined;
  readonly code: string | undefined;
  readonly redirectUri: string | undefined;
  readonly codeVerifier: string | undefined;
  readonly scope: string | undefined;
  /** `client_info=1`: the client wants `client_info` in the answer. */
  readonly clientInfo?: boolean;
}

/** A password checked at Rekey's sign-in page (the browser flow). */
export interface BrowserCredentials {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
}

/** What the sign-in page does next after a right password. */
export type BrowserSignInResult =
  | { readonly outcome: 'signedIn'; readonly user: UserRow }
  /** The password is right but expired or to be changed: the page asks for a new one first. */
  | { readonly outcome: 'passwordChangeRequired'; readonly user: UserRow };

export interface SignInServiceDeps {
  readonly db: Db;
  readonly tenant: TenantRecord;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly tokens: TokenIssuer;
  readonly accessTokenLifetimeSeconds: number;
  readonly refreshTokenLifetimeSeconds: number;
  /** Password expiry under the tenant's policy (maximumAgeDays, DisablePasswordExpiration). */
  readonly passwordPolicy: Pick<PasswordPolicyService, 'expiryOf'>;
  /** Rekey's public URL, for `pwd_url`. */
  readonly publicUrl: string;
  /** False only when measuring what the sign-in log costs (`REKEY_SIGN_IN_LOG=off`). */
  readonly signInLog?: boolean;
  /** The one password check, with smart lockout in front of it. */
  readonly checkPassword: PasswordCheck;
  /** Smart lockout: remembers the networks a user signs in from. */
  readonly lockout: Pick<LockoutService, 'rememberNetwork'>;
  /** The tenant's `signInErrorDisclosure` setting, read at each refused sign-in. */
  readonly signInErrorDisclosure: () => Promise<SignInErrorDisclosure>;
}

/** What an attempt found out, for its sign-in log row. */
interface AttemptFindings {
  user: UserRow | undefined;
  /** The smart lockout that refused the attempt (only the log, read by administrators, says which). */
  lock?: LockDescription;
  /** What the log row's additional details say instead of the error's first remediation step. */
  details?: string;
  /**
   * The true reason, when the caller was answered another one (`signInErrorDisclosure: uniform`):
   * the log keeps the true reason, and says what the caller was told.
   */
  trueError?: RekeyError;
  /** Writes the success row inside the transaction that stores the new session (see issue). */
  logSuccess?: (trx: Kysely<Database>) => Promise<void>;
  /** Set once the success row is written with the session. */
  successLogged?: boolean;
}

/** The sign-in answer to each way a password check can fail. */
const signInRefusals = {
  unknownUser: Codes.UserAccountNotFound,
  noPassword: Codes.InvalidUserNameOrPassword,
  wrongPassword: Codes.InvalidUserNameOrPassword,
  locked: Codes.IdsLocked,
} as const satisfies Record<
  Exclude<PasswordCheckResult<CredentialSubject>['outcome'], 'verified' | 'onPremisesRefused'>,
  ErrorCode
>;

/** How a resource-owner password sign-in appears in the sign-in log. */
const clientAppUsed = 'Mobile Apps and Desktop clients';
/** How a sign-in at Rekey's own sign-in page appears in the sign-in log. */
const browserClientApp = 'Browser';

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export type SignInService = ReturnType<typeof createSignInService>;

/** A password check that passed: the account, whether a directory checked it, the lockout attempt. */
type Verified = Extract<
  PasswordCheckResult<UserRow & { readonly password_hash: string | null }>,
  { outcome: 'verified' }
>;

/** The token endpoint's logic: password and refresh-token grants, each logged as one sign-in event. */
export function createSignInService(deps: SignInServiceDeps) {
  const { db, tenant, hasher, clock, tokens } = deps;

  const resolveTenant = (segment: string) => assertTenantSegment(db, tenant, segment);

  async function resolveClient(clientId: string | undefined) {
    if (!clientId)
      throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'client_id' } });
    const app = await findClientApplication(db.kysely, tenant.id, clientId);
    if (!app)
      throw new RekeyError(Codes.UnauthorizedClient_DoesNotMatchRequest, {
        details: { client_id: clientId },
      });
    return app;
  }

  /**
   * Opens a session: signs the tokens, then stores the refresh token and, through `found`, the
   * sign-in row in one transaction. One commit per successful sign-in instead of two (each waits
   * for PostgreSQL's WAL flush), and never a session without its row in the log. A password
   * sign-in opens a token family (`family` undefined); a refresh continues the family it names.
   */
  async function issue(
    user: UserRow,
    appId: string,
    asked: { readonly scope: string | undefined; readonly clientInfo?: boolean },
    found: AttemptFindings,
    family?: string,
    opening?: { readonly familyId: string; readonly nonce: string | null },
  ): Promise<TokenResponse> {
    const now = clock.now();
    const familyId = family ?? opening?.familyId ?? randomUUID();
    const claims: AccessTokenClaims = {
      userId: user.id,
      tenantId: tenant.id,
      userPrincipalName: user.user_principal_name,
      displayName: user.display_name,
      appId,
      sessionVersion: user.session_version,
      familyId,
    };
    const refreshToken = randomBytes(32).toString('base64url');
    const wantsIdToken = (asked.scope ?? '').split(/\s+/).includes('openid');
    const response: TokenResponse = {
      token_type: 'Bearer',
      scope: toResponseScope(grantedScopes, asked.scope),
      expires_in: deps.accessTokenLifetimeSeconds,
      ext_expires_in: deps.accessTokenLifetimeSeconds,
      access_token: await tokens.issueAccessToken(claims, deps.accessTokenLifetimeSeconds),
      refresh_token: refreshToken,
      ...(wantsIdToken
        ? {
            id_token: await tokens.issueIdToken(
              claims,
              deps.accessTokenLifetimeSeconds,
              opening?.nonce ? { nonce: opening.nonce } : {},
            ),
          }
        : {}),
      ...(asked.clientInfo ? { client_info: toClientInfo(user.id, tenant.id) } : {}),
    };
    await db.kysely.transaction().execute(async (trx) => {
      if (family === undefined)
        await insertTokenFamily(trx, { id: familyId, userId: user.id, at: now.toISOString() });
      await insertRefreshToken(trx, {
        id: randomUUID(),
        user_id: user.id,
        client_id: appId,
        token_hash: sha256(refreshToken),
        session_version: user.session_version,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + deps.refreshTokenLifetimeSeconds * 1000).toISOString(),
        revoked_at: null,
        family_id: familyId,
      });
      await found.logSuccess?.(trx);
    });
    found.successLogged = found.logSuccess !== undefined;
    return response;
  }

  async function record(
    into: Kysely<Database>,
    context: RequestContext,
    attempt: {
      readonly upn: string;
      readonly user: UserRow | undefined;
      readonly appId: string;
      readonly appName: string | null;
      readonly interactive: boolean;
      /** The sign-in log's clientAppUsed; the password grant's unless given. */
      readonly clientApp?: string | undefined;
      readonly error: RekeyError | undefined;
      readonly lock?: LockDescription | undefined;
      readonly details?: string | undefined;
      /** The code the caller was answered, when it is not the logged reason's. */
      readonly answered?: number | undefined;
    },
  ): Promise<void> {
    if (deps.signInLog === false) return;
    const details = attempt.lock
      ? `${lockLogDetails(attempt.lock)}${attempt.details === undefined ? '' : ` ${attempt.details}`}`
      : attempt.details !== undefined
        ? attempt.details
        : attempt.error
          ? (attempt.error.entry.remediation[0] ?? null)
          : null;
    const answeredNote =
      attempt.answered === undefined
        ? undefined
        : `The caller was answered AADSTS${attempt.answered} (signInErrorDisclosure is uniform).`;
    await recordSignIn(
      into,
      {
        tenant_id: tenant.id,
        created_at: clock.now().toISOString(),
        user_id: attempt.user?.id ?? null,
        user_principal_name: attempt.user?.user_principal_name ?? attempt.upn,
        user_display_name: attempt.user?.display_name ?? null,
        app_id: attempt.appId,
        app_display_name: attempt.appName,
        client_app_used: attempt.clientApp ?? clientAppUsed,
        ip_address: context.ipAddress,
        user_agent: context.userAgent?.slice(0, 512) ?? null,
        correlation_id: context.correlationId,
        is_interactive: attempt.interactive ? 1 : 0,
        error_code: attempt.error?.code ?? 0,
        failure_reason: attempt.error?.message ?? null,
        additional_details:
          answeredNote === undefined
            ? details
            : details === null
              ? answeredNote
              : `${details} ${answeredNote}`,
      },
      { lockedNow: attempt.lock?.lockedByThisAttempt === true },
    );
  }

  /** Runs `attempt`, logging one sign-in event whatever happens, and rethrowing failures. */
  async function logged<T>(
    context: RequestContext,
    base: {
      upn: string;
      appId: string;
      appName: string | null;
      interactive: boolean;
      clientApp?: string;
    },
    attempt: (found: AttemptFindings) => Promise<T>,
  ): Promise<T> {
    const found: AttemptFindings = { user: undefined };
    found.logSuccess = (trx) => record(trx, context, { ...base, user: found.user, error: undefined });
    try {
      const result = await attempt(found);
      if (!found.successLogged)
        await record(db.kysely, context, { ...base, user: found.user, error: undefined });
      return result;
    } catch (error) {
      const rekeyError =
        error instanceof RekeyError ? error : new RekeyError(Codes.InternalError, { cause: error });
      await record(db.kysely, context, {
        ...base,
        user: found.user,
        error: found.trueError ?? rekeyError,
        lock: found.lock,
        details: found.details,
        answered: found.trueError === undefined ? undefined : rekeyError.code,
      });
      throw error;
    }
  }

  function fail(code: ErrorCode): never {
    throw new RekeyError(code);
  }

  /** The expiry of `user`'s password, from `lastPasswordChangeDateTime`. */
  function expiryOf(user: UserRow) {
    return deps.passwordPolicy.expiryOf({
      passwordPolicies: user.password_policies,
      lastPasswordChangeDateTime: user.last_password_change_at,
    });
  }

  /**
   * Checks a user name and password for a sign-in, through the one password check and its smart
   * lockout, and refuses what any sign-in refuses (federated domain, wrong password, lock,
   * disabled account). The caller decides what an expired or to-be-changed password means. With
   * `allowExpiredOnPremises`, a synced user whose directory says the (right) password expired is
   * returned as `onPremisesExpired` instead of refused, for the sign-in page's change step.
   */
  async function checkSignInPassword(
    context: RequestContext,
    upn: string,
    password: string,
    found: AttemptFindings,
    allowExpiredOnPremises: boolean,
  ): Promise<{ readonly user: UserRow; readonly onPremisesExpired: boolean; readonly verified?: Verified }> {
    const candidate =
      upn.length <= 113 ? await findUserForPasswordCheck(db.kysely, tenant.id, { upn }) : undefined;
    found.user = candidate;
    // A federated domain's users sign in at its identity provider. Rekey answers what Entra
    // answers a password grant it cannot check there (50126), for any name in the domain, known
    // or not, after the same hashing time: the answer tells nobody who exists.
    const federation = await federationOwningPassword(db.kysely, tenant.id, upn, candidate);
    if (federation) {
      await deps.checkPassword(undefined, password, context.ipAddress);
      const signInPage = federation.passive_sign_in_uri ?? "the federation's identity provider";
      found.details = `The domain ${federation.domain_name} is federated with ${federation.display_name}: its users sign in at ${signInPage}. Rekey checks no password of this user (not synced from a connector that writes passwords back).`;
      throw new RekeyError(Codes.InvalidUserNameOrPassword, {
        message: `${upn} is in ${federation.domain_name}, a federated domain: sign in with its identity provider (${signInPage}), not with a password here.`,
        details: {
          domain: federation.domain_name,
          passiveSignInUri: federation.passive_sign_in_uri,
          passwordResetUri: federation.password_reset_uri,
        },
      });
    }
    const checked = await deps.checkPassword(candidate, password, context.ipAddress, context.correlationId);
    if (checked.outcome === 'onPremisesRefused') {
      // The directory's own answer (pass-through): expired 50144, locked on-premises 50053,
      // unreachable 80001 or 80002. The log keeps what the directory said.
      found.details = `The on-premises directory refused the sign-in: ${checked.onPremisesCause}.`;
      // The directory said the password is right but expired: the sign-in page can change it.
      if (
        allowExpiredOnPremises &&
        checked.passwordProven &&
        checked.error.code === Codes.InvalidPasswordExpiredOnPremPassword &&
        candidate !== undefined &&
        candidate.account_enabled === 1
      )
        return { user: candidate, onPremisesExpired: true };
      // A lock is told only as smart lockout's is (sign-in-disclosure.ts): the directory
      // says "locked" whatever the password was.
      if (checked.error.code === Codes.IdsLocked && (await deps.signInErrorDisclosure()) === 'uniform') {
        found.trueError = checked.error;
        fail(Codes.InvalidUserNameOrPassword);
      }
      throw checked.error;
    }
    if (checked.outcome !== 'verified') {
      // The log names the account only where one with a password was tried.
      if (checked.outcome === 'unknownUser' || checked.outcome === 'noPassword') found.user = undefined;
      if (checked.outcome === 'locked') {
        found.lock = checked.lock;
        // The help desk's first question: did the user know the password?
        found.details = checked.passwordMatched
          ? 'The password given was right.'
          : 'The password given was wrong.';
      }
      // A disabled account is told only to a caller with the right password (below), in
      // every mode; the log says it for the help desk.
      if (checked.outcome === 'wrongPassword' && candidate !== undefined && candidate.account_enabled !== 1)
        found.details =
          'The password was wrong. The account is also disabled (AADSTS50057), which only a caller with the right password is told.';
      const trueCode = signInRefusals[checked.outcome];
      const answered = signInRefusals[answeredOutcome(await deps.signInErrorDisclosure(), checked)];
      if (answered !== trueCode) found.trueError = new RekeyError(trueCode);
      fail(answered);
    }
    const user = checked.subject;
    // Account state is revealed only to someone who knows the password.
    if (user.account_enabled !== 1) fail(Codes.UserDisabled);
    return { user, onPremisesExpired: false, verified: checked };
  }

  /** After a right password that opens a session: rehash if due, remember the network. */
  async function completePasswordSignIn(password: string, verified: Verified): Promise<void> {
    const user = verified.subject;
    // A directory-checked password is not stored: nothing to rehash (and a bind refreshes no hash).
    if (!verified.passThrough && user.password_hash !== null && hasher.needsRehash(user.password_hash)) {
      await storeRehashedPassword(db.kysely, user.id, user.password_hash, await hasher.hash(password));
    }
    await deps.lockout.rememberNetwork(verified.attempt);
  }

  /** The resource-owner password grant. */
  async function signInWithPassword(context: RequestContext, grant: PasswordGrant): Promise<TokenResponse> {
    await resolveTenant(grant.tenant);
    const app = await resolveClient(grant.clientId);
    const upn = grant.username?.trim() ?? '';
    if (!upn) throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'username' } });
    if (!grant.password)
      throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'password' } });
    const password = grant.password;
    return logged(
      context,
      { upn, appId: app.appId, appName: app.displayName, interactive: true },
      async (found) => {
        const { user, verified } = await checkSignInPassword(context, upn, password, found, false);
        if (!verified) return fail(Codes.InvalidPasswordExpiredOnPremPassword);
        if (user.force_change_password_next_sign_in === 1) fail(Codes.InvalidPasswordExpiredPassword);
        // Past the maximum age the password still proves who this is, but no longer opens a
        // session: the user changes it at /{tenant}/password/change, as for a forced change.
        const expiry = await expiryOf(user);
        if (expiry.expired) fail(Codes.InvalidPasswordExpiredPassword);
        await completePasswordSignIn(password, verified);
        const response = await issue(user, app.appId, grant, found);
        if (!expiry.inWarningWindow || expiry.expiresAt === null) return response;
        return {
          ...response,
          pwd_exp: Math.max(0, Math.floor((Date.parse(expiry.expiresAt) - clock.now().getTime()) / 1000)),
          pwd_url: `${deps.publicUrl}/${encodeURIComponent(grant.tenant)}/password/change`,
        };
      },
    );
  }

  /**
   * A user name and password posted to Rekey's sign-in page, for the application `clientId`:
   * the same check, lockout and log as the password grant (the log row says `Browser`). A right
   * password that is expired or must be changed is logged as 50055, as Entra logs the interrupt,
   * and answered `passwordChangeRequired`: the page asks for a new password before any session.
   */
  async function signInAtSignInPage(
    context: RequestContext,
    credentials: BrowserCredentials,
  ): Promise<BrowserSignInResult> {
    const app = await resolveClient(credentials.clientId);
    const upn = credentials.username.trim();
    if (!upn) throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'username' } });
    if (!credentials.password)
      throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'password' } });
    const password = credentials.password;
    let mustChange: UserRow | undefined;
    try {
      return await logged(
        context,
        { upn, appId: app.appId, appName: app.displayName, interactive: true, clientApp: browserClientApp },
        async (found) => {
          const { user, verified, onPremisesExpired } = await checkSignInPassword(
            context,
            upn,
            password,
            found,
            true,
          );
          if (onPremisesExpired || !verified) {
            mustChange = user;
            found.details = `${found.details ?? ''} The sign-in page asked for a new password.`.trim();
            throw new RekeyError(Codes.InvalidPasswordExpiredOnPremPassword);
          }
          const forced = user.force_change_password_next_sign_in === 1;
          if (forced || (await expiryOf(user)).expired) {
            mustChange = user;
            found.details = forced
              ? 'The password is right but must be changed at the next sign-in: the sign-in page asked for a new one.'
              : 'The password is right but has expired: the sign-in page asked for a new one.';
            fail(Codes.InvalidPasswordExpiredPassword);
          }
          await completePasswordSignIn(password, verified);
          return { outcome: 'signedIn', user } as const;
        },
      );
    } catch (error) {
      if (mustChange !== undefined) return { outcome: 'passwordChangeRequired', user: mustChange };
      throw error;
    }
  }

  /**
   * Logs the sign-in that the sign-in page completed after its password change step, or that an
   * SSO session answered without a page (non-interactive), as one sign-in event.
   */
  async function recordBrowserSignIn(
    context: RequestContext,
    user: UserRow,
    clientId: string,
    interactive: boolean,
  ): Promise<void> {
    const app = await resolveClient(clientId);
    await record(db.kysely, context, {
      upn: user.user_principal_name,
      user,
      appId: app.appId,
      appName: app.displayName,
      interactive,
      clientApp: browserClientApp,
      error: undefined,
    });
  }

  /**
   * The authorization-code grant: redeems a code from the authorize endpoint once, with its PKCE
   * verifier, for the client and redirect URI it was issued to. A code presented again revokes
   * the tokens it was redeemed for (RFC 6749 §4.1.2) and is refused with 54005.
   */
  async function signInWithAuthorizationCode(
    context: RequestContext,
    grant: AuthorizationCodeGrant,
  ): Promise<TokenResponse> {
    await resolveTenant(grant.tenant);
    const app = await resolveClient(grant.clientId);
    if (!grant.code) throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'code' } });
    if (!grant.redirectUri)
      throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'redirect_uri' } });
    const codeHash = sha256(grant.code);
    const stored = await findAuthorizationCode(db.kysely, codeHash);
    if (!stored || stored.tenant_id !== tenant.id || stored.client_id !== app.appId)
      throw new RekeyError(Codes.InvalidGrant, {
        message: 'The authorization code is unknown to Rekey or was issued to another client.',
      });
    const now = clock.now().toISOString();
    if (stored.redeemed_at !== null)
      return refuseCodeReuse(context, stored.user_id, app.appId, stored.family_id);
    if (stored.redirect_uri !== grant.redirectUri)
      throw new RekeyError(Codes.InvalidGrant, {
        message: 'The redirect_uri differs from the one of the authorize request that issued the code.',
      });
    if (stored.code_challenge !== null) {
      if (!grant.codeVerifier)
        throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'code_verifier' } });
      // RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge; compared in constant time.
      const computed = Buffer.from(createHash('sha256').update(grant.codeVerifier).digest('base64url'));
      const expected = Buffer.from(stored.code_challenge);
      if (computed.length !== expected.length || !timingSafeEqual(computed, expected))
        throw new RekeyError(Codes.InvalidCodeVerifier);
    }
    if (stored.expires_at <= now) throw new RekeyError(Codes.ExpiredOrRevokedGrant);
    const familyId = randomUUID();
    if (!(await redeemAuthorizationCode(db.kysely, codeHash, familyId, now)))
      return refuseCodeReuse(context, stored.user_id, app.appId, null);
    const user = await findLiveUser(db.kysely, tenant.id, { id: stored.user_id });
    // The user's sessions were revoked (password change, reset, disable) since the sign-in.
    if (user?.account_enabled !== 1 || user.session_version !== stored.session_version)
      throw new RekeyError(Codes.ExpiredOrRevokedGrant);
    return issue(
      user,
      app.appId,
      { scope: stored.scope ?? grant.scope, ...(grant.clientInfo ? { clientInfo: true } : {}) },
      { user },
      undefined,
      { familyId, nonce: stored.nonce },
    );
  }

  /** A code presented again: revokes the family it was redeemed into, audits it, answers 54005. */
  async function refuseCodeReuse(
    context: RequestContext,
    userId: string,
    appId: string,
    familyId: string | null,
  ): Promise<never> {
    const user = await findLiveUser(db.kysely, tenant.id, { id: userId });
    if (familyId !== null && user) {
      const at = clock.now().toISOString();
      await db.kysely.transaction().execute(async (trx) => {
        if (!(await revokeTokenFamily(trx, familyId, at))) return;
        await recordAudit(
          trx,
          tenant.id,
          context,
          {
            activity: 'revokeTokenFamilyOnReuse',
            result: 'success',
            resultReason: 'An authorization code was presented again; every token issued for it was revoked.',
            targets: [
              { id: user.id, displayName: user.display_name, userPrincipalName: user.user_principal_name },
            ],
            additionalDetails: [
              { key: 'tokenFamilyId', value: familyId },
              { key: 'appId', value: appId },
            ],
          },
          at,
        );
      });
    }
    throw new RekeyError(Codes.AuthorizationCodeAlreadyRedeemed);
  }

  /** The refresh-token grant: rotates the refresh token; refused once sessions were revoked. */
  async function signInWithRefreshToken(
    context: RequestContext,
    grant: RefreshGrant,
  ): Promise<TokenResponse> {
    await resolveTenant(grant.tenant);
    const app = await resolveClient(grant.clientId);
    if (!grant.refreshToken)
      throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'refresh_token' } });
    const tokenHash = sha256(grant.refreshToken);
    const stored = await findRefreshTokenForGrant(db.kysely, tokenHash);
    if (!stored || stored.client_id !== app.appId) throw new RekeyError(Codes.InvalidGrant);
    const user = await findLiveUser(db.kysely, tenant.id, { id: stored.user_id });
    return logged(
      context,
      {
        upn: user?.user_principal_name ?? '',
        appId: app.appId,
        appName: app.displayName,
        interactive: false,
      },
      async (found) => {
        found.user = user;
        // Deleting the account ended its sessions, as a password change does: the same answer.
        if (!user) fail(Codes.FreshTokenNeeded);
        // While the account is disabled, signing in again would not help: say why.
        if (user.account_enabled !== 1) fail(Codes.UserDisabled);
        const now = clock.now().toISOString();
        if (stored.expires_at <= now || stored.session_version !== user.session_version) {
          fail(Codes.FreshTokenNeeded);
        }
        const familyId = stored.family_id ?? stored.id;
        // A spent token presented again: it was copied, or the client lost track. Either way the
        // family goes (RFC 9700 §4.14.2), since which of the two holders is genuine is unknown.
        if (stored.revoked_at !== null) await refuseReuse(context, user, app.appId, familyId, found);
        // An expired password also ends the sessions it opened: no refresh until it is changed.
        if ((await expiryOf(user)).expired) fail(Codes.InvalidPasswordExpiredPassword);
        // Rotation: the old refresh token is spent; a second request racing with the same token
        // finds it spent, which is reuse as well.
        if (!(await spendRefreshToken(db.kysely, stored.id, now))) {
          await refuseReuse(context, user, app.appId, familyId, found);
        }
        return issue(user, app.appId, grant, found, familyId);
      },
    );
  }

  /**
   * Revokes the family of a replayed refresh token and refuses the grant with 50173. The first
   * replay writes an audit row with the revocation (one transaction); every replay is in the
   * sign-in log, whose row says what happened.
   */
  async function refuseReuse(
    context: RequestContext,
    user: UserRow,
    appId: string,
    familyId: string,
    found: AttemptFindings,
  ): Promise<never> {
    const at = clock.now().toISOString();
    const revokedNow = await db.kysely.transaction().execute(async (trx) => {
      const revoked = await revokeTokenFamily(trx, familyId, at);
      if (revoked) {
        await recordAudit(
          trx,
          tenant.id,
          context,
          {
            activity: 'revokeTokenFamilyOnReuse',
            result: 'success',
            resultReason:
              'A spent refresh token was presented again; every token of its sign-in session was revoked.',
            targets: [
              { id: user.id, displayName: user.display_name, userPrincipalName: user.user_principal_name },
            ],
            additionalDetails: [
              { key: 'tokenFamilyId', value: familyId },
              { key: 'appId', value: appId },
            ],
          },
          at,
        );
      }
      return revoked;
    });
    found.details = revokedNow
      ? 'A spent refresh token was presented again: every token of its sign-in session was revoked.'
      : 'The refresh token belongs to a sign-in session revoked after one of its refresh tokens was presented twice.';
    return fail(Codes.FreshTokenNeeded);
  }

  return {
    signInWithPassword,
    signInWithRefreshToken,
    signInWithAuthorizationCode,
    signInAtSignInPage,
    recordBrowserSignIn,
  };
}
