import type { Command } from 'commander';
import { capabilityStatuses, findSku, knownSkus } from '../licenses/license-catalog.js';
import { toGraphSubscribedSku } from '../licenses/license-mapper.js';
import type { SubscriptionView, UserLicenseView } from '../licenses/license-service.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { parseQueryOptions } from '../platform/odata/index.js';
import { usersResource } from '../users/user-query.js';
import { collect, invalidFlag, jsonOption, parseWholeNumber, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';

/*
 * `rekey licenses ...`: the tenant's subscriptions and its users' licences, through the same
 * licence service as `/v1.0/subscribedSkus`, `assignLicense` and `PUT /rekey/v1/subscribedSkus`
 * (same checks, same audit rows, attributed to Rekey itself).
 *
 *   list [--user <upn>] [--json]                     who holds which licence
 *   assign <user> <sku> [--disable-plan <plan>]...   give a user a licence (or change its plans)
 *   remove <user> <sku>                              take it away; its unit goes back
 *   subscriptions [--json]                           the subscriptions, their units and plans
 *   subscriptions set <sku> [--units N] [--status S] [--new-users on|off]
 *                                                    add a subscription or change it
 *
 * A SKU is named by its skuId or its part number (AAD_PREMIUM, AAD_PREMIUM_P2); a service plan by
 * its id or its name (AAD_PREMIUM, MFA_PREMIUM).
 */

/** The skuId of a SKU Rekey knows, or 7700001 listing them. */
function skuIdOf(raw: string): string {
  const sku = findSku(raw);
  if (!sku)
    throw invalidFlag(
      '<sku>',
      raw,
      `must be a skuId or part number of ${knownSkus.map((s) => `${s.skuPartNumber} (${s.skuId})`).join(', ')}`,
    );
  return sku.skuId;
}

/** The service plan ids of `--disable-plan` values, by id or name, for the SKU `skuId`. */
function planIdsOf(skuId: string, raw: readonly string[]): string[] {
  const plans = findSku(skuId)?.servicePlans ?? [];
  return raw.map((value) => {
    const plan = plans.find(
      (p) =>
        p.servicePlanId === value.toLowerCase() || p.servicePlanName.toLowerCase() === value.toLowerCase(),
    );
    if (!plan)
      throw invalidFlag(
        '--disable-plan',
        value,
        `must be a service plan of the SKU: ${plans.map((p) => `${p.servicePlanName} (${p.servicePlanId})`).join(', ')}`,
      );
    return plan.servicePlanId;
  });
}

function licenseText(license: UserLicenseView): string {
  const off = license.disabledPlans.map(
    (id) => findSku(license.skuId)?.servicePlans.find((p) => p.servicePlanId === id)?.servicePlanName ?? id,
  );
  return `${license.skuPartNumber}${off.length > 0 ? ` (off: ${off.join(', ')})` : ''}`;
}

function printSubscriptions(io: CliIo, views: readonly SubscriptionView[]): void {
  if (views.length === 0) {
    io.out(
      'The tenant has no subscription: every user has what Entra ID Free gives (changing their own password).',
    );
    return;
  }
  for (const { row, sku } of views) {
    io.out(
      `${row.sku_part_number}  ${row.sku_id}  ${row.capability_status}  ${row.consumed_units} of ${row.enabled_units} units assigned${row.assign_to_new_users === 1 ? '; given to every new user' : ''}`,
    );
    for (const plan of sku?.servicePlans ?? []) {
      io.out(
        `  ${plan.servicePlanName}  ${plan.servicePlanId}${plan.grants.length > 0 ? `  allows ${plan.grants.join(', ')}` : ''}`,
      );
    }
  }
}

async function listLicenses(io: CliIo, flags: { user?: string; json?: boolean }): Promise<void> {
  await withDirectory(io, async (directory) => {
    const users =
      flags.user === undefined
        ? await (async () => {
            const all = [];
            let skipToken: string | undefined;
            do {
              const params = new URLSearchParams({ $top: '999' });
              if (skipToken !== undefined) params.set('$skiptoken', skipToken);
              const page = await directory.users.listUsers(parseQueryOptions(params, usersResource));
              all.push(...page.rows);
              skipToken = page.nextSkipToken;
            } while (skipToken !== undefined);
            return all;
          })()
        : [await directory.users.getUser(flags.user)];
    const licenses = await directory.licenses.licensesOf(users.map((user) => user.id));
    if (flags.json) {
      printJson(
        io,
        users.map((user) => ({
          id: user.id,
          userPrincipalName: user.user_principal_name,
          assignedLicenses: (licenses.get(user.id) ?? []).map((l) => ({
            disabledPlans: l.disabledPlans,
            skuId: l.skuId,
          })),
        })),
      );
      return;
    }
    for (const user of users) {
      const held = licenses.get(user.id) ?? [];
      io.out(
        `${user.user_principal_name}: ${held.length === 0 ? 'no licence' : held.map(licenseText).join(', ')}`,
      );
    }
  });
}

async function changeLicense(
  io: CliIo,
  user: string,
  change: { readonly add?: { skuId: string; disabledPlans: string[] }; readonly remove?: string },
  json: boolean | undefined,
): Promise<void> {
  await withDirectory(io, async (directory, context) => {
    const row = await directory.licenses.assignLicense(context, user, {
      addLicenses: change.add ? [change.add] : [],
      removeLicenses: change.remove ? [change.remove] : [],
    });
    const held = (await directory.licenses.licensesOf([row.id])).get(row.id) ?? [];
    if (json) {
      printJson(io, {
        id: row.id,
        userPrincipalName: row.user_principal_name,
        assignedLicenses: held.map((l) => ({ disabledPlans: l.disabledPlans, skuId: l.skuId })),
      });
      return;
    }
    io.out(
      `${row.user_principal_name} now holds: ${held.length === 0 ? 'no licence' : held.map(licenseText).join(', ')}.`,
    );
    io.out('The change is in the audit log as "Change user license".');
  });
}

async function setSubscription(
  io: CliIo,
  sku: string,
  flags: { units?: string; status?: string; newUsers?: string; json?: boolean },
): Promise<void> {
  if (flags.units === undefined && flags.status === undefined && flags.newUsers === undefined) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'Nothing to set: give --units, --status, --new-users or several.',
      details: { missing: ['--units', '--status', '--new-users'] },
    });
  }
  const enabledUnits =
    flags.units === undefined ? undefined : parseWholeNumber('--units', flags.units, 0, 100_000_000);
  if (flags.status !== undefined && !(capabilityStatuses as readonly string[]).includes(flags.status))
    throw invalidFlag('--status', flags.status, `must be one of ${capabilityStatuses.join(', ')}`);
  if (flags.newUsers !== undefined && flags.newUsers !== 'on' && flags.newUsers !== 'off')
    throw invalidFlag('--new-users', flags.newUsers, 'must be on or off');
  await withDirectory(io, async (directory, context) => {
    const view = await directory.licenses.setSubscription(context, sku, {
      enabledUnits,
      capabilityStatus: flags.status,
      assignToNewUsers: flags.newUsers === undefined ? undefined : flags.newUsers === 'on',
    });
    if (flags.json) printJson(io, toGraphSubscribedSku(view));
    else {
      printSubscriptions(io, [view]);
      io.out('Applied. The change is in the audit log as "Update subscription".');
    }
  });
}

