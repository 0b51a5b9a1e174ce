import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthGuard } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import {
  applySelect,
  buildNextLink,
  parseQueryOptions,
  selectContextSuffix,
} from '../platform/odata/index.js';
import { logReaderRoles } from '../users/roles.js';
import { directoryAuditsResource } from './audit-query.js';
import { findAuditById, listAuditsPage, toGraphDirectoryAudit } from './audit-store.js';

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

const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Fastify's parsed query string (a plain object), for the OData option parser. */
function queryOf(request: FastifyRequest): Readonly<Record<string, unknown>> {
  const query: unknown = request.query;
  return typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
}

/** `GET /v1.0/auditLogs/directoryAudits` and `GET /v1.0/auditLogs/directoryAudits/{id}`. */
export function directoryAuditRoutes(deps: DirectoryAuditRoutesDeps): FastifyPluginAsync {
  const { db, tenantId, guard, publicUrl } = deps;
  const metadata = (fragment: string) => `${publicUrl}/v1.0/$metadata#auditLogs/${fragment}`;

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/v1.0/auditLogs/directoryAudits',
      { preHandler: guard.requireRole(logReaderRoles) },
      async (request) => {
        const options = parseQueryOptions(queryOf(request), directoryAuditsResource);
        // `@odata.count` belongs to the first page only, as in Graph.
        const count = options.count && options.cursor === undefined;
        const page = await listAuditsPage(db.kysely, tenantId, {
          filter: options.filter,
          page: options,
          count,
        });
        return {
          '@odata.context': metadata(`directoryAudits${selectContextSuffix(options.select)}`),
          ...(page.count === undefined ? {} : { '@odata.count': page.count }),
          ...(page.nextSkipToken === undefined
            ? {}
            : { '@odata.nextLink': buildNextLink(`${publicUrl}${request.url}`, page.nextSkipToken) }),
          value: page.rows.map((row) => applySelect(toGraphDirectoryAudit(row), options.select.properties)),
        };
      },
    );

    app.get(
      '/v1.0/auditLogs/directoryAudits/:id',
      { preHandler: guard.requireRole(logReaderRoles), schema: { params: idParams } },
      async (request) => {
        const options = parseQueryOptions(queryOf(request), directoryAuditsResource);
        const row = await findAuditById(db.kysely, tenantId, request.params.id.toLowerCase());
        if (!row) throw new RekeyError(7700008, { details: { id: request.params.id } });
        return {
          '@odata.context': metadata(`directoryAudits${selectContextSuffix(options.select)}/$entity`),
          ...applySelect(toGraphDirectoryAudit(row), options.select.properties),
        };
      },
    );
  };
}
