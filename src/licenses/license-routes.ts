import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import {
  licenseAssignmentRoles,
  subscriptionAdministrationRoles,
  subscriptionReaderRoles,
} from '../users/authorization.js';
import { toCreatedUserEntity } from '../users/user-mapper.js';
import { assignLicenseBody, idParams, userEntitySchema } from '../users/user-schemas.js';
import { toSubscribedSkuCollection, toSubscribedSkuEntity } from './license-mapper.js';
import {
  setSubscriptionBody,
  subscribedSkuCollectionSchema,
  subscribedSkuEntitySchema,
} from './license-schemas.js';
import type { LicenseService } from './license-service.js';

/*
 * Licences:
 *
 *   GET  /v1.0/subscribedSkus                 the tenant's subscriptions (Graph's subscribedSku)
 *   GET  /v1.0/subscribedSkus/{id}            one, by `{tenantId}_{skuId}`, skuId or part number
 *   POST /v1.0/users/{id}/assignLicense       add and remove a user's licences; 200 + the user
 *   PUT  /rekey/v1/subscribedSkus/{sku}       Rekey's own: add a subscription or change its units,
 *                                             status and whether new users get it
 */

const skuParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export function licenseRoutes(deps: {
  readonly guard: AuthGuard;
  readonly licenses: LicenseService;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  const { guard, licenses, publicUrl } = deps;

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/v1.0/subscribedSkus',
      {
        preHandler: guard.requireRole(subscriptionReaderRoles),
        schema: { response: { 200: subscribedSkuCollectionSchema, ...graphErrorResponses } },
      },
      async () => toSubscribedSkuCollection(await licenses.listSubscriptions(), publicUrl),
    );

    app.get(
      '/v1.0/subscribedSkus/:id',
      {
        preHandler: guard.requireRole(subscriptionReaderRoles),
        schema: { params: skuParams, response: { 200: subscribedSkuEntitySchema, ...graphErrorResponses } },
      },
      async (request) => toSubscribedSkuEntity(await licenses.getSubscription(request.params.id), publicUrl),
    );

    app.put(
      '/rekey/v1/subscribedSkus/:id',
      {
        preHandler: guard.requireRole(subscriptionAdministrationRoles),
        schema: {
          params: skuParams,
          body: setSubscriptionBody,
          response: { 200: subscribedSkuEntitySchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const view = await licenses.setSubscription(contextOf(request), request.params.id, {
          enabledUnits: request.body.prepaidUnits?.enabled,
          capabilityStatus: request.body.capabilityStatus,
          assignToNewUsers: request.body.assignToNewUsers,
        });
        return toSubscribedSkuEntity(view, publicUrl);
      },
    );

    app.post(
      '/v1.0/users/:id/assignLicense',
      {
        preHandler: guard.requireRole(licenseAssignmentRoles, 'changeUserLicense'),
        schema: {
          params: idParams,
          body: assignLicenseBody,
          response: { 200: userEntitySchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        const row = await licenses.assignLicense(contextOf(request), request.params.id, request.body);
        return toCreatedUserEntity(row, publicUrl);
      },
    );
  };
}
