import type { FastifyRequest } from 'fastify';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { LimitedRoute, RefusalListener } from '../platform/http/rate-limit.js';
import { recordSignIn } from '../sign-ins/sign-in-log-service.js';
import { findClientApplication } from '../tenant/tenant-service.js';

/** The string value of a field of a parsed form or JSON body, if it has one. */
function field(request: FastifyRequest, name: string): string | undefined {
  const body = request.body;
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

const tokenUrl = '/:tenant/oauth2/v2.0/token';

/**
 * The routes that check passwords without an administrator's role, so the ones a flood or a
 * password spray aims at: the token endpoint (its password grant names the user in `username`),
 * the sign-in page's credentials form and its password change step (`username`), the
 * expired-password change (`userPrincipalName`) and the signed-in user's own change (the caller,
 * once authenticated).
 */
export const passwordCheckingRoutes: readonly LimitedRoute[] = [
  {
    method: 'POST',
    url: tokenUrl,
    userName: (request) =>
      field(request, 'grant_type') === 'password' ? field(request, 'username') : undefined,
    userHook: 'preValidation',
  },
  {
    method: 'POST',
    url: '/:tenant/oauth2/v2.0/authorize',
    userName: (request) => field(request, 'username'),
    userHook: 'preValidation',
  },
  {
    method: 'POST',
    url: '/:tenant/oauth2/v2.0/authorize/password',
    userName: (request) => field(request, 'username'),
    userHook: 'preValidation',
  },
  {
    method: 'POST',
    url: '/:tenant/password/change',
    userName: (request) => field(request, 'userPrincipalName'),
    userHook: 'preValidation',
  },
  {
    method: 'POST',
    url: '/v1.0/me/changePassword',
    userName: (request) => request.principal?.actor.userPrincipalName,
    userHook: 'preHandler',
  },
];

/**
 * Writes a throttled password sign-in to the sign-in log, with the throttling code, as the token
 * endpoint writes every attempt; the account is named as typed (the user was not looked up). The
 * password changes keep no sign-in log, and a request without a user name has nobody to log.
 */
export function logThrottledSignIns(deps: {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  /** False when the sign-in log is off (`REKEY_SIGN_IN_LOG=off`). */
  readonly enabled: boolean;
}): RefusalListener {
  return async (request, refusal, userName) => {
    if (!deps.enabled || userName === undefined || request.routeOptions.url !== tokenUrl) return;
    const clientId = field(request, 'client_id') ?? '';
    const app =
      clientId && clientId.length <= 36
        ? await findClientApplication(deps.db.kysely, deps.tenantId, clientId)
        : undefined;
    await recordSignIn(deps.db.kysely, {
      tenant_id: deps.tenantId,
      created_at: deps.clock.now().toISOString(),
      user_id: null,
      user_principal_name: userName,
      user_display_name: null,
      app_id: app?.appId ?? clientId.slice(0, 36),
      app_display_name: app?.displayName ?? null,
      client_app_used: 'Mobile Apps and Desktop clients',
      ip_address: request.ip,
      user_agent: request.headers['user-agent']?.slice(0, 512) ?? null,
      correlation_id: request.correlationId,
      is_interactive: 1,
      error_code: refusal.code,
      failure_reason: refusal.message,
      additional_details: refusal.entry.remediation[0] ?? null,
    });
  };
}
