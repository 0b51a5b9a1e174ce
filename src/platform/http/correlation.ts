import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const safeId = /^[A-Za-z0-9._:-]{1,64}$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first !== undefined && safeId.test(first) ? first : undefined;
}

/**
 * The correlation ID of a request: the client's `client-request-id`, else `x-ms-correlation-id`,
 * else the trace ID of a W3C `traceparent`, else a new GUID. Values that are not plain
 * identifiers are ignored so nothing a client sends can forge log lines.
 */
export function resolveCorrelationId(headers: IncomingHttpHeaders): string {
  const direct = header(headers, 'client-request-id') ?? header(headers, 'x-ms-correlation-id');
  if (direct) return direct;
  const traceparent = headers['traceparent'];
  if (typeof traceparent === 'string') {
    const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim());
    if (match?.[1] && !/^0+$/.test(match[1])) return match[1];
  }
  return randomUUID();
}
