import type { FastifyPluginAsync } from 'fastify';
import type { AuthGuard } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';

export interface SignInLogRoutesDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly guard: AuthGuard;
  readonly publicUrl: string;
}

/** `GET /v1.0/auditLogs/signIns` and `GET /v1.0/auditLogs/signIns/{id}`. (Being written.) */
export function signInLogRoutes(_deps: SignInLogRoutesDeps): FastifyPluginAsync {
  return async () => {};
}
