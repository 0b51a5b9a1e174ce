import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, principalOf } from '../auth/guard.js';
import { parseLogTime } from '../logs/time-range.js';
import type { Clock } from '../platform/clock.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import {
  connectorAdministrationRoles,
  diagnoseRoles,
  hasAnyRole,
  supportBundleRoles,
} from '../users/authorization.js';
import { type DiagnoseRequestBody, diagnoseReportSchema, diagnoseRequestSchema } from './diagnose-schemas.js';
import type { DiagnoseService } from './diagnose-service.js';
import type { DiagnoseSelectors } from './diagnose-types.js';
import type { SupportBundle } from './support-bundle.js';

/*
 * The troubleshooter over HTTP:
 *   POST /rekey/v1/diagnose        the report of a user, a request or a code (diagnoseRoles)
 *   POST /rekey/v1/supportBundles  the same, with the logs and configuration, as a ZIP archive
 *                                  (supportBundleRoles)
 * Both take a JSON body with any of userPrincipalName, correlationId, errorCode and since (an
 * ISO date-time or a duration back from now: 24h, 7d); none of the first three is 7700001.
 */

export interface DiagnoseRoutesDeps {
  readonly guard: AuthGuard;
  readonly clock: Clock;
  readonly diagnose: Pick<DiagnoseService, 'diagnose'>;
  readonly buildSupportBundle: (selectors: DiagnoseSelectors) => Promise<SupportBundle>;
}

/** The body's selectors, with `since` resolved to an ISO date-time (7700601 when it is not one). */
export function selectorsOf(body: DiagnoseRequestBody, now: Date): DiagnoseSelectors {
  return {
    userPrincipalName: body.userPrincipalName,
    correlationId: body.correlationId,
    errorCode: body.errorCode,
    since: body.since === undefined ? undefined : parseLogTime('since', body.since, now),
  };
}

export function diagnoseRoutes(deps: DiagnoseRoutesDeps): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.post(
      '/rekey/v1/diagnose',
      {
        preHandler: deps.guard.requireRole(diagnoseRoles),
        schema: {
          body: diagnoseRequestSchema,
          response: { 200: diagnoseReportSchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const actor = principalOf(request).actor;
        return deps.diagnose.diagnose(selectorsOf(request.body, deps.clock.now()), {
          actor,
          showConnectorConfiguration: hasAnyRole(actor.roles, [
            ...connectorAdministrationRoles,
            'Global Reader',
          ]),
        });
      },
    );

    app.post(
      '/rekey/v1/supportBundles',
      {
        preHandler: deps.guard.requireRole(supportBundleRoles),
        schema: {
          body: diagnoseRequestSchema,
          response: {
            200: {
              description: 'The support bundle: a ZIP archive with a manifest of its files',
              content: {
                'application/zip': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) },
              },
            },
            ...graphErrorResponses,
          },
        },
      },
      async (request, reply) => {
        const bundle = await deps.buildSupportBundle(selectorsOf(request.body, deps.clock.now()));
        return reply
          .type('application/zip')
          .header('content-disposition', `attachment; filename="${bundle.fileName}"`)
          .send(bundle.archive);
      },
    );
  };
}
