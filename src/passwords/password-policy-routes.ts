import type { FastifyPluginAsync } from 'fastify';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { passwordPolicyEvaluationRoles } from '../users/authorization.js';
import { toPolicyEvaluation } from './password-mapper.js';
import type { PasswordPolicyService } from './password-policy-service.js';
import { policyEvaluationBody, policyEvaluationSchema } from './password-schemas.js';

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
        schema: {
          body: policyEvaluationBody,
          response: { 200: policyEvaluationSchema, ...graphErrorResponses },
        },
      },
      async (request) =>
        toPolicyEvaluation(await deps.passwordPolicy.evaluate(contextOf(request), request.body)),
    );
  };
}
