import { readFile } from 'node:fs/promises';
import { type Command, CommanderError } from 'commander';
import type { EvaluateResult } from '../passwords/password-policy-service.js';
import {
  type PasswordPolicySettings,
  type PasswordProtectionSettings,
  passwordPolicyLimits,
  policyErrorFor,
} from '../passwords/policy/index.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type {
  PasswordPolicyImpact,
  PasswordProtectionImpact,
  SettingsChange,
  SettingsPreview,
} from '../settings/settings-service.js';
import { type BreachedTerminal, readPasswordFrom } from './breached-command.js';
import { canPrompt, collect, jsonOption, printJson } from './command-helpers.js';
import { type CliIo, configOrExit, withDirectory } from './context.js';

/*
 * `rekey policy ...`: the password policy and Password Protection from a shell, through the same
 * settings and policy services as the API (same validation, same audit rows, attributed to Rekey
 * itself: whoever runs the CLI holds the database).
 *
 *   show                      both settings documents
 *   set --flag value ...      change the password policy: preview, confirm, apply
 *   protection show | set     the same for Password Protection
 *   test [password]           every rule a password fails, with the Password Protection score
 *
 * A change affects every user, so `set` always shows the preview first, then asks on a terminal;
 * a script must say --yes. Without a terminal and without --yes nothing is applied (7700012).
 */

/** What the commands read a password or an answer from; injected so tests can supply them. */
export interface PolicyTerminal {
  readonly stdin: BreachedTerminal['stdin'];
  /** True when a person can answer a prompt (stdin and stderr are terminals). */
  readonly interactive: boolean;
}

function defaultTerminal(io: CliIo): PolicyTerminal {
  return { stdin: process.stdin, interactive: canPrompt(io) };
}

function show(value: unknown): string {
  if (value === null) return 'never';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Reads one answer line from the terminal. */
async function readAnswer(stdin: PolicyTerminal['stdin']): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (answer: string) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      resolve(answer);
    };
    const onData = (chunk: Buffer | string) => {
      typed += chunk.toString();
      const end = typed.search(/\r|\n/);
      if (end >= 0) finish(typed.slice(0, end));
    };
    const onEnd = () => finish(typed);
    const onError = (error: unknown) => reject(error);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}

/**
 * Applies a previewed change if the person at the terminal agrees, or if --yes was given. Without
 * a terminal and without --yes it refuses (7700012): a script must not change every user's policy
 * because nobody was there to say no.
 */
async function confirm(io: CliIo, terminal: PolicyTerminal, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!terminal.interactive) {
    throw new RekeyError(Codes.ConfirmationRequired, {
      message:
        'The change was not applied: there is no terminal to confirm it on. Review the preview above and run the command again with --yes.',
    });
  }
  io.err('Apply this change? [y/N] ');
  const answer = (await readAnswer(terminal.stdin)).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') {
    io.err('Not applied: nothing was changed.');
    throw new CommanderError(1, 'rekey.notConfirmed', 'Not applied.');
  }
}

/**
 * Shows a preview, then applies it once confirmed. With --json and --yes the output is one JSON
 * document `{ preview, applied: true, ... }`; otherwise the preview comes first (as JSON,
 * `applied: false`, or as text) so that it is on screen when the question is asked.
 */
async function previewThenApply(
  io: CliIo,
  terminal: PolicyTerminal,
  step: {
    readonly preview: { readonly changes: readonly SettingsChange[] };
    readonly json: boolean;
    readonly yes: boolean;
    readonly printPreview: () => void;
    readonly apply: () => Promise<Record<string, unknown>>;
    readonly activity: string;
  },
): Promise<void> {
  const { preview, json } = step;
  if (json && step.yes && preview.changes.length > 0) {
    printJson(io, { preview, applied: true, ...(await step.apply()) });
    return;
  }
  if (json) printJson(io, { preview, applied: false });
  else step.printPreview();
  if (preview.changes.length === 0) return;
  await confirm(io, terminal, step.yes);
  const applied = await step.apply();
  if (json) printJson(io, { applied: true, ...applied });
  else io.out(`Applied. The change is in the audit log as "${step.activity}".`);
}

function printChanges(io: CliIo, changes: readonly SettingsChange[]): void {
  if (changes.length === 0) {
    io.out('No change: the settings already have these values.');
    return;
  }
  io.out('Changes:');
  for (const change of changes) {
    io.out(`  ${change.field}: ${show(change.oldValue)} -> ${show(change.newValue)}`);
  }
}

