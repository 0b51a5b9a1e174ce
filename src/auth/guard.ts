import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditActivityName } from '../audit/audit-activities.js';
import { failureReason, recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { UserRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { throttled } from '../platform/http/rate-limit.js';
import type { RateLimitCounter } from '../platform/http/rate-limit-counter.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import { type DirectoryRole, parseRoles } from '../roles/directory-roles.js';
import { findClientApplication } from '../tenant/tenant-service.js';
import { hasAnyRole } from '../users/authorization.js';
import { findLiveUser, findUserForLog } from '../users/user-service.js';
import type { TokenIssuer } from './access-token.js';
import { isTokenFamilyRevoked } from './refresh-token-store.js';

/** The signed-in caller of a request: the actor and their current user row. */
export interface Principal {
  readonly actor: Actor;
  readonly user: UserRow;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** What the guard notes on a request to an audited administrative action (see countRefusal). */
const refusalState = new WeakMap<FastifyRequest, { counted: boolean }>();

/** A preHandler that needs only the request; it throws a RekeyError to refuse. */
export type RequestCheck = (request: FastifyRequest) => Promise<void>;

export interface AuthGuard {
  /** preHandler: requires a valid bearer token of a live, enabled user whose sessions are current. */
  readonly authenticate: RequestCheck;
  /**
   * preHandler factory: additionally requires one of `roles`. With `activity`, the route is an
   * administrative action on the user its `:id` names: a caller refused here is audited as a
   * failure of that activity, and a caller refused too often is throttled (see countRefusal).
   */
  requireRole(roles: readonly DirectoryRole[], activity?: AuditActivityName): RequestCheck;
  /**
   * For an onSend hook: counts a 403 of an audited action that the service refused (and audited),
   * so that its caller's refusals are limited as the guard's own are.
   */
  countRefusal(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/** The limit on audited refusals of one caller (REKEY_RATE_LIMIT_REFUSED_ADMIN); 0 is off. */
export interface RefusedActionLimit {
  readonly counter: RateLimitCounter;
  readonly max: number;
  readonly windowSeconds: number;
}

/** The principal of an authenticated request; only call after `authenticate` ran. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new RekeyError(Codes.AuthenticationRequired);
  return request.principal;
}

/** The service-facing context of a request. */
export function contextOf(request: FastifyRequest): RequestContext {
  return {
    correlationId: request.correlationId,
    ipAddress: request.ip,
    userAgent: request.headers['user-agent'],
    actor: request.principal?.actor,
  };
}

/** Bearer-token authentication for the Graph and Rekey APIs. */
export function createAuthGuard(deps: {
  readonly db: Db;
  readonly tenantId: string;
  readonly tokens: TokenIssuer;
  /** Dates the audit rows of refusals. */
  readonly clock: Clock;
  /** Without it, refusals are audited but never throttled. */
  readonly refusedActions?: RefusedActionLimit;
}): AuthGuard {
  const limit = deps.refusedActions && deps.refusedActions.max > 0 ? deps.refusedActions : undefined;
  const windowMs = (limit?.windowSeconds ?? 60) * 1000;
  const bucketOf = (actor: Actor) => `refused:${actor.userId}`;
  const appNames = new Map<string, string>();

  async function appName(appId: string): Promise<string> {
    const cached = appNames.get(appId);
    if (cached) return cached;
    const app = await findClientApplication(deps.db.kysely, deps.tenantId, appId);
    const name = app?.displayName ?? appId;
    appNames.set(appId, name);
    return name;
  }

  const authenticate: RequestCheck = async (request) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+([A-Za-z0-9._-]+)$/i.exec(header) : null;
    if (!match?.[1]) throw new RekeyError(Codes.AuthenticationRequired);
    const claims = await deps.tokens.verifyAccessToken(match[1]);
    if (claims.tenantId !== deps.tenantId) throw new RekeyError(Codes.InvalidAccessToken);
    const user = await findLiveUser(deps.db.kysely, deps.tenantId, { id: claims.userId });
    // The token is genuine, so its user existed: deleting the account ended its sessions (the
    // same answer a password change gives), which is what the token's holder needs to know.
    if (!user) throw new RekeyError(Codes.SsoArtifactRevoked);
    // While the account is disabled, signing in again would not help: say why.
    if (user.account_enabled !== 1) throw new RekeyError(Codes.UserDisabled);
    // A password change or session revocation bumps the version: older tokens stop working at once.
    if (claims.sessionVersion !== user.session_version) throw new RekeyError(Codes.SsoArtifactRevoked);
    // A replayed refresh token revoked the family this token was issued in.
    if (claims.familyId && (await isTokenFamilyRevoked(deps.db.kysely, claims.familyId))) {
      throw new RekeyError(Codes.SsoArtifactRevoked);
    }
    request.principal = {
      user,
      actor: {
        userId: user.id,
        userPrincipalName: user.user_principal_name,
        displayName: user.display_name,
        roles: parseRoles(user.roles),
        appId: claims.appId,
        appDisplayName: await appName(claims.appId),
      },
    };
  };

  /** The user an audited route's `:id` names (an object id, deleted or not, or a UPN), for the row. */
  async function targetOf(request: FastifyRequest) {
    const params = request.params as Record<string, unknown> | undefined;
    const id = typeof params?.['id'] === 'string' ? params['id'] : '';
    const user = id.includes('@')
      ? await findLiveUser(deps.db.kysely, deps.tenantId, { upn: id })
      : id
        ? await findUserForLog(deps.db.kysely, deps.tenantId, id)
        : undefined;
    return {
      id: user?.id ?? id,
      displayName: user?.display_name ?? null,
      userPrincipalName: user?.user_principal_name ?? null,
    };
  }

  /**
   * Counts one refusal of `actor`; true while the caller is within the limit (the refusal is
   * audited), false past it (answered 429 and not audited, so refusals cannot flood the log).
   */
  async function countOne(actor: Actor): Promise<{ readonly audit: boolean; readonly msLeft: number }> {
    if (!limit) return { audit: true, msLeft: 0 };
    const counted = await limit.counter.count(bucketOf(actor), windowMs);
    return { audit: counted.count <= limit.max, msLeft: counted.msLeft };
  }

  return {
    authenticate,
    requireRole(roles, activity) {
      return async (request) => {
        if (!request.principal) await authenticate(request);
        const principal = principalOf(request);
        if (activity !== undefined && limit) {
          // A caller refused `max` times in this window is refused at once, before the action is
          // judged or audited again.
          const seen = await limit.counter.peek(bucketOf(principal.actor), windowMs);
          if (seen.count >= limit.max) throw throttled('refusedActions', seen.msLeft);
          refusalState.set(request, { counted: false });
        }
        if (!hasAnyRole(principal.actor.roles, roles)) {
          const refusal = new RekeyError(Codes.InsufficientPrivileges, { details: { requiredRoles: roles } });
          if (activity === undefined) throw refusal;
          refusalState.set(request, { counted: true });
          const counted = await countOne(principal.actor);
          if (!counted.audit) throw throttled('refusedActions', counted.msLeft);
          await recordAudit(
            deps.db.kysely,
            deps.tenantId,
            contextOf(request),
            {
              activity,
              result: 'failure',
              resultReason: failureReason(refusal),
              targets: [await targetOf(request)],
            },
            deps.clock.now().toISOString(),
          );
          throw refusal;
        }
      };
    },
    async countRefusal(request, reply) {
      const state = refusalState.get(request);
      if (!state || state.counted || reply.statusCode !== 403 || !request.principal) return;
      state.counted = true;
      await countOne(request.principal.actor);
    },
  };
}
