import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses, noContent } from '../platform/http/response-schemas.js';
import { directoryReaderRoles } from '../users/authorization.js';
import { toApplicationCollection, toApplicationEntity } from './application-mapper.js';
import {
  applicationCollectionSchema,
  applicationEntitySchema,
  updateApplicationBody,
} from './application-schemas.js';
import type { ApplicationService } from './application-service.js';

const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) });

/**
 * Graph's /v1.0/applications, for the redirect URIs of the browser sign-in (docs/sign-in.md):
 * directory readers list and read them; only a Global Administrator changes them (Rekey has no
 * Application Administrator role).
 */
export function applicationRoutes(deps: {
  readonly guard: AuthGuard;
  readonly applications: ApplicationService;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  const { guard, applications, publicUrl } = deps;
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/v1.0/applications',
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { response: { 200: applicationCollectionSchema, ...graphErrorResponses } },
      },
      async () => toApplicationCollection(await applications.listApplications(), publicUrl),
    );

    app.get(
      '/v1.0/applications/:id',
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { params: idParams, response: { 200: applicationEntitySchema, ...graphErrorResponses } },
      },
      async (request) => toApplicationEntity(await applications.getApplication(request.params.id), publicUrl),
    );

    app.patch(
      '/v1.0/applications/:id',
      {
        preHandler: guard.requireRole(['Global Administrator'], 'updateApplication'),
        schema: {
          params: idParams,
          body: updateApplicationBody,
          response: { 204: noContent, ...graphErrorResponses },
        },
      },
      async (request, reply) => {
        await applications.updateRedirectUris(contextOf(request), request.params.id, request.body);
        return reply.status(204).send();
      },
    );
  };
}
