import type { FastifyPluginAsync } from 'fastify';
import { type AuthGuard, principalOf } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';
import type { RekeyApp } from '../platform/http/app.js';
import { selectedContext, selectProperties, toGraphCollection } from '../platform/http/graph-envelope.js';
import { odataQueryOf, readOnlyCollectionRoutes } from '../platform/http/read-only-collection.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { parseQueryOptions } from '../platform/odata/index.js';
import { logReaderRoles } from '../users/authorization.js';
import { findSignIn, listSignIns } from './sign-in-log-service.js';
import { toGraphSignIn } from './sign-in-mapper.js';
import { signInsResource } from './sign-in-query.js';
import { signInCollectionSchema, signInEntitySchema } from './sign-in-schemas.js';

/*
 * Graph's sign-in log: every token-endpoint attempt, newest first. Reading it needs one of the
 * log reader roles (Entra's Global Reader, Reports Reader, Security roles or Global
 * Administrator); Rekey's tokens carry a fixed set of scopes, so the role is the whole check.
 *
 * Paging is keyset (see listSignInsPage in the store): a client that follows `@odata.nextLink` while new
 * sign-ins arrive sees neither a repeat nor a gap, and the new rows only on a fresh first page.
 */

export interface SignInLogRoutesDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly guard: AuthGuard;
  readonly publicUrl: string;
}

/**
 * `GET /v1.0/auditLogs/signIns` and `GET /v1.0/auditLogs/signIns/{id}` for log readers, and
 * `GET /rekey/v1/me/signIns`: the signed-in user's own sign-ins, for My account.
 */
export function signInLogRoutes(deps: SignInLogRoutesDeps): FastifyPluginAsync {
  const { db, tenantId, publicUrl } = deps;
  const logReaderRoutes = readOnlyCollectionRoutes(
    {
      path: '/v1.0/auditLogs/signIns',
      contextPath: 'auditLogs/signIns',
      resource: signInsResource,
      preHandler: deps.guard.requireRole(logReaderRoles),
      schemas: { entity: signInEntitySchema, collection: signInCollectionSchema },
      list: (options, count) =>
        listSignIns(db.kysely, tenantId, { filter: options.filter, page: options, count }),
      find: (id) => findSignIn(db.kysely, tenantId, id),
      toGraph: toGraphSignIn,
    },
    publicUrl,
  );
  return async (plugin) => {
    await plugin.register(logReaderRoutes);
    const app = plugin as unknown as RekeyApp;
    app.get(
      '/rekey/v1/me/signIns',
      {
        preHandler: deps.guard.authenticate,
        schema: { response: { 200: signInCollectionSchema, ...graphErrorResponses } },
      },
      async (request) => {
        // The caller's own rows only: their id is ANDed with whatever $filter they sent, so no
        // filter can reach another user's sign-ins (the $skiptoken only moves within this result).
        const query = { ...odataQueryOf(request) };
        const own = `userId eq ${principalOf(request).user.id}`;
        const given = query['$filter'];
        query['$filter'] = typeof given === 'string' && given.trim() !== '' ? `${own} and (${given})` : own;
        const options = parseQueryOptions(query, signInsResource);
        const page = await listSignIns(db.kysely, tenantId, {
          filter: options.filter,
          page: options,
          count: options.count && options.cursor === undefined,
        });
        return toGraphCollection(page, {
          context: selectedContext(publicUrl, 'me/signIns', options.select),
          requestUrl: `${publicUrl}${request.url}`,
          toEntity: (row) => selectProperties(toGraphSignIn(row), options.select),
        });
      },
    );
  };
}
