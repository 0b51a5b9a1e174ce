import { readFileSync } from 'node:fs';
import {
  type CapturedBody,
  captureRequestBody,
  captureResponseBody,
  type HarPair,
  redactHeaders,
  redactUrl,
} from './capture-redaction.js';

/*
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as a capture writes it: one `entry`
 * per exchange, built from what the server saw, redacted (capture-redaction.ts) before it exists.
 * Rekey's own fields start with an underscore, as the format allows: `_correlationId`,
 * `_requestId`, `_captureId` and `_truncated` (a body was cut at the capture's limit).
 */

/** The largest body (request or response) a capture keeps, in characters; the rest is cut with a marker. */
export const capturedBodyLimit = 32 * 1024;

/** What the hook knows of an exchange when its response has been sent. */
export interface Exchange {
  readonly startedAt: Date;
  readonly elapsedMs: number;
  readonly method: string;
  /** The path and query as the client sent them. */
  readonly url: string;
  readonly httpVersion: string;
  readonly requestHeaders: Readonly<Record<string, unknown>>;
  /** The body as Fastify parsed it. */
  readonly requestBody: unknown;
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, unknown>>;
  /** The payload as onSend saw it. */
  readonly responsePayload: unknown;
  readonly correlationId: string;
  readonly requestId: string;
  readonly clientAddress: string;
}

export interface HarEntry {
  readonly startedDateTime: string;
  readonly time: number;
  readonly request: Record<string, unknown>;
  readonly response: Record<string, unknown>;
  readonly cache: Record<string, never>;
  readonly timings: { readonly send: number; readonly wait: number; readonly receive: number };
  readonly _correlationId: string;
  readonly _requestId: string;
  readonly _truncated: boolean;
}

export interface HarDocument {
  readonly log: {
    readonly version: '1.2';
    readonly creator: { readonly name: string; readonly version: string };
    readonly comment: string;
    readonly entries: readonly object[];
  };
}

const statusTexts: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

function header(headers: Readonly<Record<string, unknown>>, name: string): string {
  const value = headers[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0] ?? '') : '';
}

function content(body: CapturedBody): Record<string, unknown> {
  return {
    size: body.size,
    mimeType: body.mimeType,
    ...(body.text === undefined ? {} : { text: body.text }),
    ...(body.comment === undefined ? {} : { comment: body.comment }),
  };
}

/** One exchange as a redacted HAR entry. */
export function toHarEntry(publicUrl: string, exchange: Exchange, bodyLimit = capturedBodyLimit): HarEntry {
  const { url, queryString } = redactUrl(publicUrl, exchange.url);
  const requestType = header(exchange.requestHeaders, 'content-type');
  const requestBody = captureRequestBody(exchange.requestBody, requestType, bodyLimit);
  const responseType = header(exchange.responseHeaders, 'content-type');
  const responseBody = captureResponseBody(exchange.responsePayload, responseType, bodyLimit);
  const postData: { mimeType: string; text: string; params?: HarPair[]; comment?: string } | undefined =
    requestBody
      ? {
          mimeType: requestBody.mimeType,
          text: requestBody.text ?? '',
          ...(requestBody.params ? { params: requestBody.params } : {}),
          ...(requestBody.comment ? { comment: requestBody.comment } : {}),
        }
      : undefined;
  return {
    startedDateTime: exchange.startedAt.toISOString(),
    time: Math.round(exchange.elapsedMs * 1000) / 1000,
    request: {
      method: exchange.method,
      url,
      httpVersion: `HTTP/${exchange.httpVersion}`,
      cookies: [],
      headers: redactHeaders(exchange.requestHeaders),
      queryString,
      ...(postData ? { postData } : {}),
      headersSize: -1,
      bodySize: requestBody?.size ?? 0,
    },
    response: {
      status: exchange.status,
      statusText: statusTexts[exchange.status] ?? '',
      httpVersion: `HTTP/${exchange.httpVersion}`,
      cookies: [],
      headers: redactHeaders(exchange.responseHeaders),
      content: content(responseBody),
      redirectURL: header(exchange.responseHeaders, 'location'),
      headersSize: -1,
      bodySize: responseBody.size,
    },
    cache: {},
    // The server sees only its own handling time: all of it is `wait`.
    timings: { send: 0, wait: Math.round(exchange.elapsedMs * 1000) / 1000, receive: 0 },
    _correlationId: exchange.correlationId,
    _requestId: exchange.requestId,
    _truncated: (requestBody?.truncated ?? false) || responseBody.truncated,
  };
}

/** Rekey's version, as package.json states it (two levels up from src/captures and dist/captures). */
function rekeyVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A HAR document of stored entries (each the JSON of a HarEntry). */
export function toHarDocument(comment: string, entries: readonly string[]): HarDocument {
  return {
    log: {
      version: '1.2',
      creator: { name: 'Rekey', version: rekeyVersion() },
      comment,
      entries: entries.map((entry) => JSON.parse(entry) as object),
    },
  };
}
