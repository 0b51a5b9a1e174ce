import type { FastifyPluginAsync } from 'fastify';
import type { AuthGuard } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';
import { readOnlyCollectionRoutes } from '../platform/http/read-only-collection.js';
import { logReaderRoles } from '../users/authorization.js';
import { toGraphDirectoryAudit } from './audit-mapper.js';
import { directoryAuditsResource } from './audit-query.js';
import { directoryAuditCollectionSchema, directoryAuditEntitySchema } from './audit-schemas.js';
import { findAudit, listAudits } from './audit-service.js';

/*
 * Graph's audit log: one row per administrative or password action, newest first, readable by
 * the log reader roles (see roles.ts). Paging is keyset on (activityDateTime, id), so following
 * `@odata.nextLink` while actions are being audited neither repeats nor skips a row.
 */

export interface DirectoryAuditRoutesDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly guard: AuthGuard;
  readonly publicUrl: string;
}

/** `GET /v1.0/auditLogs/directoryAudits` and `GET /v1.0/auditLogs/directoryAudits/{id}`. */
export function directoryAuditRoutes(deps: DirectoryAuditRoutesDeps): FastifyPluginAsync {
  const { db, tenantId } = deps;
  return readOnlyCollectionRoutes(
    {
      path: '/v1.0/auditLogs/directoryAudits',
      contextPath: 'auditLogs/directoryAudits',
      resource: directoryAuditsResource,
      preHandler: deps.guard.requireRole(logReaderRoles),
      schemas: { entity: directoryAuditEntitySchema, collection: directoryAuditCollectionSchema },
      list: (options, count) =>
        listAudits(db.kysely, tenantId, { filter: options.filter, page: options, count }),
      find: (id) => findAudit(db.kysely, tenantId, id),
      toGraph: toGraphDirectoryAudit,
    },
    deps.publicUrl,
  );
}
