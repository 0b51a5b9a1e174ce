import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type LockDescription, lockLogDetails } from '../lockout/lockout-policy.js';
import type { LockoutService } from '../lockout/lockout-service.js';
import { storeRehashedPassword } from '../passwords/credential-service.js';
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
import type { CredentialSubject, PasswordCheck, PasswordCheckResult } from './password-check.js';
import { findRefreshTokenForGrant, insertRefreshToken, spendRefreshToken } from './refresh-token-store.js';

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
}

/** What an attempt found out, for its sign-in log row. */
interface AttemptFindings {
  user: UserRow | undefined;
  /** The smart lockout that refused the attempt (only the log, read by administrators, says which). */
  lock?: LockDescription;
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
  Exclude<PasswordCheckResult<CredentialSubject>['outcome'], 'verified'>,
  ErrorCode
>;

/** How a resource-owner password sign-in appears in the sign-in log. */
const clientAppUsed = 'Mobile Apps and Desktop clients';

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export type SignInService = ReturnType<typeof createSignInService>;

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
   * for PostgreSQL's WAL flush), and never a session without its row in the log.
   */
  async function issue(
    user: UserRow,
    appId: string,
    asked: { readonly scope: string | undefined; readonly clientInfo?: boolean },
    found: AttemptFindings,
  ): Promise<TokenResponse> {
    const now = clock.now();
    const claims: AccessTokenClaims = {
      userId: user.id,
      tenantId: tenant.id,
      userPrincipalName: user.user_principal_name,
      displayName: user.display_name,
      appId,
      sessionVersion: user.session_version,
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
        ? { id_token: await tokens.issueIdToken(claims, deps.accessTokenLifetimeSeconds) }
        : {}),
      ...(asked.clientInfo ? { client_info: toClientInfo(user.id, tenant.id) } : {}),
    };
    await db.kysely.transaction().execute(async (trx) => {
      await insertRefreshToken(trx, {
        id: randomUUID(),
        user_id: user.id,
        client_id: appId,
        token_hash: sha256(refreshToken),
        session_version: user.session_version,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + deps.refreshTokenLifetimeSeconds * 1000).toISOString(),
        revoked_at: null,
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
      readonly error: RekeyError | undefined;
      readonly lock?: LockDescription | undefined;
    },
  ): Promise<void> {
    if (deps.signInLog === false) return;
    await recordSignIn(into, {
      tenant_id: tenant.id,
      created_at: clock.now().toISOString(),
      user_id: attempt.user?.id ?? null,
      user_principal_name: attempt.user?.user_principal_name ?? attempt.upn,
      user_display_name: attempt.user?.display_name ?? null,
      app_id: attempt.appId,
      app_display_name: attempt.appName,
      client_app_used: clientAppUsed,
      ip_address: context.ipAddress,
      user_agent: context.userAgent?.slice(0, 512) ?? null,
      correlation_id: context.correlationId,
      is_interactive: attempt.interactive ? 1 : 0,
      error_code: attempt.error?.code ?? 0,
      failure_reason: attempt.error?.message ?? null,
      additional_details: attempt.lock
        ? lockLogDetails(attempt.lock)
        : attempt.error
          ? (attempt.error.entry.remediation[0] ?? null)
          : null,
    });
  }

  /** Runs `attempt`, logging one sign-in event whatever happens, and rethrowing failures. */
  async function logged<T>(
    context: RequestContext,
    base: { upn: string; appId: string; appName: string | null; interactive: boolean },
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
      await record(db.kysely, context, { ...base, user: found.user, error: rekeyError, lock: found.lock });
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
        const candidate =
          upn.length <= 113 ? await findUserForPasswordCheck(db.kysely, tenant.id, { upn }) : undefined;
        found.user = candidate;
        const checked = await deps.checkPassword(candidate, password, context.ipAddress);
        if (checked.outcome !== 'verified') {
          // The log names the account only where one with a password was tried.
          if (checked.outcome === 'unknownUser' || checked.outcome === 'noPassword') found.user = undefined;
          if (checked.outcome === 'locked') found.lock = checked.lock;
          fail(signInRefusals[checked.outcome]);
        }
        const user = checked.subject;
        // Account state is revealed only to someone who knows the password.
        if (user.account_enabled !== 1) fail(Codes.UserDisabled);
        if (user.force_change_password_next_sign_in === 1) fail(Codes.InvalidPasswordExpiredPassword);
        // Past the maximum age the password still proves who this is, but no longer opens a
        // session: the user changes it at /{tenant}/password/change, as for a forced change.
        const expiry = await expiryOf(user);
        if (expiry.expired) fail(Codes.InvalidPasswordExpiredPassword);
        if (hasher.needsRehash(user.password_hash)) {
          await storeRehashedPassword(db.kysely, user.id, user.password_hash, await hasher.hash(password));
        }
        await deps.lockout.rememberNetwork(checked.attempt);
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
        if (!user) fail(Codes.UserAccountNotFound);
        if (user.account_enabled !== 1) fail(Codes.UserDisabled);
        const now = clock.now().toISOString();
        if (
          stored.revoked_at !== null ||
          stored.expires_at <= now ||
          stored.session_version !== user.session_version
        ) {
          fail(Codes.FreshTokenNeeded);
        }
        // An expired password also ends the sessions it opened: no refresh until it is changed.
        if ((await expiryOf(user)).expired) fail(Codes.InvalidPasswordExpiredPassword);
        // Rotation: the old refresh token is spent; a replayed one finds revoked_at set.
        if (!(await spendRefreshToken(db.kysely, stored.id, now))) fail(Codes.FreshTokenNeeded);
        return issue(user, app.appId, grant, found);
      },
    );
  }

  return { signInWithPassword, signInWithRefreshToken };
}