function printPolicyPreview(io: CliIo, preview: SettingsPreview<PasswordPolicyImpact>): void {
  printChanges(io, preview.changes);
  if (preview.changes.length === 0) return;
  const { impact } = preview;
  io.out('Impact:');
  io.out(`  passwords that would expire at once: ${impact.usersExpiredImmediately}`);
  for (const upn of impact.sample) io.out(`    ${upn}`);
  if (impact.usersExpiredImmediately > impact.sample.length) {
    io.out(`    ... and ${impact.usersExpiredImmediately - impact.sample.length} more`);
  }
  io.out(`  users who would start seeing the expiry warning: ${impact.usersEnteringWarningWindow}`);
  io.out(`  expired passwords that would work again: ${impact.usersNoLongerExpired}`);
  io.out(`  ${impact.note}`);
}

function printProtectionPreview(io: CliIo, preview: SettingsPreview<PasswordProtectionImpact>): void {
  printChanges(io, preview.changes);
  if (preview.changes.length === 0) return;
  const terms = preview.impact.customBannedPasswords;
  io.out('Impact:');
  io.out(
    `  custom banned terms: ${terms.before} -> ${terms.after} (${terms.added.length} added, ${terms.removed.length} removed), beside ${preview.impact.globalBannedTerms} global terms`,
  );
  io.out(`  ${preview.impact.note}`);
}

function printPolicy(io: CliIo, policy: PasswordPolicySettings): void {
  io.out('Password policy');
  for (const [field, value] of Object.entries(policy)) io.out(`  ${field}: ${show(value)}`);
}

function printProtection(io: CliIo, protection: PasswordProtectionSettings, tenantName: string): void {
  io.out('Password Protection');
  io.out(`  enabled: ${protection.enabled}`);
  io.out(`  mode: ${protection.mode}`);
  const terms = protection.customBannedPasswords;
  io.out(`  customBannedPasswords: ${terms.length} ${terms.length === 1 ? 'term' : 'terms'}`);
  for (const term of terms) io.out(`    ${term}`);
  io.out(`  checkTenantName: ${protection.checkTenantName} (tenant name: ${tenantName})`);
}

/** A flag's text as the settings validator should see it: whole numbers as numbers, `never` as null. */
function settingValue(raw: string, allowNever: boolean): unknown {
  if (/^\d{1,9}$/.test(raw)) return Number(raw);
  if (allowNever && /^(never|none|null)$/i.test(raw)) return null;
  // Anything else goes to the validator as it is, which names the field and its range.
  return raw;
}

/** The `set` flags and the policy field each one sets. */
const policyFlags = [
  ['minLength', '--min-length <n>', 'shortest password'],
  ['maxLength', '--max-length <n>', 'longest password'],
  ['requiredCategories', '--required-categories <n>', 'of lower, upper, digit, symbol'],
  ['historyCountOnChange', '--history-on-change <n>', 'recent passwords a change may not reuse'],
  ['historyCountOnReset', '--history-on-reset <n>', 'recent passwords a reset may not reuse'],
  ['minimumAgeDays', '--minimum-age-days <n>', 'days before a password may be changed again'],
  ['maximumAgeDays', '--maximum-age-days <n|never>', 'days after which a password expires'],
  ['expiryWarningDays', '--expiry-warning-days <n>', 'days before expiry that sign-in warns'],
] as const satisfies ReadonlyArray<readonly [keyof PasswordPolicySettings, string, string]>;

/** Commander's camel-cased property of a flag (`--min-length <n>` -> minLength). */
function optionKey(flag: string): string {
  const name = flag.replace(/^--/, '').split(' ')[0] ?? '';
  return name.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

type Flags = Readonly<Record<string, unknown>>;

function policyPatchFrom(flags: Flags): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [field, flag] of policyFlags) {
    const raw = flags[optionKey(flag)];
    if (typeof raw === 'string') patch[field] = settingValue(raw, field === 'maximumAgeDays');
  }
  if (Object.keys(patch).length === 0) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: `Nothing to set: give at least one of ${policyFlags.map(([, flag]) => flag.split(' ')[0]).join(', ')}.`,
      details: { missing: policyFlags.map(([, flag]) => flag.split(' ')[0]) },
    });
  }
  return patch;
}

async function showPolicy(io: CliIo, flags: { json?: boolean }): Promise<void> {
  await withDirectory(io, async (directory) => {
    const passwordPolicy = await directory.settings.getPasswordPolicy();
    const passwordProtection = await directory.settings.getPasswordProtection();
    if (flags.json) {
      printJson(io, { passwordPolicy, passwordProtection });
      return;
    }
    printPolicy(io, passwordPolicy);
    printProtection(io, passwordProtection, directory.config.tenantName);
  });
}

