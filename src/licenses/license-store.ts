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
/** The statuses whose subscriptions give out units (license-catalog.ts isActiveStatus). */
const activeStatuses: string[] = ['Enabled', 'Warning'];

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
    .where('capability_status', 'in', activeStatuses)
    .where(sql<boolean>`consumed_units < enabled_units`);
  if (options.onlyForNewUsers) update = update.where('assign_to_new_users', '=', 1);
  const result = await update.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Takes up to `wanted` units of a subscription given to every new user, in one update: as many as
 * it has left (none when it is not active or no longer given to new users). Returns how many it
 * took. The row is read locked (FOR UPDATE on PostgreSQL; on SQLite a write of another process in
 * between fails this transaction as a write conflict), and the update is a compare-and-set on the
 * units read, so two syncs racing for the last units cannot both take them; should the set miss
 * all the same, the units are taken one at a time as takeUnit does.
 */
export async function takeUnitsForNewUsers(
  db: Kysely<Database>,
  tenantId: string,
  skuId: string,
  wanted: number,
): Promise<number> {
  if (wanted <= 0) return 0;
  const row = await db
    .selectFrom('subscribed_skus')
    .select(['capability_status', 'enabled_units', 'consumed_units', 'assign_to_new_users'])
    .where('tenant_id', '=', tenantId)
    .where('sku_id', '=', skuId)
    .forUpdate()
    .executeTakeFirst();
  if (row?.assign_to_new_users !== 1 || !activeStatuses.includes(row.capability_status)) return 0;
  const taken = Math.min(wanted, row.enabled_units - row.consumed_units);
  if (taken <= 0) return 0;
  const result = await db
    .updateTable('subscribed_skus')
    .set({ consumed_units: sql`consumed_units + ${taken}` })
    .where('tenant_id', '=', tenantId)
    .where('sku_id', '=', skuId)
    .where('consumed_units', '=', row.consumed_units)
    .where('capability_status', 'in', activeStatuses)
    .where('assign_to_new_users', '=', 1)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) return taken;
  // Changed since it was read (which the lock rules out on PostgreSQL): a unit at a time, as a
  // single assignment takes it.
  let count = 0;
  while (count < wanted && (await takeUnit(db, tenantId, skuId, { onlyForNewUsers: true }))) count += 1;
  return count;
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

/** Rows per multi-row insert: five values each, far below either database's limit of bound values. */
const licenseInsertChunk = 1000;

/** Inserts these licences with one statement per thousand rows (a sync page's licences at once). */
export async function insertUserLicenses(
  db: Kysely<Database>,
  rows: readonly UserLicenseRow[],
): Promise<void> {
  for (let start = 0; start < rows.length; start += licenseInsertChunk) {
    await db
      .insertInto('user_licenses')
      .values(rows.slice(start, start + licenseInsertChunk))
      .execute();
  }
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
