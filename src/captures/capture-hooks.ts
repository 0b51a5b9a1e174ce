import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { TokenIssuer } from '../auth/access-token.js';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { Clock } from '../platform/clock.js';
import type { CaptureRecord, CaptureService } from './capture-service.js';

/*
 * The hooks that record exchanges for captures, registered as a root plugin (before the feature
 * routes, so that every route gets them):
 *   onSend      decides whether the exchange belongs to a capture and keeps the payload if so;
 *   onResponse  hands it to the capture service, which redacts and stores it in the background.
 * With no active capture and no `Rekey-Capture` header, onSend returns at its first line: one
 * in-memory check (see capture-service.ts for how that list stays current across processes).
 *
 * An exchange belongs to a capture of:
 *   - its correlation ID;
 *   - its user: the signed-in caller; for a request refused its token (expired, or its session
 *     ended), the user Rekey signed that token for; for a request without one (a sign-in at the
 *     token endpoint), the `username` or `userPrincipalName` field of its body;
 *   - the header: `Rekey-Capture: on` with a bearer token of a role in captureAdministrationRoles
 *     records the request in that administrator's header capture (made on the first such request,
 *     for an hour). From anyone else the header is ignored, never refused: the request is answered
 *     as it would be without it, with `Rekey-Capture: ignored` so the sender can tell. An honoured
 *     request is answered with `Rekey-Capture: <capture id>`.
 */

export const captureHeader = 'rekey-capture';

interface Pending {
  readonly captures: readonly CaptureRecord[];
  readonly payload: unknown;
  readonly userId: string | undefined;
}

const pending = new WeakMap<FastifyRequest, Pending>();

/** The user name a request without a signed-in caller names in its body (a sign-in's). */
function bodyUserName(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const fields = body as Record<string, unknown>;
  const name = fields['username'] ?? fields['userPrincipalName'];
  return typeof name === 'string' && name.length <= 256 ? name.toLowerCase() : undefined;
}

export function captureHooks(deps: {
  readonly captures: CaptureService;
  readonly guard: AuthGuard;
  readonly tokens: Pick<TokenIssuer, 'identifyHolder'>;
  readonly clock: Clock;
}): FastifyPluginAsync {
  const { captures, guard, tokens, clock } = deps;

  /**
   * Who the request is from: its signed-in caller, else the holder of the bearer token it was
   * refused for (the case a help desk captures a user for), else nobody.
   */
  async function callerOf(
    request: FastifyRequest,
  ): Promise<{ readonly userId: string; readonly userPrincipalName: string } | undefined> {
    const actor = request.principal?.actor;
    if (actor) return { userId: actor.userId, userPrincipalName: actor.userPrincipalName };
    const bearer = /^Bearer\s+([A-Za-z0-9._-]+)$/i.exec(request.headers.authorization ?? '')?.[1];
    return bearer === undefined ? undefined : tokens.identifyHolder(bearer);
  }

  /** The header capture of this request's administrator, or undefined when the header is not honoured. */
  async function headerCaptureOf(request: FastifyRequest, asked: string): Promise<CaptureRecord | undefined> {
    if (asked.trim().toLowerCase() !== 'on') return undefined;
    if (!request.principal && request.headers.authorization !== undefined) {
      // A route without the guard (the token endpoint): the token is checked here, as the guard would.
      try {
        await guard.authenticate(request);
      } catch {
        return undefined;
      }
    }
    const actor = request.principal?.actor;
    if (!actor || !captures.mayCaptureByHeader(actor)) return undefined;
    return captures.headerCapture(contextOf(request), actor);
  }

  return fastifyPlugin(async (app) => {
    app.addHook('onSend', async (request, reply, payload) => {
      const asked = request.headers[captureHeader];
      if (!captures.hasActiveCaptures() && asked === undefined) return payload;
      const caller = await callerOf(request);
      const userId = caller?.userId;
      const matched = [
        ...captures.matching({
          userId,
          userPrincipalName: caller ? caller.userPrincipalName.toLowerCase() : bodyUserName(request.body),
          correlationId: request.correlationId,
        }),
      ];
      if (asked !== undefined) {
        const byHeader = await headerCaptureOf(request, Array.isArray(asked) ? (asked[0] ?? '') : asked);
        reply.header(captureHeader, byHeader ? byHeader.id : 'ignored');
        if (byHeader && !matched.some((c) => c.id === byHeader.id)) matched.push(byHeader);
      }
      if (matched.length > 0) pending.set(request, { captures: matched, payload, userId });
      return payload;
    });

    app.addHook('onResponse', async (request, reply) => {
      const found = pending.get(request);
      if (!found) return;
      pending.delete(request);
      const elapsedMs = reply.elapsedTime;
      captures.record(
        found.captures,
        {
          startedAt: new Date(clock.now().getTime() - elapsedMs),
          elapsedMs,
          method: request.method,
          url: request.url,
          httpVersion: request.raw.httpVersion,
          requestHeaders: request.headers,
          requestBody: request.body,
          status: reply.statusCode,
          responseHeaders: reply.getHeaders(),
          responsePayload: found.payload,
          correlationId: request.correlationId,
          requestId: request.id,
          clientAddress: request.ip,
        },
        found.userId,
      );
    });
  });
}
