import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { odataQueryOf, readOnlyCollectionRoutes } from '../platform/http/read-only-collection.js';
import { graphErrorResponses, noContent } from '../platform/http/response-schemas.js';
import { parseQueryOptions } from '../platform/odata/index.js';
import { directoryReaderRoles } from '../users/authorization.js';
import {
  toCreatedRoleAssignmentEntity,
  toRoleAssignmentCollection,
  toRoleAssignmentEntity,
} from './role-mapper.js';
import { queryInMemory, roleAssignmentsResource, roleDefinitionsResource } from './role-query.js';
import {
  roleAssignmentCollectionSchema,
  roleAssignmentEntitySchema,
  roleDefinitionCollectionSchema,
  roleDefinitionEntitySchema,
} from './role-schemas.js';
import type { RoleService } from './role-service.js';

/*
 * Graph's `/v1.0/roleManagement/directory`: role definitions (readable by every signed-in user,
 * as Entra's default user permissions allow) and role assignments (readable by the directory
 * readers; created and deleted by a Global Administrator or Privileged Role Administrator, which
 * the service checks so that a refused attempt is audited).
 */

const guidPattern = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

/** Graph's POST body; `directoryScopeId` is required, as Graph requires a scope. */
const newAssignmentBody = Type.Object(
  {
    '@odata.type': Type.Optional(Type.Literal('#microsoft.graph.unifiedRoleAssignment')),
    principalId: Type.String({ pattern: guidPattern }),
    roleDefinitionId: Type.String({ pattern: guidPattern }),
    directoryScopeId: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

export interface RoleManagementRoutesDeps {
  readonly guard: AuthGuard;
  readonly roles: RoleService;
  readonly publicUrl: string;
}

/** `/v1.0/roleManagement/directory/roleDefinitions` and `.../roleAssignments`. */
export function roleManagementRoutes(deps: RoleManagementRoutesDeps): FastifyPluginAsync {
  const { guard, roles, publicUrl } = deps;
  const base = '/v1.0/roleManagement/directory';

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    await app.register(
      readOnlyCollectionRoutes(
        {
          path: `${base}/roleDefinitions`,
          contextPath: 'roleManagement/directory/roleDefinitions',
          resource: roleDefinitionsResource,
          preHandler: guard.authenticate,
          schemas: { entity: roleDefinitionEntitySchema, collection: roleDefinitionCollectionSchema },
          list: async (options, count) => {
            const page = queryInMemory(roles.listDefinitions(), options);
            return { ...page, count: count ? page.count : undefined };
          },
          find: async (id) => roles.findDefinition(id),
          toGraph: (definition) => definition,
        },
        publicUrl,
      ),
    );

    app.get(
      `${base}/roleAssignments`,
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { response: { 200: roleAssignmentCollectionSchema, ...graphErrorResponses } },
      },
      async (request) => {
        const options = parseQueryOptions(odataQueryOf(request), roleAssignmentsResource);
        // Assignment ids are base64url: `id eq` compares them exactly, as GET by id does.
        const page = queryInMemory(await roles.listAssignments(), options, new Set(['id']));
        // `@odata.count` belongs to the first page only, as in Graph.
        const counted = options.count && options.cursor === undefined;
        return toRoleAssignmentCollection(page, {
          selection: options.select,
          counted,
          publicUrl,
          requestUrl: request.url,
        });
      },
    );

    app.get(
      `${base}/roleAssignments/:id`,
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { params: idParams, response: { 200: roleAssignmentEntitySchema, ...graphErrorResponses } },
      },
      async (request) => {
        const options = parseQueryOptions(odataQueryOf(request), roleAssignmentsResource);
        const assignment = await roles.getAssignment(request.params.id);
        return toRoleAssignmentEntity(assignment, options.select, publicUrl);
      },
    );

    app.post(
      `${base}/roleAssignments`,
      {
        preHandler: guard.authenticate,
        schema: {
          body: newAssignmentBody,
          response: { 201: roleAssignmentEntitySchema, ...graphErrorResponses },
        },
      },
      async (request, reply) => {
        const assignment = await roles.assign(contextOf(request), request.body);
        reply.status(201).header('location', `${publicUrl}${base}/roleAssignments/${assignment.id}`);
        return toCreatedRoleAssignmentEntity(assignment, publicUrl);
      },
    );

    app.delete(
      `${base}/roleAssignments/:id`,
      {
        preHandler: guard.authenticate,
        schema: { params: idParams, response: { 204: noContent, ...graphErrorResponses } },
      },
      async (request, reply) => {
        await roles.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
