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
import { signInsResource } from './sign-in-query.js';
import { findSignInById, listSignInsPage, toGraphSignIn } from './sign-in-store.js';

/*
 * Graph's sign-in log: every token-endpoint attempt, newest first. Reading it needs one of the
 * log reader roles (Entra's Global Reader, Reports Reader, Security roles or Global
 * Administrator); Rekey's tokens carry a fixed set of scopes, so the role is the whole check.
 *
 * Paging is keyset (see listSignInsPage): a client that follows `@odata.nextLink` while new
 * sign-ins arrive sees neither a repeat nor a gap, and the new rows only on a fresh first page.
 */

export interface SignInLogRoutesDeps {
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

/** `GET /v1.0/auditLogs/signIns` and `GET /v1.0/auditLogs/signIns/{id}`. */
export function signInLogRoutes(deps: SignInLogRoutesDeps): FastifyPluginAsync {
  const { db, tenantId, guard, publicUrl } = deps;
  const metadata = (fragment: string) => `${publicUrl}/v1.0/$metadata#auditLogs/${fragment}`;

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get('/v1.0/auditLogs/signIns', { preHandler: guard.requireRole(logReaderRoles) }, async (request) => {
      const options = parseQueryOptions(queryOf(request), signInsResource);
      // `@odata.count` belongs to the first page only, as in Graph.
      const count = options.count && options.cursor === undefined;
      const page = await listSignInsPage(db.kysely, tenantId, {
        filter: options.filter,
        page: options,
        count,
      });
      return {
        '@odata.context': metadata(`signIns${selectContextSuffix(options.select)}`),
        ...(page.count === undefined ? {} : { '@odata.count': page.count }),
        ...(page.nextSkipToken === undefined
          ? {}
          : { '@odata.nextLink': buildNextLink(`${publicUrl}${request.url}`, page.nextSkipToken) }),
        value: page.rows.map((row) => applySelect(toGraphSignIn(row), options.select.properties)),
      };
    });

    app.get(
      '/v1.0/auditLogs/signIns/:id',
      { preHandler: guard.requireRole(logReaderRoles), schema: { params: idParams } },
      async (request) => {
        const options = parseQueryOptions(queryOf(request), signInsResource);
        const row = await findSignInById(db.kysely, tenantId, request.params.id.toLowerCase());
        if (!row) throw new RekeyError(7700008, { details: { id: request.params.id } });
        return {
          '@odata.context': metadata(`signIns${selectContextSuffix(options.select)}/$entity`),
          ...applySelect(toGraphSignIn(row), options.select.properties),
        };
      },
    );
  };
}
