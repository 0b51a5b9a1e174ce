import type { Command } from 'commander';
import type { Directory } from '../app/open-directory.js';
import { type DomainContext, passwordNeverExpires, toGraphDomain } from '../tenant/domain-mapper.js';
import { toGraphFederation } from '../tenant/federation-mapper.js';
import { invalidFlag, jsonOption, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';

/*
 * `rekey domains ...`: the tenant's domains, through the same domain and federation services as
 * `/v1.0/domains` and `.../federationConfiguration` (same checks, same audit rows, attributed to
 * Rekey itself).
 *
 *   list [--json]                                 every domain: authentication, default, verified
 *   show <name> [--json]                          one domain with its federation, if it has one
 *   add <name> [--federated] [--password-change-url <url>] [--json]
 *                                                 add a domain (verified at once, as the API does)
 *
 * A federated domain's identity provider owns its users' passwords (120012); its federation
 * settings (issuer, sign-in and password pages, signing certificate) are set through the API
 * (`/v1.0/domains/{name}/federationConfiguration`).
 */

/** The tenant's domains and password policy, which a domain's Graph shape reads (see DomainContext). */
async function domainContextOf(directory: Directory): Promise<DomainContext> {
  return {
    tenantDomains: await directory.domains.listTenantDomains(),
    passwordMaximumAgeDays: (await directory.settings.getPasswordPolicy()).maximumAgeDays,
  };
}

async function listCommand(io: CliIo, flags: { readonly json?: boolean }): Promise<void> {
  await withDirectory(io, async (directory) => {
    const context = await domainContextOf(directory);
    const domains = context.tenantDomains.map((row) => toGraphDomain(row, context));
    if (flags.json) {
      printJson(io, domains);
      return;
    }
    for (const domain of domains) {
      const marks = [
        domain.authenticationType,
        domain.isDefault ? 'default' : '',
        domain.isInitial ? 'initial' : '',
        domain.isVerified ? 'verified' : 'not verified',
      ].filter((mark) => mark !== '');
      io.out(`${domain.id}  ${marks.join(', ')}`);
    }
  });
}

async function showCommand(io: CliIo, name: string, flags: { readonly json?: boolean }): Promise<void> {
  await withDirectory(io, async (directory) => {
    const domain = toGraphDomain(await directory.domains.getDomain(name), await domainContextOf(directory));
    const federations = (await directory.federations.listFederations(domain.id)).map(toGraphFederation);
    if (flags.json) {
      printJson(io, { ...domain, federationConfiguration: federations });
      return;
    }
    io.out(`${domain.id}: ${domain.authenticationType}${domain.isDefault ? ', the default domain' : ''}`);
    io.out(`  verified: ${domain.isVerified ? 'yes' : 'no'}; initial: ${domain.isInitial ? 'yes' : 'no'}`);
    io.out(
      `  password validity: ${domain.passwordValidityPeriodInDays === passwordNeverExpires ? 'never expires' : `${domain.passwordValidityPeriodInDays} days`}`,
    );
    for (const federation of federations) {
      io.out(`  federation ${federation.id}: ${federation.displayName}`);
      io.out(`    issuer: ${federation.issuerUri ?? '(not set)'}`);
      io.out(`    sign-in page: ${federation.passiveSignInUri ?? '(none)'}`);
      io.out(`    password page: ${federation.passwordResetUri ?? '(none)'}`);
    }
  });
}

interface AddFlags {
  readonly federated?: boolean;
  readonly passwordChangeUrl?: string;
  readonly json?: boolean;
}

async function addCommand(io: CliIo, name: string, flags: AddFlags): Promise<void> {
  if (flags.passwordChangeUrl !== undefined && !flags.federated)
    throw invalidFlag(
      '--password-change-url',
      flags.passwordChangeUrl,
      'is for a federated domain only: add --federated',
    );
  await withDirectory(io, async (directory, context) => {
    const row = await directory.domains.addDomain(context, {
      id: name,
      authenticationType: flags.federated ? 'Federated' : 'Managed',
      ...(flags.passwordChangeUrl === undefined ? {} : { passwordChangeUrl: flags.passwordChangeUrl }),
    });
    const domain = toGraphDomain(row, await domainContextOf(directory));
    if (flags.json) printJson(io, domain);
    else io.out(`Added ${domain.id} (${domain.authenticationType}, verified).`);
  });
}

export function registerDomainsCommand(program: Command, io: CliIo): void {
  const domains = program
    .command('domains')
    .description("List the tenant's domains, show one with its federation, add one.");
  domains
    .command('list')
    .description('List the domains: how their users sign in (Managed or Federated), the default, verified.')
    .option(...jsonOption)
    .action((flags: { json?: boolean }) => listCommand(io, flags));
  domains
    .command('show')
    .description(
      "Show a domain and its federation: the identity provider's issuer, sign-in and password pages.",
    )
    .argument('<name>', 'the domain name, such as contoso.com')
    .option(...jsonOption)
    .action((name: string, flags: { json?: boolean }) => showCommand(io, name, flags));
  domains
    .command('add')
    .description(
      'Add a domain, verified at once. A federated domain leaves its passwords to its identity provider.',
    )
    .argument('<name>', 'the domain name, such as contoso.com')
    .option('--federated', 'its users sign in with an external identity provider (default: Managed)')
    .option('--password-change-url <url>', "a federated domain's page where its users change their password")
    .option(...jsonOption)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rekey domains add fabrikam.com',
        '  rekey domains add partner.example --federated',
      ].join('\n'),
    )
    .action((name: string, flags: AddFlags) => addCommand(io, name, flags));
}
