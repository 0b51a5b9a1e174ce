import { metadataUrl } from '../platform/http/graph-envelope.js';
import type { GraphSubscribedSku, SubscribedSkuCollection, SubscribedSkuEntity } from './license-schemas.js';
import type { SubscriptionView } from './license-service.js';

/** Graph's `subscribedSku` of a subscription; `id` is `{tenantId}_{skuId}`, as Graph forms it. */
export function toGraphSubscribedSku(view: SubscriptionView): GraphSubscribedSku {
  const { row, sku } = view;
  const status = row.capability_status;
  const units = row.enabled_units;
  return {
    id: `${row.tenant_id}_${row.sku_id}`,
    accountId: row.tenant_id,
    appliesTo: 'User',
    capabilityStatus: status,
    consumedUnits: row.consumed_units,
    // Graph counts the units of each state apart; a Rekey subscription's units share its one status.
    prepaidUnits: {
      enabled: status === 'Enabled' ? units : 0,
      lockedOut: status === 'LockedOut' ? units : 0,
      suspended: status === 'Suspended' ? units : 0,
      warning: status === 'Warning' ? units : 0,
    },
    servicePlans: (sku?.servicePlans ?? []).map((plan) => ({
      servicePlanId: plan.servicePlanId,
      servicePlanName: plan.servicePlanName,
      provisioningStatus: status === 'Enabled' || status === 'Warning' ? 'Success' : 'Disabled',
      appliesTo: 'User',
    })),
    skuId: row.sku_id,
    skuPartNumber: row.sku_part_number,
    assignToNewUsers: row.assign_to_new_users === 1,
  };
}

/** `GET /v1.0/subscribedSkus`. */
export function toSubscribedSkuCollection(
  views: readonly SubscriptionView[],
  publicUrl: string,
): SubscribedSkuCollection {
  return {
    '@odata.context': metadataUrl(publicUrl, 'subscribedSkus'),
    value: views.map(toGraphSubscribedSku),
  };
}

/** One subscription. */
export function toSubscribedSkuEntity(view: SubscriptionView, publicUrl: string): SubscribedSkuEntity {
  return {
    '@odata.context': metadataUrl(publicUrl, 'subscribedSkus/$entity'),
    ...toGraphSubscribedSku(view),
  };
}
