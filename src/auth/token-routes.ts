import formBody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses, oauthErrorResponses } from '../platform/http/response-schemas.js';
import { toOpenIdConfiguration } from './auth-mapper.js';
import { jwksSchema, openIdConfigurationSchema, tokenResponseSchema } from './auth-schemas.js';
import { contextOf } from './guard.js';
import type { SignInService } from './sign-in-service.js';
import type { KeyRing } from './signing-keys.js';

const tokenBody = Type.Record(Type.String(), Type.String());
const tenantParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 256 }) });

/** The OAuth 2.0 token endpoint, OIDC discovery and JWKS, under `/{tenant}`. */
export function tokenRoutes(deps: {
  readonly signIns: SignInService;
  readonly keyRing: KeyRing;
  readonly issuerFor: (tenant: string) => string;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    // The token endpoint takes form posts only, as OAuth 2.0 requires; in this plugin's scope a
    // JSON body is an unsupported media type.
    app.removeContentTypeParser('application/json');
    await app.register(formBody, { bodyLimit: 16 * 1024 });

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
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        switch (body['grant_type']) {
          case 'password':
            return deps.signIns.signInWithPassword(context, {
              tenant,
              clientId,
              username: body['username'],
              password: body['password'],
              scope,
            });
          case 'refresh_token':
            return deps.signIns.signInWithRefreshToken(context, {
              tenant,
              clientId,
              refreshToken: body['refresh_token'],
              scope,
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

    app.get(
      '/:tenant/v2.0/.well-known/openid-configuration',
      {
        schema: {
          params: tenantParams,
          response: { 200: openIdConfigurationSchema, ...graphErrorResponses },
        },
      },
      async (request) =>
        toOpenIdConfiguration({
          publicUrl: deps.publicUrl,
          tenant: request.params.tenant,
          issuer: deps.issuerFor(request.params.tenant),
        }),
    );
  };
}