async function setPolicy(io: CliIo, terminal: PolicyTerminal, flags: Flags): Promise<void> {
  const patch = policyPatchFrom(flags);
  const json = flags['json'] === true;
  await withDirectory(io, async (directory, context) => {
    const preview = await directory.settings.previewPasswordPolicy(patch);
    await previewThenApply(io, terminal, {
      preview,
      json,
      yes: flags['yes'] === true,
      printPreview: () => printPolicyPreview(io, preview),
      apply: async () => ({
        passwordPolicy: (await directory.settings.updatePasswordPolicy(context, patch)).settings,
      }),
      activity: 'Update password policy',
    });
  });
}

async function showProtection(io: CliIo, flags: { json?: boolean }): Promise<void> {
  await withDirectory(io, async (directory) => {
    const protection = await directory.settings.getPasswordProtection();
    if (flags.json) printJson(io, protection);
    else printProtection(io, protection, directory.config.tenantName);
  });
}

interface ProtectionFlags {
  readonly enable?: boolean;
  readonly disable?: boolean;
  readonly mode?: string;
  readonly checkTenantName?: string;
  readonly termsFile?: string;
  readonly clearTerms?: boolean;
  readonly addTerm?: string[];
  readonly removeTerm?: string[];
  readonly yes?: boolean;
  readonly json?: boolean;
}

/** The terms of a list file: one per line; blank lines and lines starting with # are skipped. */
async function readTermsFile(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: `The terms file ${file} cannot be read.`,
      details: { option: '--terms-file', file },
      cause: error,
    });
  });
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

async function protectionPatchFrom(
  flags: ProtectionFlags,
  current: PasswordProtectionSettings,
): Promise<Record<string, unknown>> {
  const patch: Record<string, unknown> = {};
  if (flags.enable && flags.disable) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'Give --enable or --disable, not both.',
      details: { conflicting: ['--enable', '--disable'] },
    });
  }
  if (flags.enable) patch['enabled'] = true;
  if (flags.disable) patch['enabled'] = false;
  if (flags.mode !== undefined) {
    // Either spelling is accepted here; the API takes Entra's exact values.
    const mode = ['enforced', 'audit'].includes(flags.mode.toLowerCase())
      ? `${flags.mode.charAt(0).toUpperCase()}${flags.mode.slice(1).toLowerCase()}`
      : flags.mode;
    patch['mode'] = mode;
  }
  if (flags.checkTenantName !== undefined) {
    const raw = flags.checkTenantName.toLowerCase();
    patch['checkTenantName'] = ['on', 'true', 'yes'].includes(raw)
      ? true
      : ['off', 'false', 'no'].includes(raw)
        ? false
        : flags.checkTenantName;
  }
  const editsTerms =
    flags.termsFile !== undefined ||
    flags.clearTerms === true ||
    (flags.addTerm?.length ?? 0) > 0 ||
    (flags.removeTerm?.length ?? 0) > 0;
  if (editsTerms) {
    let terms: string[] =
      flags.termsFile !== undefined
        ? await readTermsFile(flags.termsFile)
        : flags.clearTerms
          ? []
          : [...current.customBannedPasswords];
    terms.push(...(flags.addTerm ?? []));
    const removed = new Set((flags.removeTerm ?? []).map((term) => term.trim().toLowerCase()));
    terms = terms.filter((term) => !removed.has(term.trim().toLowerCase()));
    patch['customBannedPasswords'] = terms;
  }
  if (Object.keys(patch).length === 0) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message:
        'Nothing to set: give --enable, --disable, --mode, --check-tenant-name, --terms-file, --clear-terms, --add-term or --remove-term.',
    });
  }
  return patch;
}

async function setProtection(io: CliIo, terminal: PolicyTerminal, flags: ProtectionFlags): Promise<void> {
  await withDirectory(io, async (directory, context) => {
    const patch = await protectionPatchFrom(flags, await directory.settings.getPasswordProtection());
    const preview = await directory.settings.previewPasswordProtection(patch);
    await previewThenApply(io, terminal, {
      preview,
      json: flags.json === true,
      yes: flags.yes === true,
      printPreview: () => printProtectionPreview(io, preview),
      apply: async () => ({
        passwordProtection: (await directory.settings.updatePasswordProtection(context, patch)).settings,
      }),
      activity: 'Update password protection policy',
    });
  });
}

function printEvaluation(io: CliIo, result: EvaluateResult): void {
  const error = policyErrorFor(result);
  const protection = result.passwordProtection;
  if (error) {
    io.out(
      `Rejected (AADSTS${error.code} ${error.entry.name}): ${result.failures.length} ${result.failures.length === 1 ? 'rule' : 'rules'} failed.`,
    );
    for (const failure of result.failures)
      io.out(`  - ${failure.rule} (${failure.code}): ${failure.message}`);
  } else {
    io.out('Accepted: the password passes every rule checked.');
  }
  const found =
    protection.matchedTerms.length === 0
      ? 'no banned terms or names found'
      : `found ${protection.matchedTerms.join(', ')} (${protection.matchedSources.join(', ')})`;
  const state = protection.enabled ? protection.mode : 'disabled';
  io.out(`Password Protection: ${protection.score} of ${protection.required} points (${state}); ${found}.`);
  if (protection.auditOnly) {
    io.out('  In Audit mode this password is accepted; a change to it is recorded in the audit log.');
  }
  io.out(`Rules checked: ${result.rulesChecked.join(', ')}.`);
  if (result.user && !result.user.exists) {
    io.out(`No user ${result.user.userPrincipalName} exists: judged as a new account with that name.`);
  }
}

