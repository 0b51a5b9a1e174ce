import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { Clock } from '../clock.js';
import { Codes } from '../errors/catalog.js';
import { RekeyError } from '../errors/rekey-error.js';
import type { Logger } from '../log.js';
import type { RekeyMetrics } from '../metrics.js';
import { resolveCorrelationId } from './correlation.js';
import { type ErrorFormat, sendError } from './error-response.js';
import { addOpenApiRoute, registerOpenApiGenerator } from './openapi.js';
import type { RegisteredRoute } from './route-contracts.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How this route renders errors; Graph's envelope unless it says `oauth`. */
    errorFormat?: ErrorFormat;
  }
  interface FastifyRequest {
    /** The request's correlation ID (see resolveCorrelationId), echoed as `client-request-id`. */
    correlationId: string;
  }
  interface FastifyInstance {
    /** Every route added to the app, in order, with its schema (see route-contracts.ts). */
    readonly registeredRoutes: readonly RegisteredRoute[];
  }
}

export type RekeyApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface AppOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Public base URL, used in `error_uri` links. */
  readonly publicUrl: string;
  readonly tls?: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Fastify's `trustProxy`: whose X-Forwarded-For names the client (REKEY_TRUST_PROXY). */
  readonly trustProxy?: string | undefined;
  /** Feature plugins, registered in order. */
  readonly plugins: ReadonlyArray<FastifyPluginAsync>;
  /** Counts and times every answered request (by route pattern, never the raw URL). */
  readonly metrics?: RekeyMetrics | undefined;
}

/** Largest request body accepted anywhere; the biggest legitimate one is a user create. */
const bodyLimitBytes = 64 * 1024;

