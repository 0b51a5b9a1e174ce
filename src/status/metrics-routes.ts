import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import type { RekeyMetrics } from '../platform/metrics.js';

/*
 * GET /metrics: the process's Prometheus metrics, for a scraper holding REKEY_METRICS_TOKEN as a
 * bearer token. Without the setting the route does not exist (404): route names, request counts
 * and queue depth say a good deal about a deployment, so nothing is exposed unless chosen.
 */

/** Compares in constant time: the token is a secret. */
function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function metricsRoutes(deps: {
  readonly metrics: RekeyMetrics;
  readonly token: string | undefined;
}): FastifyPluginAsync {
  return async (plugin) => {
    const { token } = deps;
    if (token === undefined) return;
    const app = plugin as unknown as RekeyApp;
    app.get(
      '/metrics',
      {
        schema: {
          response: {
            200: {
              description: 'Prometheus text exposition format',
              content: { 'text/plain': { schema: Type.String() } },
            },
            ...graphErrorResponses,
          },
        },
      },
      async (request, reply) => {
        const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
        if (!match?.[1]) throw new RekeyError(Codes.AuthenticationRequired);
        if (!sameToken(match[1], token)) throw new RekeyError(Codes.InvalidAccessToken);
        const body = await deps.metrics.registry.metrics();
        return reply.type(deps.metrics.registry.contentType).header('cache-control', 'no-store').send(body);
      },
    );
  };
}
