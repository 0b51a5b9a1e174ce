import { type Static, Type } from 'typebox';
import type { GraphCollection } from '../platform/http/graph-envelope.js';
import {
  graphCollectionSchema,
  graphEntitySchema,
  responseArray,
  responseObject,
} from '../platform/http/response-schemas.js';

/*
 * Graph's `subscribedSku` as `/v1.0/subscribedSkus` answers it (see license-mapper.ts), and the
 * body of Rekey's own `PUT /rekey/v1/subscribedSkus/{sku}` (Graph has no API that adds or changes
 * a subscription: in Entra that is a purchase).
 */

const servicePlanInfo = responseObject({
  servicePlanId: Type.String(),
  servicePlanName: Type.String(),
  provisioningStatus: Type.String(),
  appliesTo: Type.String(),
});

/** Graph's `subscribedSku`, in output order. */
export const subscribedSkuSchema = responseObject(
  {
    id: Type.String(),
    accountId: Type.String(),
    appliesTo: Type.String(),
    capabilityStatus: Type.String(),
    consumedUnits: Type.Integer(),
    prepaidUnits: responseObject({
      enabled: Type.Integer(),
      lockedOut: Type.Integer(),
      suspended: Type.Integer(),
      warning: Type.Integer(),
    }),
    servicePlans: responseArray(servicePlanInfo),
    skuId: Type.String(),
    skuPartNumber: Type.String(),
    /** Rekey's addition: whether every new user is given this SKU when created. */
    assignToNewUsers: Type.Boolean(),
  },
  "Graph's subscribedSku",
);
export type GraphSubscribedSku = Static<typeof subscribedSkuSchema>;

export const subscribedSkuEntitySchema = graphEntitySchema(subscribedSkuSchema);
export type SubscribedSkuEntity = Static<typeof subscribedSkuEntitySchema>;

export const subscribedSkuCollectionSchema = graphCollectionSchema(
  subscribedSkuSchema,
  "The tenant's subscriptions",
);
export type SubscribedSkuCollection = GraphCollection<GraphSubscribedSku>;

/** `PUT /rekey/v1/subscribedSkus/{sku}`: add the subscription or change it. */
export const setSubscriptionBody = Type.Object(
  {
    prepaidUnits: Type.Optional(
      Type.Object(
        { enabled: Type.Integer({ minimum: 0, maximum: 100_000_000 }) },
        { additionalProperties: false },
      ),
    ),
    capabilityStatus: Type.Optional(
      Type.Union([
        Type.Literal('Enabled'),
        Type.Literal('Warning'),
        Type.Literal('Suspended'),
        Type.Literal('LockedOut'),
      ]),
    ),
    assignToNewUsers: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type SetSubscriptionBody = Static<typeof setSubscriptionBody>;
