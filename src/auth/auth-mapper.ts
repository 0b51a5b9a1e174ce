import type { OpenIdConfiguration } from './auth-schemas.js';

/** The OpenID Connect discovery document of the tenant segment `tenant`. */
export function toOpenIdConfiguration(input: {
  readonly publicUrl: string;
  readonly tenant: string;
  readonly issuer: string;
}): OpenIdConfiguration {
  const base = `${input.publicUrl}/${input.tenant}`;
  return {
    issuer: input.issuer,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    grant_types_supported: ['authorization_code', 'refresh_token', 'password'],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['none'],
    scopes_supported: ['openid', 'profile', 'offline_access', 'https://graph.microsoft.com/.default'],
    claims_supported: [
      'sub',
      'oid',
      'tid',
      'iss',
      'aud',
      'iat',
      'nbf',
      'exp',
      'name',
      'preferred_username',
      'upn',
      'nonce',
    ],
  };
}

/** Microsoft Graph's resource URI: scopes asked as `https://graph.microsoft.com/<scope>`. */
const graphResource = 'https://graph.microsoft.com/';

/**
 * The `scope` of a token response: the scopes Rekey grants, then every scope the client asked
 * for that those grants cover (`https://graph.microsoft.com/.default`, or a granted scope written
 * with Graph's resource URI), as the client wrote it. Entra answers `.default` the same way, and
 * MSAL files the access token under this string: a silent call for the same scopes is then served
 * from its cache instead of spending a refresh token. Scopes Rekey does not grant are not named.
 */
export function toResponseScope(granted: string, requested: string | undefined): string {
  const grantedScopes = granted.split(' ');
  const covered = new Set(grantedScopes.map((scope) => scope.toLowerCase()));
  covered.add(`${graphResource}.default`);
  for (const scope of grantedScopes) covered.add(`${graphResource}${scope}`.toLowerCase());
  const answered = new Set(grantedScopes.map((scope) => scope.toLowerCase()));
  const echoed: string[] = [];
  for (const scope of (requested ?? '').split(/\s+/)) {
    const lowered = scope.toLowerCase();
    if (!covered.has(lowered) || answered.has(lowered)) continue;
    answered.add(lowered);
    echoed.push(scope);
  }
  return [...grantedScopes, ...echoed].join(' ');
}

/**
 * The `client_info` of a token response, as Entra sends it when asked with `client_info=1`:
 * base64url JSON naming the user (`uid`, the object id) and their tenant (`utid`). MSAL builds its
 * account id from it (`uid.utid`).
 */
export function toClientInfo(userId: string, tenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: userId, utid: tenantId })).toString('base64url');
}
