import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../platform/clock.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { KeyRing } from './signing-keys.js';

/** The audience of access tokens: Microsoft Graph's well-known application id, as SDKs expect. */
export const graphAudience = '00000003-0000-0000-c000-000000000000';

/** The delegated scopes every Rekey access token carries. */
export const grantedScopes =
  'AuditLog.Read.All Directory.AccessAsUser.All User.ReadWrite.All UserAuthenticationMethod.ReadWrite.All openid profile offline_access';

export interface AccessTokenClaims {
  readonly userId: string;
  readonly tenantId: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly appId: string;
  /** The user's session version when the token was issued; a later password change makes it stale. */
  readonly sessionVersion: number;
  /**
   * The refresh-token family the token was issued in (`rk_fam`): replaying a spent refresh token
   * revokes the family, and with it this token. Absent from tokens issued before families existed.
   */
  readonly familyId?: string | undefined;
}

export interface TokenIssuer {
  readonly issuer: string;
  issueAccessToken(claims: AccessTokenClaims, lifetimeSeconds: number): Promise<string>;
  /** The ID token for the client `claims.appId`; `nonce` echoes the authorize request's (OIDC §3.1.2.1). */
  issueIdToken(
    claims: AccessTokenClaims,
    lifetimeSeconds: number,
    extra?: { readonly nonce?: string },
  ): Promise<string>;
  verifyAccessToken(token: string): Promise<AccessTokenClaims & { readonly issuedAt: number }>;
  /**
   * The user an access token Rekey signed was issued to, however long ago it expired and whether
   * or not its session still stands; undefined for anything else. Only to say whose request it
   * was (a capture of a user records the 401s their expired token gets); never to let it in.
   */
  identifyHolder(
    token: string,
  ): Promise<{ readonly userId: string; readonly userPrincipalName: string } | undefined>;
}

/** Issues and verifies RS256 JWTs shaped like Entra's v2 access tokens. */
export function createTokenIssuer(
  keyRing: KeyRing,
  clock: Clock,
  publicUrl: string,
  tenantId: string,
): TokenIssuer {
  const issuer = `${publicUrl}/${tenantId}/v2.0`;

  async function sign(
    payload: Record<string, unknown>,
    audience: string,
    lifetimeSeconds: number,
  ): Promise<string> {
    const { kid, key } = await keyRing.signingKey();
    const now = Math.floor(clock.now().getTime() / 1000);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key);
  }

  function common(claims: AccessTokenClaims): Record<string, unknown> {
    return {
      sub: claims.userId,
      oid: claims.userId,
      tid: claims.tenantId,
      name: claims.displayName,
      preferred_username: claims.userPrincipalName,
      ver: '2.0',
    };
  }

  return {
    issuer,
    issueAccessToken: (claims, lifetime) =>
      sign(
        {
          ...common(claims),
          upn: claims.userPrincipalName,
          azp: claims.appId,
          appid: claims.appId,
          scp: grantedScopes,
          rk_sv: claims.sessionVersion,
          ...(claims.familyId ? { rk_fam: claims.familyId } : {}),
        },
        graphAudience,
        lifetime,
      ),
    issueIdToken: (claims, lifetime, extra = {}) =>
      sign(
        { ...common(claims), ...(extra.nonce === undefined ? {} : { nonce: extra.nonce }) },
        claims.appId,
        lifetime,
      ),
    async identifyHolder(token) {
      try {
        const { kid } = decodeProtectedHeader(token);
        const key = kid ? await keyRing.verificationKey(kid) : undefined;
        if (!key) return undefined;
        // Signature, issuer and audience as verifyAccessToken checks them; expiry and session
        // not, since they are what the holder is being refused for.
        const { payload } = await jwtVerify(token, key, {
          issuer,
          audience: graphAudience,
          algorithms: ['RS256'],
          clockTolerance: Number.MAX_SAFE_INTEGER,
        });
        const { oid, upn } = payload as Record<string, unknown>;
        return typeof oid === 'string' && typeof upn === 'string'
          ? { userId: oid, userPrincipalName: upn }
          : undefined;
      } catch {
        return undefined;
      }
    },
    async verifyAccessToken(token) {
      let kid: string | undefined;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch (error) {
        throw new RekeyError(Codes.InvalidAccessToken, { cause: error });
      }
      // Outside the try: a database failure while loading keys is a 5xx, not a bad token.
      const key = kid ? await keyRing.verificationKey(kid) : undefined;
      try {
        if (!key) throw new Error('unknown signing key');
        const { payload } = await jwtVerify(token, key, {
          issuer,
          audience: graphAudience,
          algorithms: ['RS256'],
          currentDate: clock.now(),
          // jose checks `exp` only when present; a token without one would never expire.
          requiredClaims: ['exp', 'iat'],
        });
        const {
          oid,
          tid,
          upn,
          name,
          azp,
          rk_sv: sessionVersion,
          rk_fam: familyId,
          iat,
        } = payload as Record<string, unknown>;
        if (
          typeof oid !== 'string' ||
          typeof tid !== 'string' ||
          typeof upn !== 'string' ||
          typeof azp !== 'string' ||
          typeof sessionVersion !== 'number' ||
          typeof iat !== 'number' ||
          (familyId !== undefined && typeof familyId !== 'string')
        ) {
          throw new Error('token lacks Rekey claims');
        }
        return {
          userId: oid,
          tenantId: tid,
          userPrincipalName: upn,
          displayName: typeof name === 'string' ? name : upn,
          appId: azp,
          sessionVersion,
          ...(typeof familyId === 'string' ? { familyId } : {}),
          issuedAt: iat,
        };
      } catch (error) {
        throw new RekeyError(Codes.InvalidAccessToken, { cause: error });
      }
    },
  };
}