/** Translates anything thrown into a catalog error; unknown errors become a generic 500. */
function toRekeyError(error: FastifyError | Error): RekeyError {
  if (error instanceof RekeyError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const details = fastifyError.validation.map((v) => ({
      field: `${fastifyError.validationContext ?? 'body'}${v.instancePath || ''}`,
      problem: v.message ?? 'is invalid',
      ...(v.keyword === 'additionalProperties' ? { property: String(v.params['additionalProperty']) } : {}),
    }));
    return new RekeyError(Codes.RequestValidationFailed, { details: { fields: details } });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RekeyError(
        fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? Codes.UnsupportedMediaType
          : Codes.RequestValidationFailed,
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RekeyError(Codes.PayloadTooLarge, { details: { limitBytes: bodyLimitBytes } });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RekeyError(Codes.MalformedJson, {
        message: 'The request body is empty; a JSON document is required.',
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new RekeyError(Codes.MalformedJson);
    default:
      break;
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400)
    return new RekeyError(Codes.MalformedJson);
  if (fastifyError.statusCode === 405) return new RekeyError(Codes.MethodNotAllowed);
  if (
    fastifyError.statusCode !== undefined &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return new RekeyError(Codes.RequestValidationFailed);
  }
  return new RekeyError(Codes.InternalError, { cause: error });
}

/**
 * One log line per request, when it completes (Fastify's default is two: one on arrival, one on
 * completion). The correlation ID is on the request's child logger.
 */
class RequestLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'requestId' });
  }

  override incomingRequest(request: FastifyRequest): void {
    request.log.trace({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/**
 * A character no value may hold: U+0000 (PostgreSQL cannot store it in text and fails the
 * statement, error 22021, where SQLite stores it), or a lone UTF-16 surrogate (a JSON `\ud800`
 * escape with no partner: SQLite keeps the bad code unit while PostgreSQL's UTF-8 text turns it
 * into U+FFFD or refuses it, so the same request would store different values).
 */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with `text`, if anything: a NUL, a lone surrogate, or nothing. */
function unstorableIn(text: string): 'nul' | 'loneSurrogate' | undefined {
  if (text.includes('\u0000')) return 'nul';
  return loneSurrogate.test(text) ? 'loneSurrogate' : undefined;
}

/**
 * The first character in `value`, or in any string or key inside it, that Rekey refuses to store
 * (see the comment on loneSurrogate); walked without recursion.
 */
export function findUnstorable(value: unknown): 'nul' | 'loneSurrogate' | undefined {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      const found = unstorableIn(next);
      if (found) return found;
    } else if (Array.isArray(next)) {
      pending.push(...next);
    } else if (next !== null && typeof next === 'object') {
      for (const [key, inner] of Object.entries(next)) {
        const found = unstorableIn(key);
        if (found) return found;
        pending.push(inner);
      }
    }
  }
  return undefined;
}

/** Which part of a parsed request holds a character Rekey refuses to store, and which one. */
function unstorableLocation(
  request: FastifyRequest,
): { readonly where: 'query' | 'path' | 'body'; readonly what: 'nul' | 'loneSurrogate' } | undefined {
  for (const [where, value] of [
    ['query', request.query],
    ['path', request.params],
    ['body', request.body],
  ] as const) {
    const what = findUnstorable(value);
    if (what) return { where, what };
  }
  return undefined;
}

/**
 * Builds the HTTP application: correlation IDs, the one root error handler and the not-found
 * handler, around the feature plugins. Tests drive it with `inject()`; `serve` listens on it.
 */
export async function buildApp(options: AppOptions): Promise<RekeyApp> {
  const https = options.tls
    ? { https: { cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) } }
    : {};
  const app = Fastify({
    loggerInstance: options.logger,
    genReqId: () => randomUUID(),
    logController: new RequestLogController(),
    bodyLimit: bodyLimitBytes,
    // A path segment may be a user principal name of up to 113 characters (Fastify's default is 100).
    routerOptions: { maxParamLength: 256 },
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: true } },
    // Errors Fastify raises before any hook runs (a path that is not valid percent-encoding): its
    // default answer is its own body, without correlation headers, so render ours instead.
    frameworkErrors: (_error, request, reply) => {
      request.correlationId = resolveCorrelationId(request.headers);
      reply.header('request-id', request.id).header('client-request-id', request.correlationId);
      request.log.info({ code: Codes.RequestValidationFailed }, 'request rejected: malformed path');
      sendError(
        reply,
        request,
        new RekeyError(Codes.RequestValidationFailed, {
          message: 'The request path is not valid percent-encoding.',
        }),
        { format: 'graph', baseUrl: options.publicUrl, now: options.clock.now() },
      );
    },
    ...https,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as RekeyApp;

  // Fastify parses text/plain by default; no Rekey endpoint takes it, and accepting it turned a
  // wrong content type into a confusing schema error instead of 415.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('correlationId', '');
  app.addHook('onRequest', async (request, reply) => {
    request.correlationId = resolveCorrelationId(request.headers, { query: request.query });
    request.log = request.log.child({ correlationId: request.correlationId });
    reply.log = request.log;
    reply.header('request-id', request.id);
    reply.header('client-request-id', request.correlationId);
  });

  const metrics = options.metrics;
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      // The pattern, so that ids in paths never multiply the series; no route at all is `unmatched`.
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });
  }

  // A NUL or a lone surrogate is stored differently (or not at all) by the two databases (see
  // loneSurrogate): refused here, every value of every request is the same on both.
  app.addHook('preValidation', async (request) => {
    const found = unstorableLocation(request);
    if (found !== undefined) {
      const character =
        found.what === 'nul'
          ? 'the character U+0000 (NUL)'
          : 'a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair)';
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `The request's ${found.where} contains ${character}, which Rekey does not accept in any value.`,
        details: { location: found.where },
      });
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const rekeyError = toRekeyError(error);
    if (rekeyError.entry.httpStatus >= 500) {
      request.log.error({ err: error, code: rekeyError.code }, 'request failed');
    } else {
      request.log.debug({ code: rekeyError.code }, 'request rejected');
    }
    return sendError(reply, request, rekeyError, {
      format: request.routeOptions.config.errorFormat ?? 'graph',
      baseUrl: options.publicUrl,
      now: options.clock.now(),
    });
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      request,
      new RekeyError(Codes.RouteNotFound, {
        details: { method: request.method, path: request.url.split('?')[0] },
      }),
      {
        format: 'graph',
        baseUrl: options.publicUrl,
        now: options.clock.now(),
      },
    ),
  );

  const registeredRoutes: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', registeredRoutes);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      registeredRoutes.push({
        method,
        url: route.url,
        schema: route.schema,
        errorFormat: route.config?.errorFormat ?? 'graph',
      });
    }
  });
  await registerOpenApiGenerator(app, options.publicUrl);
  addOpenApiRoute(app);
  for (const plugin of options.plugins) await app.register(plugin);
  await app.ready();
  return app;
}
