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
    token_endpoint: `${base}/oauth2/v2.0/token`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    grant_types_supported: ['password', 'refresh_token'],
    response_types_supported: ['token', 'id_token'],
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
    ],
  };
}
