import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const safeId = /^[A-Za-z0-9._:-]{1,64}$/;

/** The first value of `name` in headers, a parsed query or a parsed form, if it is a plain identifier. */
function field(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const value: unknown = (source as Record<string, unknown>)[name];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && safeId.test(first) ? first : undefined;
}

/** Where a client may put its correlation ID besides the headers (a parsed query string and form body). */
export interface CorrelationSources {
  readonly query?: unknown;
  readonly form?: unknown;
}

/**
 * The correlation ID a client sent, if any: the `client-request-id` header, else
 * `x-ms-correlation-id`, else a `client-request-id` query parameter, else a `client-request-id`
 * form field (MSAL sends it in the query and the form of a token request, not as a header), else
 * the trace ID of a W3C `traceparent`. Values that are not plain identifiers are ignored so
 * nothing a client sends can forge log lines.
 */
export function clientCorrelationId(
  headers: IncomingHttpHeaders,
  sources: CorrelationSources = {},
): string | undefined {
  const direct =
    field(headers, 'client-request-id') ??
    field(headers, 'x-ms-correlation-id') ??
    field(sources.query, 'client-request-id') ??
    field(sources.form, 'client-request-id');
  if (direct) return direct;
  const traceparent = headers['traceparent'];
  if (typeof traceparent === 'string') {
    const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim());
    if (match?.[1] && !/^0+$/.test(match[1])) return match[1];
  }
  return undefined;
}

/** The correlation ID of a request: the one the client sent (see clientCorrelationId), else a new GUID. */
export function resolveCorrelationId(headers: IncomingHttpHeaders, sources: CorrelationSources = {}): string {
  return clientCorrelationId(headers, sources) ?? randomUUID();
}
