import type { FastifyPluginAsync } from 'fastify';
import type { AuthGuard } from '../auth/guard.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { logReaderRoles, passwordResetRoles } from '../users/authorization.js';
import { operationOutcomesSchema, reportQuery, signInActivitySchema } from './report-schemas.js';
import { operationOutcomes, signInActivity } from './report-service.js';

/*
 * The portal's charts, counted by the database:
 *   GET /rekey/v1/reports/signInActivity     sign-ins per hour or day, by result and error code
 *                                            (logReaderRoles, who may read the sign-in log)
 *   GET /rekey/v1/reports/operationOutcomes  password operations per hour or day, by outcome
 *                                            (passwordResetRoles, who may list the operations)
 * Both take since, until (ISO 8601 or a duration back from now: 24h, 7d) and interval (hour, day).
 */

export interface ReportRoutesDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly guard: AuthGuard;
  readonly clock: Clock;
}

export function reportRoutes(deps: ReportRoutesDeps): FastifyPluginAsync {
  const { db, tenantId, guard, clock } = deps;
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/rekey/v1/reports/signInActivity',
      {
        preHandler: guard.requireRole(logReaderRoles),
        schema: { querystring: reportQuery, response: { 200: signInActivitySchema, ...graphErrorResponses } },
      },
      async (request) => signInActivity(db.kysely, tenantId, request.query, clock.now()),
    );

    app.get(
      '/rekey/v1/reports/operationOutcomes',
      {
        preHandler: guard.requireRole(passwordResetRoles),
        schema: {
          querystring: reportQuery,
          response: { 200: operationOutcomesSchema, ...graphErrorResponses },
        },
      },
      async (request) => operationOutcomes(db.kysely, tenantId, request.query, clock.now()),
    );
  };
}