/** Adds `rekey licenses` and its subcommands to the program. */
export function registerLicensesCommand(program: Command, io: CliIo): void {
  const licenses = program
    .command('licenses')
    .description(
      "Subscriptions and users' licences: self-service reset and password writeback need a licence that includes them.",
    );

  licenses
    .command('list')
    .description('Show who holds which licence (every user, or one).')
    .option('--user <user>', 'only this user (UPN or object id)')
    .option(...jsonOption)
    .action((flags: { user?: string; json?: boolean }) => listLicenses(io, flags));

  licenses
    .command('assign')
    .description('Give a user a licence, or change which of its service plans are off (audited).')
    .argument('<user>', 'UPN or object id')
    .argument('<sku>', 'skuId or part number (AAD_PREMIUM, AAD_PREMIUM_P2)')
    .option('--disable-plan <plan>', 'turn off this service plan (id or name); repeat for more', collect, [])
    .option(...jsonOption)
    .action(async (user: string, sku: string, flags: { disablePlan: string[]; json?: boolean }) => {
      const skuId = skuIdOf(sku);
      await changeLicense(
        io,
        user,
        { add: { skuId, disabledPlans: planIdsOf(skuId, flags.disablePlan) } },
        flags.json,
      );
    });

  licenses
    .command('remove')
    .description('Take a licence from a user; its unit goes back to the subscription (audited).')
    .argument('<user>', 'UPN or object id')
    .argument('<sku>', 'skuId or part number')
    .option(...jsonOption)
    .action((user: string, sku: string, flags: { json?: boolean }) =>
      changeLicense(io, user, { remove: skuIdOf(sku) }, flags.json),
    );

  const subscriptions = licenses
    .command('subscriptions')
    .description("Show the tenant's subscriptions: units, status and service plans.")
    .option(...jsonOption)
    .action(async (flags: { json?: boolean }) => {
      await withDirectory(io, async (directory) => {
        const views = await directory.licenses.listSubscriptions();
        if (flags.json) printJson(io, views.map(toGraphSubscribedSku));
        else printSubscriptions(io, views);
      });
    });

  subscriptions
    .command('set')
    .description('Add a subscription, or change its units, status or whether new users get it (audited).')
    .argument('<sku>', 'skuId or part number (AAD_PREMIUM, AAD_PREMIUM_P2)')
    .option('--units <n>', 'units enabled (at least those assigned)')
    .option('--status <status>', `one of ${capabilityStatuses.join(', ')}`)
    .option('--new-users <on|off>', 'give this SKU to every new user')
    .option(...jsonOption)
    .action((sku: string, flags: { units?: string; status?: string; newUsers?: string; json?: boolean }) =>
      setSubscription(io, sku, flags),
    );
}
