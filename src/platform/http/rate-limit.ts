import { createHash } from 'node:crypto';
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest, RouteOptions } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { RateLimitSettings } from '../config.js';
import { Codes } from '../errors/catalog.js';
import { RekeyError } from '../errors/rekey-error.js';
import { type RateLimitCounter, rateLimitStoreOf } from './rate-limit-counter.js';

/** A route the limits apply to, and how to tell whose account a request is for. */
export interface LimitedRoute {
  readonly method: string;
  /** The route's path as registered (`/:tenant/oauth2/v2.0/token`). */
  readonly url: string;
  /** The user name the request is for, as sent, or undefined (read when `userHook` runs). */
  readonly userName: (request: FastifyRequest) => string | undefined;
  /** When the per-user limit runs: once the body is parsed, or once the caller is authenticated. */
  readonly userHook: 'preValidation' | 'preHandler';
}

/** Which limit refused a request. */
export type LimitKind = 'clientAddress' | 'userName' | 'refusedActions';

/** Hears each refusal before it is answered, with the user name when the request named one. */
export type RefusalListener = (
  request: FastifyRequest,
  refusal: RekeyError,
  userName: string | undefined,
) => Promise<void>;

/**
 * The key of a user name: trimmed and lower-cased as sign-in looks it up, so `Ann@X` and `ann@x`
 * count together; a name too long to be anyone's is counted by its digest.
 */
export function userNameKey(userName: string): string {
  const normalized = userName.trim().toLowerCase();
  return normalized.length <= 256 ? normalized : createHash('sha256').update(normalized).digest('hex');
}

/** 7700701 with the seconds until the window ends as Retry-After (at least 1). */
export function throttled(limit: LimitKind, msLeft: number): RekeyError {
  return new RekeyError(Codes.RequestThrottled, {
    details: { limit },
    retryAfterSeconds: Math.max(1, Math.ceil(msLeft / 1000)),
  });
}

function appendHook(
  route: RouteOptions,
  hook: 'preValidation' | 'preHandler',
  handler: (request: FastifyRequest) => Promise<void>,
): void {
  const existing = route[hook];
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  (route as unknown as Record<string, unknown>)[hook] = [...list, handler];
}

/**
 * Per client address and per user name limits on the routes in `routes` (the token endpoint and
 * the password changes), through @fastify/rate-limit over the database counter, so that every
 * process counts together. Each request costs one upsert per limit. Registered before the feature
 * plugins: it adds its hooks to their routes as they are registered. A limit of 0 is off.
 *
 * The address is `request.ip`: the socket's peer, or the client named by X-Forwarded-For when
 * the peer is a proxy REKEY_TRUST_PROXY trusts. Loopback addresses are counted like any other.
 */
export function rateLimits(deps: {
  readonly counter: RateLimitCounter;
  readonly settings: RateLimitSettings;
  readonly routes: readonly LimitedRoute[];
  readonly onRefused?: RefusalListener;
}): FastifyPluginAsync {
  const { settings } = deps;
  const timeWindow = settings.windowSeconds * 1000;
  return fastifyPlugin(async (app) => {
    await app.register(fastifyRateLimit, { global: false, store: rateLimitStoreOf(deps.counter) });
    const perIp =
      settings.perIp > 0
        ? app.createRateLimit({
            max: settings.perIp,
            timeWindow,
            keyGenerator: (request) => `ip:${normalizeIP(request.ip)}`,
          })
        : undefined;

    async function refuse(
      request: FastifyRequest,
      limit: LimitKind,
      msLeft: number,
      userName: string | undefined,
    ): Promise<never> {
      const refusal = throttled(limit, msLeft);
      request.log.warn({ code: refusal.code, limit, ip: request.ip }, 'request throttled');
      try {
        await deps.onRefused?.(request, refusal, userName);
      } catch (error) {
        request.log.error({ err: error }, 'could not record a throttled request');
      }
      throw refusal;
    }

    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const limited = deps.routes.find((r) => r.url === route.url && methods.includes(r.method));
      if (!limited) return;
      const perUser =
        settings.perUser > 0
          ? app.createRateLimit({
              max: settings.perUser,
              timeWindow,
              keyGenerator: (request) => `user:${userNameKey(limited.userName(request) ?? '')}`,
            })
          : undefined;
      if (perIp) {
        appendHook(route, 'preValidation', async (request) => {
          const result = await perIp(request);
          if (!result.isAllowed && result.isExceeded) {
            await refuse(request, 'clientAddress', result.ttl, readUserName(limited, request));
          }
        });
      }
      if (perUser) {
        appendHook(route, limited.userHook, async (request) => {
          const userName = readUserName(limited, request);
          if (userName === undefined) return;
          const result = await perUser(request);
          if (!result.isAllowed && result.isExceeded) await refuse(request, 'userName', result.ttl, userName);
        });
      }
    });
  });
}

/** The route's user name, if the request has a non-blank one yet. */
function readUserName(route: LimitedRoute, request: FastifyRequest): string | undefined {
  const name = route.userName(request)?.trim();
  return name ? name : undefined;
}
