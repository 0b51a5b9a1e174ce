import type { FastifyPluginAsync } from 'fastify';
import { type AuthGuard, contextOf, principalOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { passwordPolicyEvaluationRoles } from '../users/authorization.js';
import { toPolicyEvaluation } from './password-mapper.js';
import type { PasswordPolicyService } from './password-policy-service.js';
import {
  policyEvaluationBody,
  policyEvaluationSchema,
  selfPolicyEvaluationBody,
} from './password-schemas.js';

/**
 * `POST /rekey/v1/passwordPolicy/evaluate`: the policy dry run for administrators; and
 * `POST /rekey/v1/me/passwordPolicy/evaluate`: the signed-in user's dry run of a new password of
 * their own, which My account calls as they type.
 */
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
        schema: {
          body: policyEvaluationBody,
          response: { 200: policyEvaluationSchema, ...graphErrorResponses },
        },
      },
      async (request) =>
        toPolicyEvaluation(await deps.passwordPolicy.evaluate(contextOf(request), request.body)),
    );

    // Any signed-in user, for themselves only: the user is the caller, never a field of the body.
    // Without history (that check is the change's own, audited, and costs a hash per entry), so a
    // keystroke costs no password hashing. Nothing logs the body: request lines carry no body.
    app.post(
      '/rekey/v1/me/passwordPolicy/evaluate',
      {
        preHandler: deps.guard.authenticate,
        schema: {
          body: selfPolicyEvaluationBody,
          response: { 200: policyEvaluationSchema, ...graphErrorResponses },
        },
      },
      async (request) =>
        toPolicyEvaluation(
          await deps.passwordPolicy.evaluate(contextOf(request), {
            password: request.body.password,
            userId: principalOf(request).user.id,
          }),
        ),
    );
  };
}
