import type { Command } from 'commander';
import {
  maxLockoutGrowth,
  type SmartLockoutSettings,
  smartLockoutLimits,
} from '../lockout/lockout-policy.js';
import type { LockoutView } from '../lockout/lockout-service.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { SettingsChange } from '../settings/settings-service.js';
import { jsonOption, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';

/*
 * `rekey lockout ...`: the smart lockout settings from a shell, through the same settings service
 * as `/rekey/v1/settings/smartLockout` (same validation, same "Update smart lockout policy" audit
 * row, attributed to Rekey itself).
 *
 *   show [--json]                                   the threshold and duration in effect
 *   set [--threshold N] [--duration S] [--json]     change them
 *
 * Unlike a password policy change, a lockout change makes nobody's password invalid and shortens
 * no lock in force, so `set` applies at once without asking; the audit row records it.
 */

function printSettings(io: CliIo, settings: SmartLockoutSettings): void {
  const { lockoutThreshold, lockoutDurationInSeconds } = settings;
  io.out('Smart lockout');
  io.out(`  lockoutThreshold: ${lockoutThreshold}`);
  io.out(`  lockoutDurationInSeconds: ${lockoutDurationInSeconds}`);
  io.out(
    `  each further lockout in a row lasts twice as long, at most ${maxLockoutGrowth * lockoutDurationInSeconds} s`,
  );
}

/** The lock state lines `rekey users get` and `rekey users unlock` print. */
export function lockoutLines(view: LockoutView): string[] {
  const lines = [
    `lockout: ${view.locked ? 'locked' : 'not locked'} (threshold ${view.lockoutThreshold}, first lockout ${view.lockoutDurationInSeconds} s)`,
  ];
  for (const network of view.networks) {
    const state = network.locked ? `locked until ${network.lockedUntil}` : 'not locked';
    lines.push(
      `lockout.${network.network}: ${state}; ${network.failureCount} failures, ${network.lockoutCount} lockouts in a row` +
        `; last failure ${network.lastFailureDateTime ?? 'never'}, last lockout ${network.lastLockoutDateTime ?? 'never'}`,
    );
    if (network.reason !== null) lines.push(`  why: ${network.reason}`);
  }
  return lines;
}

/** A flag's text for the validator: whole numbers as numbers, anything else as given (it names the field). */
function flagValue(raw: string): unknown {
  return /^\d{1,9}$/.test(raw) ? Number(raw) : raw;
}

function printChanges(io: CliIo, changes: readonly SettingsChange[]): void {
  if (changes.length === 0) {
    io.out('No change: the settings already have these values.');
    return;
  }
  for (const change of changes) {
    io.out(`  ${change.field}: ${JSON.stringify(change.oldValue)} -> ${JSON.stringify(change.newValue)}`);
  }
  io.out('Applied. The change is in the audit log as "Update smart lockout policy".');
}

async function setLockout(
  io: CliIo,
  flags: { threshold?: string; duration?: string; json?: boolean },
): Promise<void> {
  const patch: Record<string, unknown> = {};
  if (flags.threshold !== undefined) patch['lockoutThreshold'] = flagValue(flags.threshold);
  if (flags.duration !== undefined) patch['lockoutDurationInSeconds'] = flagValue(flags.duration);
  if (Object.keys(patch).length === 0) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'Nothing to set: give --threshold, --duration or both.',
      details: { missing: ['--threshold', '--duration'] },
    });
  }
  await withDirectory(io, async (directory, context) => {
    const { settings, changes } = await directory.settings.updateSmartLockout(context, patch);
    if (flags.json) printJson(io, { smartLockout: settings, changes });
    else printChanges(io, changes);
  });
}

/** Adds `rekey lockout` and its subcommands to the program. */
export function registerLockoutCommand(program: Command, io: CliIo): void {
  const lockout = program
    .command('lockout')
    .description('Smart lockout settings: how many wrong passwords lock an account, and for how long.');

  lockout
    .command('show')
    .description('Show the lockout threshold and duration in effect.')
    .option(...jsonOption)
    .action(async (flags: { json?: boolean }) => {
      await withDirectory(io, async (directory) => {
        const settings = await directory.settings.getSmartLockout();
        if (flags.json) printJson(io, settings);
        else printSettings(io, settings);
      });
    });

  const { lockoutThreshold, lockoutDurationInSeconds } = smartLockoutLimits;
  lockout
    .command('set')
    .description('Change the threshold and/or the duration (audited as "Update smart lockout policy").')
    .option(
      '--threshold <n>',
      `failed attempts that lock the account (${lockoutThreshold.minimum}-${lockoutThreshold.maximum})`,
    )
    .option(
      '--duration <seconds>',
      `length of the first lockout in seconds (${lockoutDurationInSeconds.minimum}-${lockoutDurationInSeconds.maximum})`,
    )
    .option(...jsonOption)
    .action((flags: { threshold?: string; duration?: string; json?: boolean }) => setLockout(io, flags));
}
