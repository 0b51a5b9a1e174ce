import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { renderReportMarkdown, renderReportText } from '../diagnose/diagnose-text.js';
import type { DiagnoseSelectors } from '../diagnose/diagnose-types.js';
import { parseLogTime } from '../logs/time-range.js';
import { systemClock } from '../platform/clock.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { invalidFlag, parseWholeNumber, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';

/*
 * The troubleshooter from a shell, on the database `rekey serve` uses:
 *
 *   rekey diagnose [--user UPN] [--correlation-id ID] [--code N] [--since 24h] [--format text|json|markdown]
 *   rekey support-bundle [--user UPN] [--correlation-id ID] [--code N] [--since 24h] -o bundle.zip
 */

const formats = ['text', 'json', 'markdown'] as const;
type Format = (typeof formats)[number];

interface SelectorFlags {
  readonly user?: string;
  readonly correlationId?: string;
  readonly code?: string;
  readonly since?: string;
}

/** The flags as the service's selectors; none of user, correlation ID and code is 7700001. */
function selectorsOf(flags: SelectorFlags): DiagnoseSelectors {
  if (flags.user === undefined && flags.correlationId === undefined && flags.code === undefined)
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'Name what to diagnose: --user, --correlation-id or --code (or several).',
    });
  return {
    userPrincipalName: flags.user,
    correlationId: flags.correlationId,
    errorCode:
      flags.code === undefined
        ? undefined
        : parseWholeNumber('--code', flags.code.replace(/^AADSTS/i, ''), 1, 99_999_999),
    since: flags.since === undefined ? undefined : parseLogTime('--since', flags.since, systemClock.now()),
  };
}

function addSelectorOptions(command: Command): Command {
  return command
    .option('--user <upn>', 'the user who sees the error (user principal name)')
    .option('--correlation-id <id>', 'the correlation ID of the failed request (from the error message)')
    .option('--code <n>', 'the error code (120008 or AADSTS120008); alone, across every user')
    .option(
      '--since <time>',
      'how far back to look: a duration (24h, 7d, 30m) or an ISO date-time (default 24h)',
    );
}

async function diagnoseCommand(
  io: CliIo,
  flags: SelectorFlags & { readonly format?: string },
): Promise<void> {
  const format = (flags.format ?? 'text') as Format;
  if (!formats.includes(format))
    throw invalidFlag('--format', flags.format ?? '', `must be one of ${formats.join(', ')}`);
  const selectors = selectorsOf(flags);
  await withDirectory(io, async (directory) => {
    const report = await directory.diagnose.diagnose(selectors);
    if (format === 'json') printJson(io, report);
    else io.out((format === 'markdown' ? renderReportMarkdown(report) : renderReportText(report)).trimEnd());
  });
}

async function supportBundleCommand(
  io: CliIo,
  flags: SelectorFlags & { readonly output?: string },
): Promise<void> {
  if (flags.output === undefined)
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'Name the archive to write with -o (for example -o bundle.zip).',
    });
  const selectors = selectorsOf(flags);
  const target = path.resolve(flags.output);
  await withDirectory(io, async (directory) => {
    const bundle = await directory.buildSupportBundle(selectors);
    // Written whole under a temporary name, then renamed: a half-written archive never has the name.
    const partial = `${target}.partial`;
    try {
      writeFileSync(partial, bundle.archive, { mode: 0o600 });
      chmodSync(partial, 0o600);
      renameSync(partial, target);
    } catch (error) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `-o ${flags.output} cannot be written: ${error instanceof Error ? error.message : String(error)}.`,
        details: { option: '--output', value: flags.output },
        cause: error,
      });
    }
    io.out(
      `Wrote ${target} (${bundle.archive.length} bytes, ${bundle.files.length + 1} files with manifest.json).`,
    );
  });
}

/** Registers `rekey diagnose` and `rekey support-bundle`. */
export function registerDiagnoseCommands(program: Command, io: CliIo): void {
  addSelectorOptions(
    program
      .command('diagnose')
      .description(
        'Find why a password change, reset or sign-in failed: the root cause first, then the evidence, then the fix.',
      ),
  )
    .option('--format <format>', `text (default), json or markdown`)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rekey diagnose --user ada@example.com',
        '  rekey diagnose --correlation-id 6f1c9d2e-0b7a-4e55-9a43-2d8f5c1e7b90',
        '  rekey diagnose --code 120008 --since 7d --format json',
      ].join('\n'),
    )
    .action((flags: SelectorFlags & { format?: string }) => diagnoseCommand(io, flags));

  addSelectorOptions(
    program
      .command('support-bundle')
      .description(
        'Write one ZIP archive for support: the diagnose report, the matching logs, operations and connector calls, the configuration without secrets, versions and a manifest.',
      ),
  )
    .option('-o, --output <file>', 'the archive to write (required), for example bundle.zip')
    .addHelpText(
      'after',
      ['', 'Example:', '  rekey support-bundle --user ada@example.com -o bundle.zip'].join('\n'),
    )
    .action((flags: SelectorFlags & { output?: string }) => supportBundleCommand(io, flags));
}
