import type { FastifyRequest } from 'fastify';
import type { Db } from '../platform/db/database.js';
import type { UserRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import { type DirectoryRole, parseRoles } from '../roles/directory-roles.js';
import { findClientApplication } from '../tenant/tenant-service.js';
import { hasAnyRole } from '../users/authorization.js';
import { findLiveUser } from '../users/user-service.js';
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

/** A preHandler that needs only the request; it throws a RekeyError to refuse. */
export type RequestCheck = (request: FastifyRequest) => Promise<void>;

export interface AuthGuard {
  /** preHandler: requires a valid bearer token of a live, enabled user whose sessions are current. */
  readonly authenticate: RequestCheck;
  /** preHandler factory: additionally requires one of `roles`. */
  requireRole(roles: readonly DirectoryRole[]): RequestCheck;
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
}): AuthGuard {
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

  return {
    authenticate,
    requireRole(roles) {
      return async (request) => {
        if (!request.principal) await authenticate(request);
        const principal = principalOf(request);
        if (!hasAnyRole(principal.actor.roles, roles)) {
          throw new RekeyError(Codes.InsufficientPrivileges, { details: { requiredRoles: roles } });
        }
      };
    },
  };
}
