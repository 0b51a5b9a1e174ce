import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { passwordPolicyEvaluationRoles } from '../users/authorization.js';
import type { PasswordPolicyService } from './password-policy-service.js';

/** The password field of the dry run: as long as any password Rekey accepts elsewhere. */
const password = Type.String({ minLength: 1, maxLength: 1024 });

const evaluateBody = Type.Object(
  {
    password,
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    userPrincipalName: Type.Optional(Type.String({ minLength: 3, maxLength: 113 })),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    checkHistory: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** `POST /rekey/v1/passwordPolicy/evaluate`: the policy dry run for administrators. */
export function passwordPolicyRoutes(deps: {
  readonly guard: AuthGuard;
  readonly passwordPolicy: PasswordPolicyService;
}): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.post(
      '/rekey/v1/passwordPolicy/evaluate',
      {
        preHandler: deps.guard.requireRole(passwordPolicyEvaluationRoles),
        schema: { body: evaluateBody },
      },
      async (request) => {
        const result = await deps.passwordPolicy.evaluate(contextOf(request), request.body);
        // Named fields only: the answer never carries the password, whatever the service adds later.
        return {
          valid: result.valid,
          failures: result.failures.map(({ rule, code, message }) => ({ rule, code, message })),
          passwordProtection: result.passwordProtection,
          rulesChecked: result.rulesChecked,
          user: result.user,
          historyChecked: result.historyChecked,
        };
      },
    );
  };
}
