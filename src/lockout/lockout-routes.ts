import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { directoryReaderRoles, passwordResetRoles } from '../users/authorization.js';
import { lockoutViewSchema } from './lockout-schemas.js';
import type { LockoutService } from './lockout-service.js';

/*
 * Smart lockout for administrators:
 *   GET  /rekey/v1/users/{id|upn}/lockout   the lock state per kind of network, and the settings
 *                                           in effect (directory readers, password administrators)
 *   POST /rekey/v1/users/{id|upn}/unlock    ends the locks and restarts the counts, audited; 200
 *                                           with the new state (those who may reset the user's
 *                                           password, by the reset table of authorization.ts)
 * The user's own sign-in never learns any of this: it only gets 50053 while locked.
 */

const params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 113 }) });

/** The lockout view and the unlock action. */
export function lockoutRoutes(deps: {
  readonly guard: AuthGuard;
  readonly lockout: LockoutService;
}): FastifyPluginAsync {
  const { guard, lockout } = deps;
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/rekey/v1/users/:id/lockout',
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { params, response: { 200: lockoutViewSchema, ...graphErrorResponses } },
      },
      async (request) => lockout.getLockout(request.params.id),
    );

    app.post(
      '/rekey/v1/users/:id/unlock',
      {
        // No body is needed; one sent anyway (`{}`) is accepted and ignored.
        preHandler: guard.requireRole(passwordResetRoles, 'unlockUserAccount'),
        schema: { params, response: { 200: lockoutViewSchema, ...graphErrorResponses } },
      },
      async (request) => lockout.unlock(contextOf(request), request.params.id),
    );
  };
}
