import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AuthGuard } from '../auth/guard.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { passwordResetRoles } from '../users/authorization.js';
import type { OperationEngine } from './operation-engine.js';
import { toOperationView, toOperationWithHistory } from './operation-mapper.js';
import {
  type OperationListQuery,
  operationListQuery,
  operationPageSchema,
  operationWithHistorySchema,
} from './operation-schemas.js';

/*
 * Password operations for administrators (those who may reset passwords, as for Graph's view of
 * one user's operation):
 *   GET /rekey/v1/operations        newest first; filters user, state, code, kind, since, until;
 *                                   keyset paging (`top`, and `@odata.nextLink` while more follow)
 *   GET /rekey/v1/operations/{id}   one operation with every state change and step it went through
 */

export interface OperationRoutesDeps {
  readonly guard: AuthGuard;
  readonly operations: Pick<OperationEngine, 'listOperations' | 'getOperationWithHistory'>;
  /** The id of the user named by object id or user principal name, or undefined when there is none. */
  readonly resolveUserId: (idOrUpn: string) => Promise<string | undefined>;
  readonly publicUrl: string;
}

/** The list's next page: the same query with the next page's token. */
function nextLink(publicUrl: string, query: OperationListQuery, token: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && name !== 'skiptoken') params.set(name, String(value));
  }
  params.set('skiptoken', token);
  return `${publicUrl}/rekey/v1/operations?${params.toString()}`;
}

/** The operations list and the single operation with its history. */
export function operationRoutes(deps: OperationRoutesDeps): FastifyPluginAsync {
  const { guard, operations } = deps;
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/rekey/v1/operations',
      {
        preHandler: guard.requireRole(passwordResetRoles),
        schema: {
          querystring: operationListQuery,
          response: { 200: operationPageSchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const query = request.query;
        let userId: string | undefined;
        if (query.user !== undefined) {
          userId = await deps.resolveUserId(query.user);
          // An unknown user has no operations: an empty page, as any filter that matches nothing.
          if (userId === undefined) return { value: [] };
        }
        if (query.since !== undefined && query.until !== undefined && query.since >= query.until)
          throw new RekeyError(Codes.InvalidQueryOption, {
            message: 'since must be earlier than until.',
            details: { since: query.since, until: query.until },
          });
        const page = await operations.listOperations(
          {
            userId,
            state: query.state,
            errorCode: query.code,
            kind: query.kind,
            since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
            until: query.until === undefined ? undefined : new Date(query.until).toISOString(),
          },
          { top: query.top ?? 50, skiptoken: query.skiptoken },
        );
        return {
          ...(page.nextToken === undefined
            ? {}
            : { '@odata.nextLink': nextLink(deps.publicUrl, query, page.nextToken) }),
          value: page.operations.map(toOperationView),
        };
      },
    );

    app.get(
      '/rekey/v1/operations/:id',
      {
        preHandler: guard.requireRole(passwordResetRoles),
        schema: {
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          response: { 200: operationWithHistorySchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const found = await operations.getOperationWithHistory(request.params.id);
        if (!found) throw new RekeyError(Codes.ResourceNotFound, { details: { id: request.params.id } });
        return toOperationWithHistory(found.operation, found.events);
      },
    );
  };
}
