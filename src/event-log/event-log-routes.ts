import type { FastifyPluginAsync } from 'fastify';
import type { AuthGuard } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { logReaderRoles } from '../users/authorization.js';
import { toEventLogEntry } from './event-log-mapper.js';
import { type EventLogQuery, eventLogPageSchema, eventLogQuery } from './event-log-schemas.js';
import { listEventLog } from './event-log-service.js';

/*
 * GET /rekey/v1/eventLog: the event log for those who may read the logs (logReaderRoles), newest
 * first; filters channel, level, eventId, source, correlationId, since, until; keyset paging
 * (`top`, and `@odata.nextLink` while more follow), as /rekey/v1/operations pages.
 */

export interface EventLogRoutesDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly guard: AuthGuard;
  readonly publicUrl: string;
}

function nextLink(publicUrl: string, query: EventLogQuery, token: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && name !== 'skiptoken') params.set(name, String(value));
  }
  params.set('skiptoken', token);
  return `${publicUrl}/rekey/v1/eventLog?${params.toString()}`;
}

/** The event-log list. */
export function eventLogRoutes(deps: EventLogRoutesDeps): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    app.get(
      '/rekey/v1/eventLog',
      {
        preHandler: deps.guard.requireRole(logReaderRoles),
        schema: {
          querystring: eventLogQuery,
          response: { 200: eventLogPageSchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const query = request.query;
        const page = await listEventLog(
          deps.db.kysely,
          deps.tenantId,
          {
            channel: query.channel,
            level: query.level,
            eventId: query.eventId,
            source: query.source,
            correlationId: query.correlationId,
            since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
            until: query.until === undefined ? undefined : new Date(query.until).toISOString(),
          },
          { top: query.top ?? 100, skiptoken: query.skiptoken },
        );
        return {
          ...(page.nextToken === undefined
            ? {}
            : { '@odata.nextLink': nextLink(deps.publicUrl, query, page.nextToken) }),
          value: page.events.map(toEventLogEntry),
        };
      },
    );
  };
}
