import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses, noContent } from '../platform/http/response-schemas.js';
import { connectorAdministrationRoles } from '../users/authorization.js';
import { toConnectorBody } from './connector-mapper.js';
import {
  connectorCallListSchema,
  connectorHealthSchema,
  connectorInputSchema,
  connectorListSchema,
  connectorPatchSchema,
  connectorSchema,
  connectorSyncReportSchema,
  connectorTestReportSchema,
} from './connector-schemas.js';
import type { ConnectorService } from './connector-service.js';

/*
 * `/rekey/v1/connectors`: the tenant's directory connectors, for Global Administrators and Hybrid
 * Identity Administrators only.
 *
 *   POST   /rekey/v1/connectors              create; 201 + Location
 *   GET    /rekey/v1/connectors              list, by display name
 *   GET    /rekey/v1/connectors/{id}         one (the id, or the display name)
 *   PATCH  /rekey/v1/connectors/{id}         change the fields given
 *   DELETE /rekey/v1/connectors/{id}         remove; 204
 *   POST   /rekey/v1/connectors/{id}/test    connect, StartTLS, bind, search: a report per step
 *   POST   /rekey/v1/connectors/{id}/sync    one sync now (`?full=true` reads every user)
 *   GET    /rekey/v1/connectors/{id}/health  calls, success rate, latency, last error and success
 *                                            over the last hour and 24 hours, from the trace
 *   GET    /rekey/v1/operations/{id}/connectorCalls
 *                                            the connector trace of one password operation
 *
 * The create and PATCH bodies are checked by the service (checkConnectorInput), not by the route,
 * so that one 7700001 names every problem, the semantic ones (url, certificate, filter,
 * distinguished names) with the rest. Their schemas are declared for /openapi.json only: those two
 * routes compile no validator (`documentOnly`), and the service receives the body as it came.
 */

/** A validator that accepts anything: the route's schemas document, the service checks. */
const documentOnly = () => () => true;

const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });
const syncQuery = Type.Object({ full: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

/** The connectors API. */
export function connectorRoutes(deps: {
  readonly guard: AuthGuard;
  readonly connectors: ConnectorService;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  const { guard, connectors, publicUrl } = deps;
  const base = '/rekey/v1/connectors';
  const preHandler = guard.requireRole(connectorAdministrationRoles);

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.post(
      base,
      {
        preHandler,
        validatorCompiler: documentOnly,
        schema: { body: connectorInputSchema, response: { 201: connectorSchema, ...graphErrorResponses } },
      },
      async (request, reply) => {
        const created = await connectors.create(contextOf(request), request.body);
        reply.status(201).header('location', `${publicUrl}${base}/${created.id}`);
        return toConnectorBody(created);
      },
    );

    app.get(
      '/rekey/v1/operations/:id/connectorCalls',
      {
        preHandler,
        schema: {
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          response: { 200: connectorCallListSchema, ...graphErrorResponses },
        },
      },
      async (request) => ({ value: await connectors.operationTrace(request.params.id) }),
    );

    app.get(
      base,
      { preHandler, schema: { response: { 200: connectorListSchema, ...graphErrorResponses } } },
      async () => ({ value: (await connectors.list()).map(toConnectorBody) }),
    );

    app.get(
      `${base}/:id`,
      {
        preHandler,
        schema: { params: idParams, response: { 200: connectorSchema, ...graphErrorResponses } },
      },
      async (request) => toConnectorBody(await connectors.get(request.params.id)),
    );

    app.patch(
      `${base}/:id`,
      {
        preHandler,
        validatorCompiler: documentOnly,
        schema: {
          params: idParams,
          body: connectorPatchSchema,
          response: { 200: connectorSchema, ...graphErrorResponses },
        },
      },
      async (request) =>
        toConnectorBody(await connectors.update(contextOf(request), request.params.id, request.body)),
    );

    app.delete(
      `${base}/:id`,
      { preHandler, schema: { params: idParams, response: { 204: noContent, ...graphErrorResponses } } },
      async (request, reply) => {
        await connectors.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.post(
      `${base}/:id/test`,
      {
        preHandler,
        schema: { params: idParams, response: { 200: connectorTestReportSchema, ...graphErrorResponses } },
      },
      async (request) => connectors.test(contextOf(request), request.params.id),
    );

    app.get(
      `${base}/:id/health`,
      {
        preHandler,
        schema: { params: idParams, response: { 200: connectorHealthSchema, ...graphErrorResponses } },
      },
      async (request) => connectors.health(request.params.id),
    );

    app.post(
      `${base}/:id/sync`,
      {
        preHandler,
        schema: {
          params: idParams,
          querystring: syncQuery,
          response: { 200: connectorSyncReportSchema, ...graphErrorResponses },
        },
      },
      async (request) =>
        connectors.sync(contextOf(request), request.params.id, { full: request.query.full === true }),
    );
  };
}
