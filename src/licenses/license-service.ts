import type { Kysely } from 'kysely';
import { failureReason, type ModifiedProperty, recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { Database, SubscribedSkuRow, UserLicenseRow, UserRow } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import {
  type CapabilityStatus,
  capabilityStatuses,
  defaultSkuId,
  defaultSkuUnits,
  findSku,
  isActiveStatus,
  knownSkus,
  type LicenseCapability,
  type SkuDefinition,
} from './license-catalog.js';
import {
  deleteUserLicense,
  findSubscribedSku,
  insertSubscribedSku,
  insertUserLicense,
  insertUserLicenses,
  listSkusForNewUsers,
  listSubscribedSkus,
  listUserLicenses,
  releaseUnit,
  takeUnit,
  takeUnitsForNewUsers,
  updateSubscribedSku,
  updateUserLicensePlans,
} from './license-store.js';

/*
 * Licences: the tenant's subscriptions and each user's assigned licences, and the rules that read
 * them. As in Entra, changing one's own password needs no licence; a self-service reset of a
 * forgotten password needs a licence that includes it, and so does any change or reset whose
 * password is written back to an on-premises directory (both come with the AAD_PREMIUM service
 * plan of the P1 and P2 SKUs, see license-catalog.ts). A suspended or locked-out subscription's
 * licences allow nothing.
 */

/** One service plan a user holds, as Graph's `assignedPlan` shows it. */
export interface AssignedPlanView {
  readonly assignedDateTime: string;
  readonly capabilityStatus: string;
  readonly service: string;
  readonly servicePlanId: string;
}

/** One licence of a user, with the plans it gives. */
export interface UserLicenseView {
  readonly skuId: string;
  readonly skuPartNumber: string;
  readonly disabledPlans: readonly string[];
  readonly assignedDateTime: string;
  /** The plans it gives (the disabled ones left out), with the subscription's status. */
  readonly assignedPlans: readonly AssignedPlanView[];
}

/** A subscription with what the catalogue knows of its SKU. */
export interface SubscriptionView {
  readonly row: SubscribedSkuRow;
  readonly sku: SkuDefinition | undefined;
}

function parsePlans(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((plan): plan is string => typeof plan === 'string') : [];
}

/** The subscription a new tenant starts with: P1, given to every new user (see migration 0015). */
export async function insertDefaultSubscription(
  trx: Kysely<Database>,
  tenantId: string,
  at: string,
): Promise<void> {
  const sku = findSku(defaultSkuId);
  if (!sku) throw new Error('the default SKU is missing from the catalogue');
  await insertSubscribedSku(trx, {
    tenant_id: tenantId,
    sku_id: sku.skuId,
    sku_part_number: sku.skuPartNumber,
    capability_status: 'Enabled',
    enabled_units: defaultSkuUnits,
    consumed_units: 0,
    assign_to_new_users: 1,
    created_at: at,
    updated_at: at,
  });
}

/**
 * Gives a user just created every subscription marked for new users that is active and has a
 * unit left, in the transaction that creates the user. A subscription without one is skipped: the
 * user is created without that licence (as Entra creates unlicensed users), never refused.
 */
export async function assignLicensesToNewUser(
  trx: Kysely<Database>,
  tenantId: string,
  userId: string,
  at: string,
): Promise<void> {
  for (const skuId of await listSkusForNewUsers(trx, tenantId)) {
    if (!(await takeUnit(trx, tenantId, skuId, { onlyForNewUsers: true }))) continue;
    await insertUserLicense(trx, {
      user_id: userId,
      sku_id: skuId,
      tenant_id: tenantId,
      disabled_plans: '[]',
      assigned_at: at,
    });
  }
}

/**
 * assignLicensesToNewUser for many new users at once (a sync page's): the SKUs read once, each
 * SKU's units for all of them taken in one update and their licences inserted in one statement.
 * The result per user is the same as assigning them one by one in `users`' order: when a
 * subscription has fewer units left than there are users, the first ones get its licence and the
 * rest none.
 */
export async function assignLicensesToNewUsers(
  trx: Kysely<Database>,
  tenantId: string,
  users: ReadonlyArray<{ readonly userId: string; readonly at: string }>,
): Promise<void> {
  if (users.length === 0) return;
  const rows: UserLicenseRow[] = [];
  for (const skuId of await listSkusForNewUsers(trx, tenantId)) {
    const taken = await takeUnitsForNewUsers(trx, tenantId, skuId, users.length);
    for (const user of users.slice(0, taken))
      rows.push({
        user_id: user.userId,
        sku_id: skuId,
        tenant_id: tenantId,
        disabled_plans: '[]',
        assigned_at: user.at,
      });
  }
  await insertUserLicenses(trx, rows);
}

/** Gives back the units of a user about to be purged (their licence rows go with the user). */
export async function releaseLicensesOfUser(
  trx: Kysely<Database>,
  tenantId: string,
  userId: string,
): Promise<void> {
  for (const row of await listUserLicenses(trx, tenantId, [userId])) {
    if (await deleteUserLicense(trx, userId, row.sku_id)) await releaseUnit(trx, tenantId, row.sku_id);
  }
}

/** The licences of these users (each id mapped, an unlicensed user to an empty list). */
export async function listLicensesOfUsers(
  db: Kysely<Database>,
  tenantId: string,
  userIds: readonly string[],
): Promise<Map<string, UserLicenseView[]>> {
  const result = new Map<string, UserLicenseView[]>(userIds.map((id) => [id, []]));
  const rows = await listUserLicenses(db, tenantId, userIds);
  if (rows.length === 0) return result;
  const statuses = new Map((await listSubscribedSkus(db, tenantId)).map((sku) => [sku.sku_id, sku]));
  for (const row of rows) result.get(row.user_id)?.push(toLicenseView(row, statuses.get(row.sku_id)));
  return result;
}

function toLicenseView(row: UserLicenseRow, subscription: SubscribedSkuRow | undefined): UserLicenseView {
  const sku = findSku(row.sku_id);
  const disabledPlans = parsePlans(row.disabled_plans);
  // A licence of a subscription since removed gives nothing: its plans read as Deleted.
  const status = subscription?.capability_status ?? 'Deleted';
  return {
    skuId: row.sku_id,
    skuPartNumber: sku?.skuPartNumber ?? subscription?.sku_part_number ?? row.sku_id,
    disabledPlans,
    assignedDateTime: row.assigned_at,
    assignedPlans: (sku?.servicePlans ?? [])
      .filter((plan) => !disabledPlans.includes(plan.servicePlanId))
      .map((plan) => ({
        assignedDateTime: row.assigned_at,
        capabilityStatus: status,
        service: plan.service,
        servicePlanId: plan.servicePlanId,
      })),
  };
}

/** What the user's licences allow: the grants of every plan held through an active subscription. */
export async function capabilitiesOfUser(
  db: Kysely<Database>,
  tenantId: string,
  userId: string,
): Promise<Set<LicenseCapability>> {
  const licenses = (await listLicensesOfUsers(db, tenantId, [userId])).get(userId) ?? [];
  const granted = new Set<LicenseCapability>();
  for (const license of licenses) {
    const sku = findSku(license.skuId);
    for (const plan of license.assignedPlans) {
      if (!isActiveStatus(plan.capabilityStatus)) continue;
      const known = sku?.servicePlans.find((candidate) => candidate.servicePlanId === plan.servicePlanId);
      for (const capability of known?.grants ?? []) granted.add(capability);
    }
  }
  return granted;
}

const capabilityRefusals = {
  selfServicePasswordReset: Codes.UserNotLicensedForSelfServiceReset,
  passwordWriteback: Codes.UserNotLicensedForPasswordWriteback,
} as const;

const capabilityNames: Readonly<Record<LicenseCapability, string>> = {
  selfServicePasswordReset: 'self-service password reset',
  passwordWriteback: 'password writeback',
};

/**
 * Refuses (7701006 or 7701007) what `user`'s licences do not allow, naming the licences the user
 * holds and the plans that would allow it. The caller writes the refusal's audit row.
 */
export async function assertLicensedFor(
  db: Kysely<Database>,
  tenantId: string,
  user: Pick<UserRow, 'id' | 'user_principal_name'>,
  capability: LicenseCapability,
): Promise<void> {
  if ((await capabilitiesOfUser(db, tenantId, user.id)).has(capability)) return;
  const held = (await listLicensesOfUsers(db, tenantId, [user.id])).get(user.id) ?? [];
  const grantingPlans = knownSkus
    .flatMap((sku) => sku.servicePlans)
    .filter((plan) => plan.grants.includes(capability))
    .map((plan) => plan.servicePlanName);
  const holds =
    held.length === 0
      ? 'holds no licence'
      : `holds ${held.map((license) => license.skuPartNumber).join(', ')}, without an active ${[...new Set(grantingPlans)].join(' or ')} plan`;
  throw new RekeyError(capabilityRefusals[capability], {
    message: `${user.user_principal_name} ${holds}, and ${capabilityNames[capability]} needs one.`,
    details: {
      userId: user.id,
      capability,
      assignedLicenses: held.map((license) => ({
        skuId: license.skuId,
        skuPartNumber: license.skuPartNumber,
        disabledPlans: license.disabledPlans,
      })),
      servicePlansThatAllowIt: [...new Set(grantingPlans)],
    },
  });
}

/** One licence to add, as Graph's assignLicense body gives it. */
export interface LicenseToAdd {
  readonly skuId: string;
  readonly disabledPlans?: readonly string[] | undefined;
}

export type LicenseService = ReturnType<typeof createLicenseService>;

/** The tenant's subscriptions and its users' licences. */
export function createLicenseService(deps: {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  /** The live user an assignment names (object id or UPN), or 7700008. */
  readonly getUser: (idOrUpn: string) => Promise<UserRow>;
}) {
  const { db, tenantId, clock } = deps;

  /** Every subscription of the tenant, by SKU part number. */
  async function listSubscriptions(): Promise<SubscriptionView[]> {
    return (await listSubscribedSkus(db.kysely, tenantId)).map((row) => ({ row, sku: findSku(row.sku_id) }));
  }

  /** One subscription by Graph's id (`{tenantId}_{skuId}`), skuId or SKU part number, or 7700008. */
  async function getSubscription(id: string): Promise<SubscriptionView> {
    const key = id.includes('_') && id.startsWith(`${tenantId}_`) ? id.slice(tenantId.length + 1) : id;
    const sku = findSku(key);
    const row = sku ? await findSubscribedSku(db.kysely, tenantId, sku.skuId) : undefined;
    if (!row)
      throw new RekeyError(Codes.ResourceNotFound, {
        message: `The tenant has no subscription ${JSON.stringify(id)}.`,
        details: {
          id,
          subscribedSkus: (await listSubscribedSkus(db.kysely, tenantId)).map((s) => s.sku_part_number),
        },
      });
    return { row, sku };
  }

  /**
   * Adds a subscription, or changes one: its enabled units, its status, and whether new users
   * get it. Units below those already assigned are refused (remove licences first). Audited as
   * "Update subscription".
   */
  async function setSubscription(
    context: RequestContext,
    skuIdOrPartNumber: string,
    input: {
      readonly enabledUnits?: number | undefined;
      readonly capabilityStatus?: string | undefined;
      readonly assignToNewUsers?: boolean | undefined;
    },
  ): Promise<SubscriptionView> {
    const sku = findSku(skuIdOrPartNumber);
    const problems: Array<{ field: string; problem: string }> = [];
    if (!sku)
      problems.push({
        field: 'sku',
        problem: `must be the skuId or skuPartNumber of a SKU Rekey knows: ${knownSkus.map((s) => `${s.skuPartNumber} (${s.skuId})`).join(', ')}`,
      });
    const units = input.enabledUnits;
    if (units !== undefined && !(Number.isSafeInteger(units) && units >= 0 && units <= 100_000_000))
      problems.push({
        field: 'prepaidUnits/enabled',
        problem: 'must be a whole number from 0 to 100,000,000',
      });
    const status = input.capabilityStatus;
    if (status !== undefined && !(capabilityStatuses as readonly string[]).includes(status))
      problems.push({
        field: 'capabilityStatus',
        problem: `must be one of ${capabilityStatuses.join(', ')}`,
      });
    const current = sku ? await findSubscribedSku(db.kysely, tenantId, sku.skuId) : undefined;
    if (current && units !== undefined && units < current.consumed_units)
      problems.push({
        field: 'prepaidUnits/enabled',
        problem: `must be at least ${current.consumed_units}, the units assigned now (remove licences first)`,
      });
    if (!current && sku && units === undefined)
      problems.push({ field: 'prepaidUnits/enabled', problem: 'is required for a new subscription' });
    if (problems.length > 0 || !sku)
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `The subscription was not ${current ? 'changed' : 'added'}: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}.`,
        details: { fields: problems },
      });
    const at = clock.now().toISOString();
    const after = {
      capability_status: (status ?? current?.capability_status ?? 'Enabled') as CapabilityStatus,
      enabled_units: units ?? current?.enabled_units ?? 0,
      assign_to_new_users: (input.assignToNewUsers === undefined
        ? (current?.assign_to_new_users ?? 0)
        : input.assignToNewUsers
          ? 1
          : 0) as 0 | 1,
    };
    const modified: ModifiedProperty[] = [
      ['CapabilityStatus', current?.capability_status, after.capability_status],
      ['PrepaidUnits.Enabled', current?.enabled_units, after.enabled_units],
      [
        'AssignToNewUsers',
        current ? current.assign_to_new_users === 1 : undefined,
        after.assign_to_new_users === 1,
      ],
    ]
      .filter(([, before, value]) => before !== value)
      .map(([name, before, value]) => ({
        displayName: String(name),
        oldValue: before === undefined ? null : JSON.stringify(before),
        newValue: JSON.stringify(value),
      }));
    if (current && modified.length === 0) return { row: current, sku };
    await db.kysely.transaction().execute(async (trx) => {
      if (current) await updateSubscribedSku(trx, tenantId, sku.skuId, { ...after, updated_at: at });
      else
        await insertSubscribedSku(trx, {
          tenant_id: tenantId,
          sku_id: sku.skuId,
          sku_part_number: sku.skuPartNumber,
          consumed_units: 0,
          ...after,
          created_at: at,
          updated_at: at,
        });
      await recordAudit(
        trx,
        tenantId,
        context,
        {
          activity: 'updateSubscription',
          result: 'success',
          targets: [
            {
              id: sku.skuId,
              displayName: sku.skuPartNumber,
              userPrincipalName: null,
              modifiedProperties: modified,
            },
          ],
        },
        at,
      );
    });
    return getSubscription(sku.skuId);
  }

  /** Writes the failure row of a refused assignment, then throws it. */
  async function refuse(context: RequestContext, user: UserRow, error: RekeyError): Promise<never> {
    await recordAudit(
      db.kysely,
      tenantId,
      context,
      {
        activity: 'changeUserLicense',
        result: 'failure',
        resultReason: failureReason(error),
        targets: [
          { id: user.id, displayName: user.display_name, userPrincipalName: user.user_principal_name },
        ],
      },
      clock.now().toISOString(),
    );
    throw error;
  }

  /**
   * Graph's assignLicense: adds the licences in `addLicenses` (a SKU the user holds already gets
   * the new disabledPlans) and removes those in `removeLicenses`, all or nothing. Refused, with a
   * failure audit row: a SKU the tenant does not subscribe to (7701001), no unit left (7701002), a
   * suspended subscription (7701003), a plan not in the SKU (7701004), a SKU the user does not hold
   * (7701005). The change is audited as "Change user license".
   */
  async function assignLicense(
    context: RequestContext,
    idOrUpn: string,
    input: { readonly addLicenses: readonly LicenseToAdd[]; readonly removeLicenses: readonly string[] },
  ): Promise<UserRow> {
    const user = await deps.getUser(idOrUpn);
    const adds = input.addLicenses.map((license) => ({
      skuId: license.skuId.toLowerCase(),
      disabledPlans: [...new Set((license.disabledPlans ?? []).map((plan) => plan.toLowerCase()))].sort(),
    }));
    const removes = input.removeLicenses.map((skuId) => skuId.toLowerCase());
    const addIds = adds.map((add) => add.skuId);
    const twice = [...addIds, ...removes].filter((id, index, all) => all.indexOf(id) !== index);
    if (twice.length > 0)
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `Each SKU may appear once in addLicenses and removeLicenses together; named more than once: ${[...new Set(twice)].join(', ')}.`,
        details: { skuIds: [...new Set(twice)] },
      });
    const subscriptions = new Map(
      (await listSubscribedSkus(db.kysely, tenantId)).map((row) => [row.sku_id, row]),
    );
    const held = new Map(
      (await listUserLicenses(db.kysely, tenantId, [user.id])).map((row) => [row.sku_id, row]),
    );
    for (const add of adds) {
      const subscription = subscriptions.get(add.skuId);
      const sku = findSku(add.skuId);
      if (!subscription || !sku)
        await refuse(
          context,
          user,
          new RekeyError(Codes.LicenseSkuNotSubscribed, {
            message: `The tenant has no subscription to the SKU ${add.skuId}.`,
            details: {
              skuId: add.skuId,
              subscribedSkus: [...subscriptions.values()].map((s) => ({
                skuId: s.sku_id,
                skuPartNumber: s.sku_part_number,
              })),
            },
          }),
        );
      const planIds = sku?.servicePlans.map((plan) => plan.servicePlanId) ?? [];
      const unknown = add.disabledPlans.filter((plan) => !planIds.includes(plan));
      if (unknown.length > 0)
        await refuse(
          context,
          user,
          new RekeyError(Codes.LicenseServicePlanNotInSku, {
            message: `${unknown.join(', ')} ${unknown.length === 1 ? 'is not a service plan' : 'are not service plans'} of ${sku?.skuPartNumber ?? add.skuId}.`,
            details: {
              skuId: add.skuId,
              disabledPlans: unknown,
              servicePlans:
                sku?.servicePlans.map((plan) => ({
                  servicePlanId: plan.servicePlanId,
                  servicePlanName: plan.servicePlanName,
                })) ?? [],
            },
          }),
        );
    }
    for (const skuId of removes) {
      if (!held.has(skuId))
        await refuse(
          context,
          user,
          new RekeyError(Codes.LicenseNotAssigned, {
            message: `${user.user_principal_name} holds no licence of the SKU ${findSku(skuId)?.skuPartNumber ?? skuId}.`,
            details: { skuId, assignedLicenses: [...held.keys()] },
          }),
        );
    }
    const at = clock.now().toISOString();
    const before = [...held.values()].map((row) => ({
      skuId: row.sku_id,
      disabledPlans: parsePlans(row.disabled_plans),
    }));
    try {
      await db.kysely.transaction().execute(async (trx) => {
        for (const add of adds) {
          const plans = JSON.stringify(add.disabledPlans);
          if (held.has(add.skuId)) {
            await updateUserLicensePlans(trx, user.id, add.skuId, plans);
            continue;
          }
          if (!(await takeUnit(trx, tenantId, add.skuId))) {
            const subscription = await findSubscribedSku(trx, tenantId, add.skuId);
            const sku = findSku(add.skuId);
            throw subscription && !isActiveStatus(subscription.capability_status)
              ? new RekeyError(Codes.LicenseSubscriptionNotActive, {
                  message: `The subscription to ${sku?.skuPartNumber ?? add.skuId} is ${subscription.capability_status}: its licences cannot be assigned.`,
                  details: { skuId: add.skuId, capabilityStatus: subscription.capability_status },
                })
              : new RekeyError(Codes.LicenseUnitsExhausted, {
                  message: `All ${subscription?.enabled_units ?? 0} units of ${sku?.skuPartNumber ?? add.skuId} are assigned: none is left for ${user.user_principal_name}.`,
                  details: {
                    skuId: add.skuId,
                    enabledUnits: subscription?.enabled_units ?? 0,
                    consumedUnits: subscription?.consumed_units ?? 0,
                  },
                });
          }
          await insertUserLicense(trx, {
            user_id: user.id,
            sku_id: add.skuId,
            tenant_id: tenantId,
            disabled_plans: plans,
            assigned_at: at,
          });
        }
        for (const skuId of removes) {
          if (await deleteUserLicense(trx, user.id, skuId)) await releaseUnit(trx, tenantId, skuId);
        }
        const after = (await listUserLicenses(trx, tenantId, [user.id])).map((row) => ({
          skuId: row.sku_id,
          disabledPlans: parsePlans(row.disabled_plans),
        }));
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: 'changeUserLicense',
            result: 'success',
            targets: [
              {
                id: user.id,
                displayName: user.display_name,
                userPrincipalName: user.user_principal_name,
                modifiedProperties: [
                  {
                    displayName: 'AssignedLicense',
                    oldValue: JSON.stringify(before),
                    newValue: JSON.stringify(after),
                  },
                ],
              },
            ],
          },
          at,
        );
      });
    } catch (error) {
      if (error instanceof RekeyError) await refuse(context, user, error);
      // The same licence added twice at once: the key decides, and the second answers as a repeat.
      if (isWriteConflict(error)) return deps.getUser(user.id);
      throw error;
    }
    return deps.getUser(user.id);
  }

  /** The licences of these users (for the user resource's assignedLicenses and assignedPlans). */
  function licensesOf(userIds: readonly string[]): Promise<Map<string, UserLicenseView[]>> {
    return listLicensesOfUsers(db.kysely, tenantId, userIds);
  }

  return { listSubscriptions, getSubscription, setSubscription, assignLicense, licensesOf };
}
