import type { FastifyPluginAsync } from 'fastify';
import type { AuthGuard } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';

export interface DirectoryAuditRoutesDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly guard: AuthGuard;
  readonly publicUrl: string;
}

/** `GET /v1.0/auditLogs/directoryAudits` and `.../{id}`. (Being written.) */
export function directoryAuditRoutes(_deps: DirectoryAuditRoutesDeps): FastifyPluginAsync {
  return async () => {};
}
