import type { Command } from 'commander';
import { type SignInSettings, signInErrorDisclosures } from '../auth/sign-in-disclosure.js';
import type { SettingsChange } from '../settings/settings-service.js';
import { jsonOption, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';

/*
 * `rekey signin ...`: what a refused sign-in tells the caller, from a shell, through the same
 * settings service as `/rekey/v1/settings/signIn` (same validation, same audit row).
 *
 *   show [--json]                                         the mode in effect
 *   set --disclosure uniform|entraCompatible [--json]     change it
 */

const modeMeaning: Readonly<Record<SignInSettings['signInErrorDisclosure'], string>> = {
  uniform:
    'an unknown user, a wrong password and a locked or disabled account get the same answer (50126) unless the right password was given',
  entraCompatible:
    'refusals name their reason as Entra ID does (50034 unknown user, 50053 locked, 50126 wrong password)',
};

function printSettings(io: CliIo, settings: SignInSettings): void {
  io.out('Sign-in error disclosure');
  io.out(`  signInErrorDisclosure: ${settings.signInErrorDisclosure}`);
  io.out(`  ${modeMeaning[settings.signInErrorDisclosure]}`);
  io.out('  The sign-in log always records the true reason.');
}

function printChanges(io: CliIo, changes: readonly SettingsChange[]): void {
  if (changes.length === 0) {
    io.out('No change: the setting already has this value.');
    return;
  }
  for (const change of changes) {
    io.out(`  ${change.field}: ${JSON.stringify(change.oldValue)} -> ${JSON.stringify(change.newValue)}`);
  }
  io.out('Applied. The change is in the audit log as "Update sign-in error disclosure policy".');
}

/** Adds `rekey signin` and its subcommands to the program. */
export function registerSignInCommand(program: Command, io: CliIo): void {
  const signin = program
    .command('signin')
    .description(
      'Sign-in settings: what a refused sign-in tells the caller (the sign-in log always keeps the truth).',
    );

  signin
    .command('show')
    .description('Show the sign-in error disclosure mode in effect.')
    .option(...jsonOption)
    .action(async (flags: { json?: boolean }) => {
      await withDirectory(io, async (directory) => {
        const settings = await directory.settings.getSignIn();
        if (flags.json) printJson(io, settings);
        else printSettings(io, settings);
      });
    });

  signin
    .command('set')
    .description('Change the disclosure mode (audited as "Update sign-in error disclosure policy").')
    .requiredOption('--disclosure <mode>', `one of ${signInErrorDisclosures.join(', ')}`)
    .option(...jsonOption)
    .action(async (flags: { disclosure: string; json?: boolean }) => {
      await withDirectory(io, async (directory, context) => {
        const { settings, changes } = await directory.settings.updateSignIn(context, {
          signInErrorDisclosure: flags.disclosure,
        });
        if (flags.json) printJson(io, { signIn: settings, changes });
        else printChanges(io, changes);
      });
    });
}
