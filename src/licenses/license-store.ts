import { type Kysely, sql } from 'kysely';
import type { Database, SubscribedSkuRow, UserLicenseRow } from '../platform/db/schema.js';

const skuColumns = [
  'tenant_id',
  'sku_id',
  'sku_part_number',
  'capability_status',
  'enabled_units',
  'consumed_units',
  'assign_to_new_users',
  'created_at',
  'updated_at',
] as const;

export async function listSubscribedSkus(
  db: Kysely<Database>,
  tenantId: string,
): Promise<SubscribedSkuRow[]> {
  return db
    .selectFrom('subscribed_skus')
    .select(skuColumns)
    .where('tenant_id', '=', tenantId)
    .orderBy('sku_part_number')
    .execute();
}

export async function findSubscribedSku(
  db: Kysely<Database>,
  tenantId: string,
  skuId: string,
): Promise<SubscribedSkuRow | undefined> {
  return db
    .selectFrom('subscribed_skus')
    .select(skuColumns)
    .where('tenant_id', '=', tenantId)
    .where('sku_id', '=', skuId)
    .executeTakeFirst();
}

export async function insertSubscribedSku(db: Kysely<Database>, row: SubscribedSkuRow): Promise<void> {
  await db.insertInto('subscribed_skus').values(row).execute();
}

export async function updateSubscribedSku(
  db: Kysely<Database>,
  tenantId: string,
  skuId: string,
  changes: {
    readonly capability_status: string;
    readonly enabled_units: number;
    readonly assign_to_new_users: 0 | 1;
    readonly updated_at: string;
  },
): Promise<void> {
  await db
    .updateTable('subscribed_skus')
    .set(changes)
    .where('tenant_id', '=', tenantId)
    .where('sku_id', '=', skuId)
    .execute();
}

/**
 * Takes one unit of a subscription for a new assignment, if it is active and has one left; true
 * when it did. One conditional update, so two assignments racing for the last unit cannot both
 * take it. `onlyForNewUsers` limits it to subscriptions given to every new user.
 */
export async function takeUnit(
  db: Kysely<Database>,
  tenantId: string,
  skuId: string,
  options: { readonly onlyForNewUsers?: boolean } = {},
): Promise<boolean> {
  let update = db
    .updateTable('subscribed_skus')
    .set({ consumed_units: sql`consumed_units + 1` })
    .where('tenant_id', '=', tenantId)
    .where('sku_id', '=', skuId)
    .where('capability_status', 'in', ['Enabled', 'Warning'])
    .where(sql<boolean>`consumed_units < enabled_units`);
  if (options.onlyForNewUsers) update = update.where('assign_to_new_users', '=', 1);
  const result = await update.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Gives back one unit of a subscription (a licence removed). */
export async function releaseUnit(db: Kysely<Database>, tenantId: string, skuId: string): Promise<void> {
  await db
    .updateTable('subscribed_skus')
    .set({ consumed_units: sql`consumed_units - 1` })
    .where('tenant_id', '=', tenantId)
    .where('sku_id', '=', skuId)
    .where('consumed_units', '>', 0)
    .execute();
}

/** The SKUs given to every new user, in the order they are tried. */
export async function listSkusForNewUsers(db: Kysely<Database>, tenantId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('subscribed_skus')
    .select('sku_id')
    .where('tenant_id', '=', tenantId)
    .where('assign_to_new_users', '=', 1)
    .orderBy('sku_part_number')
    .execute();
  return rows.map((row) => row.sku_id);
}

const licenseColumns = ['user_id', 'sku_id', 'tenant_id', 'disabled_plans', 'assigned_at'] as const;

/** The licences of these users, by user then SKU. */
export async function listUserLicenses(
  db: Kysely<Database>,
  tenantId: string,
  userIds: readonly string[],
): Promise<UserLicenseRow[]> {
  if (userIds.length === 0) return [];
  return db
    .selectFrom('user_licenses')
    .select(licenseColumns)
    .where('tenant_id', '=', tenantId)
    .where('user_id', 'in', userIds)
    .orderBy('user_id')
    .orderBy('sku_id')
    .execute();
}

export async function insertUserLicense(db: Kysely<Database>, row: UserLicenseRow): Promise<void> {
  await db.insertInto('user_licenses').values(row).execute();
}

export async function updateUserLicensePlans(
  db: Kysely<Database>,
  userId: string,
  skuId: string,
  disabledPlans: string,
): Promise<void> {
  await db
    .updateTable('user_licenses')
    .set({ disabled_plans: disabledPlans })
    .where('user_id', '=', userId)
    .where('sku_id', '=', skuId)
    .execute();
}

export async function deleteUserLicense(
  db: Kysely<Database>,
  userId: string,
  skuId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('user_licenses')
    .where('user_id', '=', userId)
    .where('sku_id', '=', skuId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
