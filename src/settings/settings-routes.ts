import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { passwordPolicyAdministrationRoles, passwordPolicyReaderRoles } from '../users/authorization.js';
import {
  passwordPolicyPatchResponse,
  passwordPolicySettingsResponse,
  passwordProtectionPatchResponse,
  passwordProtectionSettingsResponse,
  signInPatchResponse,
  signInSettingsResponse,
  smartLockoutPatchResponse,
  smartLockoutSettingsResponse,
} from './settings-schemas.js';
import type { SettingsService } from './settings-service.js';

/*
 * `GET/PATCH /rekey/v1/settings/passwordPolicy`, `.../passwordProtection`, `.../smartLockout` and
 * `.../signIn`.
 *
 * The PATCH body is validated by the policy engine's apply...Patch functions rather than by a
 * route schema: they check ranges, the cross-field rules and every term of the custom list, and
 * name every bad field in one 7700001, in the same `{ field, problem }` form as schema errors.
 * `?preview=true` answers what the PATCH would change and whom it would affect, and applies
 * nothing. Unknown query options are refused, so a misspelt `preview` never applies a change.
 */

const patchQuery = Type.Object({ preview: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

/** The settings API. Reading needs a directory reader role; changing needs a policy administrator. */
export function settingsRoutes(deps: {
  readonly guard: AuthGuard;
  readonly settings: SettingsService;
}): FastifyPluginAsync {
  const { guard, settings } = deps;
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/rekey/v1/settings/passwordPolicy',
      {
        preHandler: guard.requireRole(passwordPolicyReaderRoles),
        schema: { response: { 200: passwordPolicySettingsResponse, ...graphErrorResponses } },
      },
      async () => settings.getPasswordPolicy(),
    );

    app.patch(
      '/rekey/v1/settings/passwordPolicy',
      {
        preHandler: guard.requireRole(passwordPolicyAdministrationRoles),
        schema: {
          querystring: patchQuery,
          response: { 200: passwordPolicyPatchResponse, ...graphErrorResponses },
        },
      },
      async (request) => {
        if (request.query.preview === true) return settings.previewPasswordPolicy(request.body);
        return (await settings.updatePasswordPolicy(contextOf(request), request.body)).settings;
      },
    );

    app.get(
      '/rekey/v1/settings/smartLockout',
      {
        preHandler: guard.requireRole(passwordPolicyReaderRoles),
        schema: { response: { 200: smartLockoutSettingsResponse, ...graphErrorResponses } },
      },
      async () => settings.getSmartLockout(),
    );

    app.patch(
      '/rekey/v1/settings/smartLockout',
      {
        preHandler: guard.requireRole(passwordPolicyAdministrationRoles),
        schema: {
          querystring: patchQuery,
          response: { 200: smartLockoutPatchResponse, ...graphErrorResponses },
        },
      },
      async (request) => {
        if (request.query.preview === true) return settings.previewSmartLockout(request.body);
        return (await settings.updateSmartLockout(contextOf(request), request.body)).settings;
      },
    );

    app.get(
      '/rekey/v1/settings/signIn',
      {
        preHandler: guard.requireRole(passwordPolicyReaderRoles),
        schema: { response: { 200: signInSettingsResponse, ...graphErrorResponses } },
      },
      async () => settings.getSignIn(),
    );

    app.patch(
      '/rekey/v1/settings/signIn',
      {
        preHandler: guard.requireRole(passwordPolicyAdministrationRoles),
        schema: {
          querystring: patchQuery,
          response: { 200: signInPatchResponse, ...graphErrorResponses },
        },
      },
      async (request) => {
        if (request.query.preview === true) return settings.previewSignIn(request.body);
        return (await settings.updateSignIn(contextOf(request), request.body)).settings;
      },
    );

    app.get(
      '/rekey/v1/settings/passwordProtection',
      {
        preHandler: guard.requireRole(passwordPolicyReaderRoles),
        schema: { response: { 200: passwordProtectionSettingsResponse, ...graphErrorResponses } },
      },
      async () => settings.getPasswordProtection(),
    );

    app.patch(
      '/rekey/v1/settings/passwordProtection',
      {
        preHandler: guard.requireRole(passwordPolicyAdministrationRoles),
        schema: {
          querystring: patchQuery,
          response: { 200: passwordProtectionPatchResponse, ...graphErrorResponses },
        },
      },
      async (request) => {
        if (request.query.preview === true) return settings.previewPasswordProtection(request.body);
        return (await settings.updatePasswordProtection(contextOf(request), request.body)).settings;
      },
    );
  };
}
