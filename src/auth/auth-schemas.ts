import { type Static, Type } from 'typebox';
import { responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * What the token endpoint, OIDC discovery and the JWKS answer. The request side is read by the
 * routes (a form body of strings); these are the answers, in OAuth 2.0 / OpenID Connect shapes.
 */

/** A successful token response (RFC 6749 §5.1), with Entra's `ext_expires_in`. */
export const tokenResponseSchema = responseObject(
  {
    token_type: Type.Literal('Bearer'),
    scope: Type.String(),
    expires_in: Type.Integer(),
    ext_expires_in: Type.Integer(),
    access_token: Type.String(),
    refresh_token: Type.String(),
    /** Only when `openid` was in the requested scope. */
    id_token: Type.Optional(Type.String()),
    /** Only when asked with `client_info=1`: base64url JSON with `uid` (the user) and `utid` (the tenant). */
    client_info: Type.Optional(Type.String()),
    /** Only while the password is in its expiry warning window: seconds until it expires. */
    pwd_exp: Type.Optional(Type.Integer()),
    /** Only with `pwd_exp`: where to change the password. */
    pwd_url: Type.Optional(Type.String()),
  },
  'Access and refresh tokens',
);
export type TokenResponseBody = Static<typeof tokenResponseSchema>;

/** One public signing key, as JWK (Rekey's are RSA keys for RS256, each with `kid`, `alg` and `use`). */
export const publicJwkSchema = responseObject({
  kty: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String()),
  kid: Type.Optional(Type.String()),
  alg: Type.Optional(Type.String()),
  use: Type.Optional(Type.String()),
});

/** The JWKS: the public halves of the token signing keys. */
export const jwksSchema = responseObject(
  { keys: responseArray(publicJwkSchema) },
  'Token signing keys (JWKS)',
);
export type Jwks = Static<typeof jwksSchema>;

/** The OpenID Connect discovery document of one tenant segment. */
export const openIdConfigurationSchema = responseObject(
  {
    issuer: Type.String(),
    /** Rekey's sign-in page: the authorization-code flow with PKCE (S256). */
    authorization_endpoint: Type.String(),
    token_endpoint: Type.String(),
    /** Ends the browser's Rekey session; `post_logout_redirect_uri` must be registered. */
    end_session_endpoint: Type.String(),
    jwks_uri: Type.String(),
    grant_types_supported: responseArray(Type.String()),
    response_types_supported: responseArray(Type.String()),
    response_modes_supported: responseArray(Type.String()),
    code_challenge_methods_supported: responseArray(Type.String()),
    subject_types_supported: responseArray(Type.String()),
    id_token_signing_alg_values_supported: responseArray(Type.String()),
    token_endpoint_auth_methods_supported: responseArray(Type.String()),
    scopes_supported: responseArray(Type.String()),
    claims_supported: responseArray(Type.String()),
  },
  'OpenID Connect discovery document',
);
export type OpenIdConfiguration = Static<typeof openIdConfigurationSchema>;
