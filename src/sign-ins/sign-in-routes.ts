import type { FastifyPluginAsync } from 'fastify';
import type { AuthGuard } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';
import { readOnlyCollectionRoutes } from '../platform/http/read-only-collection.js';
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

/** `GET /v1.0/auditLogs/signIns` and `GET /v1.0/auditLogs/signIns/{id}`. */
export function signInLogRoutes(deps: SignInLogRoutesDeps): FastifyPluginAsync {
  const { db, tenantId } = deps;
  return readOnlyCollectionRoutes(
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
    deps.publicUrl,
  );
}
