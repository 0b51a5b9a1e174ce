import formBody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { clientCorrelationId } from '../platform/http/correlation.js';
import { graphErrorResponses, oauthErrorResponses } from '../platform/http/response-schemas.js';
import { toOpenIdConfiguration } from './auth-mapper.js';
import { jwksSchema, openIdConfigurationSchema, tokenResponseSchema } from './auth-schemas.js';
import { contextOf } from './guard.js';
import type { SignInService } from './sign-in-service.js';
import type { KeyRing } from './signing-keys.js';

const tokenBody = Type.Record(Type.String(), Type.String());
const tenantParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 256 }) });

/**
 * Both paths Entra serves its discovery document at: MSAL's default (AAD) mode asks for the
 * `v2.0` one, its OIDC mode and openid-client (from the issuer) for the other. Rekey has one
 * issuer, so both answer the same document.
 */
const discoveryPaths = [
  '/:tenant/v2.0/.well-known/openid-configuration',
  '/:tenant/.well-known/openid-configuration',
] as const;

/** The OAuth 2.0 token endpoint, OIDC discovery and JWKS, under `/{tenant}`. */
export function tokenRoutes(deps: {
  readonly signIns: SignInService;
  readonly keyRing: KeyRing;
  readonly issuerFor: (tenant: string) => string;
  readonly publicUrl: string;
  /** Refuses a `{tenant}` segment that names no tenant here (90002). */
  readonly assertTenant: (segment: string) => Promise<void>;
}): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    // The token endpoint takes form posts only, as OAuth 2.0 requires; in this plugin's scope a
    // JSON body is an unsupported media type.
    app.removeContentTypeParser('application/json');
    await app.register(formBody, { bodyLimit: 16 * 1024 });
    // MSAL sends `client-request-id` in the query and the form of a token request, not as a
    // header. The query was read when the request arrived; the form is parsed only now. The same
    // precedence applies, so an ID from a header or the query stays as it was.
    app.addHook('preValidation', async (request, reply) => {
      const supplied = clientCorrelationId(request.headers, { query: request.query, form: request.body });
      if (supplied === undefined || supplied === request.correlationId) return;
      request.correlationId = supplied;
      request.log = request.log.child({ correlationId: supplied });
      reply.log = request.log;
      reply.header('client-request-id', supplied);
    });

    app.post(
      '/:tenant/oauth2/v2.0/token',
      {
        schema: {
          consumes: ['application/x-www-form-urlencoded'],
          params: tenantParams,
          body: tokenBody,
          response: { 200: tokenResponseSchema, ...oauthErrorResponses },
        },
        config: { errorFormat: 'oauth' },
      },
      async (request, reply) => {
        const body = request.body;
        const context = contextOf(request);
        const tenant = request.params.tenant;
        const clientId = body['client_id'];
        const scope = body['scope'];
        const clientInfo = body['client_info'] === '1';
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        switch (body['grant_type']) {
          case 'password':
            return deps.signIns.signInWithPassword(context, {
              tenant,
              clientId,
              username: body['username'],
              password: body['password'],
              scope,
              clientInfo,
            });
          case 'authorization_code':
            return deps.signIns.signInWithAuthorizationCode(context, {
              tenant,
              clientId,
              code: body['code'],
              redirectUri: body['redirect_uri'],
              codeVerifier: body['code_verifier'],
              scope,
              clientInfo,
            });
          case 'refresh_token':
            return deps.signIns.signInWithRefreshToken(context, {
              tenant,
              clientId,
              refreshToken: body['refresh_token'],
              scope,
              clientInfo,
            });
          case undefined:
            throw new RekeyError(Codes.InvalidRequestParameter, { details: { parameter: 'grant_type' } });
          default:
            throw new RekeyError(Codes.UnsupportedGrantType, { details: { grant_type: body['grant_type'] } });
        }
      },
    );

    app.get(
      '/:tenant/discovery/v2.0/keys',
      { schema: { params: tenantParams, response: { 200: jwksSchema, ...graphErrorResponses } } },
      async () => deps.keyRing.publicJwks(),
    );

    for (const path of discoveryPaths) {
      app.get(
        path,
        {
          schema: {
            params: tenantParams,
            response: { 200: openIdConfigurationSchema, ...oauthErrorResponses },
          },
          // Discovery is read by OAuth clients: an unknown tenant answers as the token endpoint does.
          config: { errorFormat: 'oauth' },
        },
        async (request) => {
          // Only a segment that names this tenant may appear inside the document's URLs.
          await deps.assertTenant(request.params.tenant);
          return toOpenIdConfiguration({
            publicUrl: deps.publicUrl,
            tenant: request.params.tenant,
            issuer: deps.issuerFor(request.params.tenant),
          });
        },
      );
    }
  };
}
