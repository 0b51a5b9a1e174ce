import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf, principalOf } from '../auth/guard.js';
import type { Db } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses, noContent } from '../platform/http/response-schemas.js';
import { assertTenantSegment } from '../tenant/tenant-resolver.js';
import type { TenantRecord } from '../tenant/tenant-service.js';
import { assertMayReadPasswordOperation, isSelf, passwordResetRoles } from '../users/authorization.js';
import { toLongRunningOperation, toPasswordResetResponse } from './password-mapper.js';
import {
  changePasswordBody,
  expiredPasswordChangeBody,
  longRunningOperationSchema,
  passwordResetResponseSchema,
  resetPasswordBody,
} from './password-schemas.js';
import type { PasswordService } from './password-service.js';

/** Graph's fixed id of the password authentication method. */
export const passwordMethodId = '28c10230-6103-485e-b985-444c60001490';

function operationLocation(userId: string, operationId: string): string {
  return `/v1.0/users/${userId}/authentication/operations/${operationId}`;
}

/**
 * Runs a change for a caller who waits. While its operation is still going when the wait runs out,
 * the 503 (7700902) says where to read it and when (`Location`, `Retry-After`); the root handler
 * renders the error itself.
 */
async function answeringStillRunning<T>(
  reply: FastifyReply,
  publicUrl: string,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RekeyError && error.code === Codes.PasswordOperationStillRunning) {
      const { userId, operationId, retryAfterSeconds } = error.details ?? {};
      if (typeof userId === 'string' && typeof operationId === 'string')
        reply.header('location', `${publicUrl}${operationLocation(userId, operationId)}`);
      reply.header('retry-after', String(typeof retryAfterSeconds === 'number' ? retryAfterSeconds : 1));
    }
    throw error;
  }
}

/** Self-service change, the expired-password change, admin reset and operation status. */
export function passwordRoutes(deps: {
  readonly db: Db;
  readonly tenant: TenantRecord;
  readonly guard: AuthGuard;
  readonly passwords: PasswordService;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    const { guard, passwords } = deps;

    app.post(
      '/v1.0/me/changePassword',
      {
        preHandler: guard.authenticate,
        schema: { body: changePasswordBody, response: { 204: noContent, ...graphErrorResponses } },
      },
      async (request, reply) => {
        await answeringStillRunning(reply, deps.publicUrl, () =>
          passwords.changeOwnPassword(contextOf(request), principalOf(request).user.id, {
            ...request.body,
            kind: 'selfChange',
          }),
        );
        return reply.status(204).send();
      },
    );

    app.post(
      '/:tenant/password/change',
      {
        schema: {
          params: Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 256 }) }),
          body: expiredPasswordChangeBody,
          response: { 204: noContent, ...graphErrorResponses },
        },
      },
      async (request, reply) => {
        await assertTenantSegment(deps.db, deps.tenant, request.params.tenant);
        await answeringStillRunning(reply, deps.publicUrl, () =>
          passwords.changeExpiredPassword(contextOf(request), request.body),
        );
        return reply.status(204).send();
      },
    );

    app.post(
      `/v1.0/users/:id/authentication/methods/${passwordMethodId}/resetPassword`,
      {
        // Graph lets a client send no body at all to have a password generated; the schema
        // validator would refuse a missing body, so it is read as an empty one.
        preValidation: async (request) => {
          request.body ??= {};
        },
        preHandler: guard.requireRole(passwordResetRoles, 'resetPasswordByAdmin'),
        schema: {
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 113 }) }),
          body: resetPasswordBody,
          headers: Type.Object({
            'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          }),
          response: { 202: passwordResetResponseSchema, ...graphErrorResponses },
        },
      },
      async (request, reply) => {
        const { operation, generatedPassword } = await passwords.resetPassword(
          contextOf(request),
          request.params.id,
          {
            newPassword: request.body.newPassword,
            idempotencyKey: request.headers['idempotency-key'],
          },
        );
        reply
          .status(202)
          .header('location', `${deps.publicUrl}${operationLocation(operation.user_id, operation.id)}`)
          .header('retry-after', '1')
          // The body can carry a generated password: no cache, shared or private, may keep it.
          .header('cache-control', 'no-store')
          .header('pragma', 'no-cache');
        return toPasswordResetResponse(generatedPassword, deps.publicUrl);
      },
    );

    app.get(
      '/v1.0/users/:id/authentication/operations/:operationId',
      {
        preHandler: guard.authenticate,
        schema: {
          params: Type.Object({
            id: Type.String({ minLength: 1, maxLength: 113 }),
            operationId: Type.String({ format: 'uuid' }),
          }),
          response: { 200: longRunningOperationSchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        assertMayReadPasswordOperation(principal.actor, request.params.id);
        const userId = isSelf(principal.actor, request.params.id) ? principal.user.id : request.params.id;
        const row = await passwords.getOperation(userId, request.params.operationId);
        return toLongRunningOperation(row, deps.publicUrl);
      },
    );
  };
}
