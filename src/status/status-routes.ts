import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AuthGuard } from '../auth/guard.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { metadataUrl } from '../platform/http/graph-envelope.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { serviceHealthReaderRoles } from '../users/authorization.js';
import { renderStatusPage, toPublicStatus, toServiceHealth, toServiceHealthIssue } from './status-mapper.js';
import { healthOverviewsSchema, issueSchema, issuesSchema, publicStatusSchema } from './status-schemas.js';
import type { StatusService } from './status-service.js';

/*
 * GET /status                                         public: HTML, or JSON with Accept: application/json;
 *                                                     components and incidents without tenant data
 * GET /v1.0/admin/serviceAnnouncement/healthOverviews every component (each connector by name)
 * GET /v1.0/admin/serviceAnnouncement/issues          incidents of the last 30 days, with their figures
 * GET /v1.0/admin/serviceAnnouncement/issues/{id}     one incident
 * The Graph routes answer serviceHealthReaderRoles.
 */

export interface StatusRoutesDeps {
  readonly guard: AuthGuard;
  readonly status: Pick<StatusService, 'components' | 'overall' | 'incidents' | 'incident'>;
  readonly publicUrl: string;
}

export function statusRoutes(deps: StatusRoutesDeps): FastifyPluginAsync {
  const { guard, status, publicUrl } = deps;
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/status',
      {
        schema: {
          response: {
            200: {
              description: 'Service status: an HTML page, or JSON when only JSON is accepted',
              content: {
                'application/json': { schema: publicStatusSchema },
                'text/html': { schema: Type.String() },
              },
            },
            ...graphErrorResponses,
          },
        },
      },
      async (request, reply) => {
        const components = await status.components();
        const view = toPublicStatus(
          components,
          await status.incidents().catch(() => []),
          status.overall(components),
          new Date().toISOString(),
        );
        // Never cached: it is read to find out what is happening now. The page has no script and
        // loads nothing: its policy allows its own style element and nothing else.
        reply
          .header('cache-control', 'no-store')
          .header(
            'content-security-policy',
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          );
        const accept = request.headers.accept ?? '';
        if (accept.includes('application/json') && !accept.includes('text/html')) return view;
        return reply.type('text/html; charset=utf-8').send(renderStatusPage(view));
      },
    );

    const readers = guard.requireRole(serviceHealthReaderRoles);

    app.get(
      '/v1.0/admin/serviceAnnouncement/healthOverviews',
      { preHandler: readers, schema: { response: { 200: healthOverviewsSchema, ...graphErrorResponses } } },
      async () => ({
        '@odata.context': metadataUrl(publicUrl, 'admin/serviceAnnouncement/healthOverviews'),
        value: (await status.components()).map(toServiceHealth),
      }),
    );

    app.get(
      '/v1.0/admin/serviceAnnouncement/issues',
      { preHandler: readers, schema: { response: { 200: issuesSchema, ...graphErrorResponses } } },
      async () => ({
        '@odata.context': metadataUrl(publicUrl, 'admin/serviceAnnouncement/issues'),
        value: (await status.incidents()).map(toServiceHealthIssue),
      }),
    );

    app.get(
      '/v1.0/admin/serviceAnnouncement/issues/:id',
      {
        preHandler: readers,
        schema: {
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) }),
          response: { 200: issueSchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const found = await status.incident(request.params.id);
        if (!found)
          throw new RekeyError(Codes.ResourceNotFound, {
            message: `No incident has the id ${JSON.stringify(request.params.id)}.`,
            details: { id: request.params.id },
          });
        return {
          '@odata.context': metadataUrl(publicUrl, 'admin/serviceAnnouncement/issues/$entity'),
          ...toServiceHealthIssue(found),
        };
      },
    );
  };
}
