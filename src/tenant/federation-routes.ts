import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses, noContent } from '../platform/http/response-schemas.js';
import { federationAdministrationRoles, federationReaderRoles } from '../users/authorization.js';
import { toFederationCollection, toFederationEntity } from './federation-mapper.js';
import {
  federationCollectionSchema,
  federationEntitySchema,
  federationInputSchema,
} from './federation-schemas.js';
import type { FederationService } from './federation-service.js';

/*
 * Graph's federation of a domain:
 *
 *   GET    /v1.0/domains/{domain}/federationConfiguration         the domain's (none or one)
 *   POST   /v1.0/domains/{domain}/federationConfiguration         federate it; 201 + Location
 *   GET    /v1.0/domains/{domain}/federationConfiguration/{id}    one
 *   PATCH  /v1.0/domains/{domain}/federationConfiguration/{id}    change the settings given; 200
 *   DELETE /v1.0/domains/{domain}/federationConfiguration/{id}    make the domain managed; 204
 *
 * The create and PATCH bodies are checked by the service, so that one 7700001 names every
 * problem; their schema documents only (`documentOnly`, as the connector routes do).
 */

const documentOnly = () => () => true;

const domainParams = Type.Object({ domain: Type.String({ minLength: 1, maxLength: 253 }) });
const federationParams = Type.Object({
  domain: Type.String({ minLength: 1, maxLength: 253 }),
  id: Type.String({ minLength: 1, maxLength: 64 }),
});

export function federationRoutes(deps: {
  readonly guard: AuthGuard;
  readonly federations: FederationService;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  const { guard, federations, publicUrl } = deps;
  const base = '/v1.0/domains/:domain/federationConfiguration';

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      base,
      {
        preHandler: guard.requireRole(federationReaderRoles),
        schema: {
          params: domainParams,
          response: { 200: federationCollectionSchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const rows = await federations.listFederations(request.params.domain);
        return toFederationCollection(request.params.domain.toLowerCase(), rows, publicUrl);
      },
    );

    app.post(
      base,
      {
        preHandler: guard.requireRole(federationAdministrationRoles),
        validatorCompiler: documentOnly,
        schema: {
          params: domainParams,
          body: federationInputSchema,
          response: { 201: federationEntitySchema, ...graphErrorResponses },
        },
      },
      async (request, reply) => {
        const row = await federations.createFederation(
          contextOf(request),
          request.params.domain,
          request.body,
        );
        reply
          .status(201)
          .header(
            'location',
            `${publicUrl}/v1.0/domains/${row.domain_name}/federationConfiguration/${row.id}`,
          );
        return toFederationEntity(row, publicUrl);
      },
    );

    app.get(
      `${base}/:id`,
      {
        preHandler: guard.requireRole(federationReaderRoles),
        schema: {
          params: federationParams,
          response: { 200: federationEntitySchema, ...graphErrorResponses },
        },
      },
      async (request) =>
        toFederationEntity(
          await federations.getFederation(request.params.domain, request.params.id),
          publicUrl,
        ),
    );

    app.patch(
      `${base}/:id`,
      {
        preHandler: guard.requireRole(federationAdministrationRoles),
        validatorCompiler: documentOnly,
        schema: {
          params: federationParams,
          body: federationInputSchema,
          response: { 200: federationEntitySchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const row = await federations.updateFederation(
          contextOf(request),
          request.params.domain,
          request.params.id,
          request.body,
        );
        return toFederationEntity(row, publicUrl);
      },
    );

    app.delete(
      `${base}/:id`,
      {
        preHandler: guard.requireRole(federationAdministrationRoles),
        schema: { params: federationParams, response: { 204: noContent, ...graphErrorResponses } },
      },
      async (request, reply) => {
        await federations.deleteFederation(contextOf(request), request.params.domain, request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
