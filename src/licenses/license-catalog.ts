/*
 * The SKUs a Rekey tenant can subscribe to: Entra ID P1 and P2, under the SKU part numbers, SKU
 * ids and service plan ids Entra publishes for them, so a script that assigns `078d2b04-...` to a
 * user in Entra assigns the same licence here. Entra ID Free is not a SKU (no tenant subscribes to
 * it, and it never appears in subscribedSkus): a user without a licence has what Free gives.
 *
 * What each service plan allows in Rekey is data here too (`grants`): the AAD_PREMIUM plan that both
 * SKUs carry is the one that brings self-service password reset and password writeback, as it does
 * in Entra. Changing one's own password needs no licence at all.
 */

/** What a licence can allow in Rekey. */
export type LicenseCapability = 'selfServicePasswordReset' | 'passwordWriteback';

/** One service plan of a SKU. */
export interface ServicePlan {
  readonly servicePlanId: string;
  readonly servicePlanName: string;
  /** Graph's `assignedPlan.service` of the plan. */
  readonly service: string;
  readonly grants: readonly LicenseCapability[];
}

/** One SKU a tenant may subscribe to. */
export interface SkuDefinition {
  readonly skuId: string;
  readonly skuPartNumber: string;
  /** The product's name, for the CLI. */
  readonly productName: string;
  readonly servicePlans: readonly ServicePlan[];
}

const aadPremium: ServicePlan = {
  servicePlanId: '41781fb2-bc02-4b7c-bd55-b576c07bb09d',
  servicePlanName: 'AAD_PREMIUM',
  service: 'AADPremiumService',
  grants: ['selfServicePasswordReset', 'passwordWriteback'],
};

const mfaPremium: ServicePlan = {
  servicePlanId: '8a256a2b-b617-496d-b51b-e76466e88db0',
  servicePlanName: 'MFA_PREMIUM',
  service: 'MultiFactorService',
  grants: [],
};

const aadPremiumP2: ServicePlan = {
  servicePlanId: 'eec0eb4f-6444-4f95-aba0-50c24d67f998',
  servicePlanName: 'AAD_PREMIUM_P2',
  service: 'AADPremiumService',
  grants: [],
};

/** Every SKU Rekey knows, P1 first. */
export const knownSkus: readonly SkuDefinition[] = [
  {
    skuId: '078d2b04-f1bd-4111-bbd4-b4b1b354cef4',
    skuPartNumber: 'AAD_PREMIUM',
    productName: 'Microsoft Entra ID P1',
    servicePlans: [aadPremium, mfaPremium],
  },
  {
    skuId: '84a661c4-e949-4bd2-a560-ed7766fcaf2b',
    skuPartNumber: 'AAD_PREMIUM_P2',
    productName: 'Microsoft Entra ID P2',
    servicePlans: [aadPremium, mfaPremium, aadPremiumP2],
  },
];

/** The P1 SKU: what a new tenant subscribes to and gives every new user (see migration 0015). */
export const defaultSkuId = '078d2b04-f1bd-4111-bbd4-b4b1b354cef4';

/** Units of the default subscription: enough that a new tenant never runs out by accident. */
export const defaultSkuUnits = 1_000_000;

/** The SKU with this skuId or skuPartNumber (any case), or undefined. */
export function findSku(idOrPartNumber: string): SkuDefinition | undefined {
  const key = idOrPartNumber.trim().toLowerCase();
  return knownSkus.find((sku) => sku.skuId === key || sku.skuPartNumber.toLowerCase() === key);
}

/** Graph's capabilityStatus values a subscription may have. */
export const capabilityStatuses = ['Enabled', 'Warning', 'Suspended', 'LockedOut'] as const;
export type CapabilityStatus = (typeof capabilityStatuses)[number];

/** Whether a subscription in this status still lets its licences work (Warning is a grace period). */
export function isActiveStatus(status: string): boolean {
  return status === 'Enabled' || status === 'Warning';
}