async function testPassword(
  io: CliIo,
  terminal: PolicyTerminal,
  given: string | undefined,
  flags: { user?: string; checkHistory?: boolean; json?: boolean },
): Promise<void> {
  configOrExit(io);
  const password = given ?? (await readPasswordFrom(terminal.stdin, (text) => io.err(text)));
  if (password === '') {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'No password was given: pass it as an argument or on standard input.',
      details: { argument: 'password' },
    });
  }
  const result = await withDirectory(io, (directory, context) =>
    directory.passwordPolicy.evaluate(context, {
      password,
      ...(flags.user === undefined
        ? {}
        : flags.user.includes('@')
          ? { userPrincipalName: flags.user }
          : { userId: flags.user }),
      checkHistory: flags.checkHistory === true,
    }),
  );
  if (flags.json) {
    printJson(io, {
      valid: result.valid,
      failures: result.failures,
      passwordProtection: result.passwordProtection,
      rulesChecked: result.rulesChecked,
      user: result.user,
      historyChecked: result.historyChecked,
    });
  } else {
    printEvaluation(io, result);
  }
  // A rejected password is the command's "no": exit 1, so scripts can branch on it.
  if (!result.valid) throw new CommanderError(1, 'rekey.passwordRejected', 'The password was rejected.');
}

/** Adds `rekey policy` and its subcommands to the program. */
export function registerPolicyCommand(program: Command, io: CliIo, terminal?: PolicyTerminal): void {
  const term = terminal ?? defaultTerminal(io);
  const yes = ['--yes', 'apply without asking (for scripts); the preview is still printed'] as const;
  const policy = program
    .command('policy')
    .description(
      'The password policy and Password Protection: show, change (with a preview), test a password.',
    );

  policy
    .command('show')
    .description('Show the password policy and the Password Protection settings.')
    .option(...jsonOption)
    .action((flags: { json?: boolean }) => showPolicy(io, flags));

  const set = policy
    .command('set')
    .description(
      'Change the password policy: shows what would change and whom it affects, then asks (or --yes).',
    );
  for (const [field, flag, description] of policyFlags) {
    const limits = passwordPolicyLimits[field];
    set.option(flag, `${field}: ${description} (${limits.minimum}-${limits.maximum})`);
  }
  set
    .option(...yes)
    .option(...jsonOption)
    .action((flags: Flags) => setPolicy(io, term, flags));

  const protection = policy
    .command('protection')
    .description('Password Protection: banned terms, the tenant name, Enforced or Audit mode.');
  protection
    .command('show')
    .description('Show the Password Protection settings and the custom banned terms.')
    .option(...jsonOption)
    .action((flags: { json?: boolean }) => showProtection(io, flags));
  protection
    .command('set')
    .description('Change Password Protection: shows the preview, then asks (or --yes).')
    .option('--enable', 'turn Password Protection on')
    .option('--disable', 'turn Password Protection off')
    .option('--mode <mode>', 'Enforced (refuse weak passwords) or Audit (accept them, and record it)')
    .option('--check-tenant-name <on|off>', 'whether the tenant name counts as a banned term')
    .option('--terms-file <file>', 'replace the custom banned terms with the lines of this file')
    .option('--clear-terms', 'remove every custom banned term')
    .option('--add-term <term>', 'add a custom banned term (4-16 characters; repeatable)', collect)
    .option('--remove-term <term>', 'remove a custom banned term (repeatable)', collect)
    .option(...yes)
    .option(...jsonOption)
    .action((flags: ProtectionFlags) => setProtection(io, term, flags));

  policy
    .command('test')
    .description(
      'Judge a password under the policy, as a change by --user if given: prints every failing rule and the Password Protection score; exits 1 when it is rejected. Stores nothing.',
    )
    .argument(
      '[password]',
      'the password; omit it to type it unseen or pipe it, keeping it out of shell history',
    )
    .option('--user <upn>', 'judge it for this user (user principal name or object id)')
    .option('--check-history', "also compare it with the user's recent passwords (recorded in the audit log)")
    .option(...jsonOption)
    .action(
      (password: string | undefined, flags: { user?: string; checkHistory?: boolean; json?: boolean }) =>
        testPassword(io, term, password, flags),
    );
}
