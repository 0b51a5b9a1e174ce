import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CatalogEntry } from '../errors/catalog.js';
import type { RekeyError } from '../errors/rekey-error.js';
import type { GraphErrorBody, OAuthErrorBody } from './response-schemas.js';

/** How a route renders its errors: Graph's envelope (the default) or the OAuth token-endpoint shape. */
export type ErrorFormat = 'graph' | 'oauth';

/** Formats a date the way Entra's token endpoint does: `2026-01-02 03:04:05Z`. */
function oauthTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** The Graph-style error body: `{"error":{"code","message","innerError":{...}}}`. */
export function graphErrorBody(error: RekeyError, request: FastifyRequest, date: Date): GraphErrorBody {
  return {
    error: {
      code: error.entry.graphCode,
      message: error.message,
      innerError: {
        date: date.toISOString().slice(0, 19),
        'request-id': request.id,
        'client-request-id': request.correlationId,
        aadstsCode: error.code,
        // A terminated operation's underlying cause and its id, beside the code, for scripts.
        ...(typeof error.details?.['causeCode'] === 'number'
          ? { causeCode: error.details['causeCode'] }
          : {}),
        ...(typeof error.details?.['operationId'] === 'string'
          ? { operationId: error.details['operationId'] }
          : {}),
        ...(error.details ? { details: error.details } : {}),
      },
    },
  };
}

/** The OAuth / Entra token-endpoint error body. */
export function oauthErrorBody(
  error: RekeyError,
  request: FastifyRequest,
  date: Date,
  baseUrl: string,
): OAuthErrorBody {
  const timestamp = oauthTimestamp(date);
  const entry: CatalogEntry = error.entry;
  return {
    error: entry.oauthError,
    error_description: [
      `AADSTS${entry.code}: ${error.message}`,
      `Trace ID: ${request.id}`,
      `Correlation ID: ${request.correlationId}`,
      `Timestamp: ${timestamp}`,
    ].join('\r\n'),
    error_codes: [entry.code],
    timestamp,
    trace_id: request.id,
    correlation_id: request.correlationId,
    error_uri: `${baseUrl}/error?code=${entry.code}`,
    ...(entry.oauthSuberror ? { suberror: entry.oauthSuberror } : {}),
  };
}

/** Sends `error` in the format of the route that failed. */
export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  error: RekeyError,
  options: { readonly format: ErrorFormat; readonly baseUrl: string; readonly now: Date },
): FastifyReply {
  const body =
    options.format === 'oauth'
      ? oauthErrorBody(error, request, options.now, options.baseUrl)
      : graphErrorBody(error, request, options.now);
  if (error.entry.httpStatus === 401 && options.format === 'graph') {
    reply.header('www-authenticate', `Bearer error="invalid_token", error_description="AADSTS${error.code}"`);
  }
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.status(error.entry.httpStatus).type('application/json; charset=utf-8').send(body);
}
