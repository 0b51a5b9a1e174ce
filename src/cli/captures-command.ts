import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { toCaptureView } from '../captures/capture-mapper.js';
import type { CaptureView } from '../captures/capture-schemas.js';
import { defaultMaxEntries, maxCaptureMinutes } from '../captures/capture-service.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { invalidFlag, jsonOption, parseWholeNumber, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';

/*
 * `rekey captures ...`: HTTP exchange captures (docs/captures.md) from a shell, on the database
 * `rekey serve` uses. A capture started here is honoured by every running server within its
 * reload interval (5 seconds).
 *
 *   start (--user <upn> | --correlation-id <id>) --minutes <n> [--max-entries <n>] [--json]
 *   list [--json]
 *   stop <id> [--json]
 *   export <id> [-o file.har]     the HAR 1.2 document (stdout without -o)
 */

interface StartFlags {
  readonly user?: string;
  readonly correlationId?: string;
  readonly minutes?: string;
  readonly maxEntries?: string;
  readonly json?: boolean;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function captureId(raw: string): string {
  if (!uuid.test(raw))
    throw invalidFlag('<id>', raw, 'must be a capture id (a GUID, as `rekey captures list` shows it)');
  return raw.toLowerCase();
}

function printCaptures(io: CliIo, views: readonly CaptureView[]): void {
  const columns = ['id', 'status', 'target', 'recording', 'entries', 'ends'] as const;
  const rows = views.map((v) => [
    v.id,
    v.status,
    v.target,
    v.userPrincipalName ?? v.correlationId ?? v.createdBy?.userPrincipalName ?? '',
    `${v.entryCount}/${v.maxEntries}${v.droppedCount > 0 ? ` (+${v.droppedCount} dropped)` : ''}`,
    v.stoppedDateTime ?? v.endDateTime,
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  io.out([line(columns), ...rows.map(line)].join('\n'));
}

async function startCommand(io: CliIo, flags: StartFlags): Promise<void> {
  if ((flags.user === undefined) === (flags.correlationId === undefined))
    throw new RekeyError(Codes.CaptureSelectorRequired, {
      message: 'Name what to capture: --user or --correlation-id (one of them).',
    });
  if (flags.minutes === undefined)
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: `Say how long to capture with --minutes (1 to ${maxCaptureMinutes}).`,
      details: { option: '--minutes' },
    });
  const durationMinutes = parseWholeNumber('--minutes', flags.minutes, 1, maxCaptureMinutes);
  const maxEntries =
    flags.maxEntries === undefined
      ? undefined
      : parseWholeNumber('--max-entries', flags.maxEntries, 1, defaultMaxEntries);
  await withDirectory(io, async (directory, context) => {
    const capture = await directory.captures.start(context, {
      userPrincipalName: flags.user,
      correlationId: flags.correlationId,
      durationMinutes,
      maxEntries,
    });
    const view = toCaptureView(capture, directory.clock.now());
    if (flags.json) {
      printJson(io, view);
      return;
    }
    io.out(`Capture ${view.id} records until ${view.endDateTime}.`);
    io.out(`Export it with: rekey captures export ${view.id} -o capture.har`);
  });
}

async function listCommand(io: CliIo, flags: { readonly json?: boolean }): Promise<void> {
  await withDirectory(io, async (directory) => {
    const now = directory.clock.now();
    const views = (await directory.captures.list()).map((capture) => toCaptureView(capture, now));
    if (flags.json) printJson(io, views);
    else if (views.length === 0) io.out('No captures.');
    else printCaptures(io, views);
  });
}

async function stopCommand(io: CliIo, id: string, flags: { readonly json?: boolean }): Promise<void> {
  const captureIdValue = captureId(id);
  await withDirectory(io, async (directory, context) => {
    const view = toCaptureView(await directory.captures.stop(context, captureIdValue), directory.clock.now());
    if (flags.json) printJson(io, view);
    else io.out(`Capture ${view.id} ended (${view.entryCount} exchanges recorded).`);
  });
}

async function exportCommand(io: CliIo, id: string, flags: { readonly output?: string }): Promise<void> {
  const captureIdValue = captureId(id);
  await withDirectory(io, async (directory) => {
    const { har } = await directory.captures.har(captureIdValue);
    const text = `${JSON.stringify(har, null, 2)}\n`;
    if (flags.output === undefined) {
      io.out(text);
      return;
    }
    const target = path.resolve(flags.output);
    // Written whole under a temporary name, then renamed: a half-written file never has the name.
    const partial = `${target}.partial`;
    try {
      writeFileSync(partial, text, { mode: 0o600 });
      chmodSync(partial, 0o600);
      renameSync(partial, target);
    } catch (error) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `-o ${flags.output} cannot be written: ${error instanceof Error ? error.message : String(error)}.`,
        details: { option: '--output', value: flags.output },
        cause: error,
      });
    }
    io.out(`Wrote ${target} (${har.log.entries.length} exchanges, HAR 1.2).`);
  });
}

/** Registers `rekey captures`. */
export function registerCapturesCommand(program: Command, io: CliIo): void {
  const captures = program
    .command('captures')
    .description(
      "Record a user's or a request's HTTP exchanges as HAR (secrets redacted) for a while, list the captures, stop one, export one.",
    );

  captures
    .command('start')
    .description(
      'Start recording the exchanges of one user (their sign-ins and every request they make) or of one correlation ID, from now.',
    )
    .option('--user <upn>', 'the user principal name to record (a name nobody holds yet is accepted)')
    .option('--correlation-id <id>', 'the correlation ID (client-request-id) to record')
    .option('--minutes <n>', `how long to record: 1 to ${maxCaptureMinutes} (required)`)
    .option(
      '--max-entries <n>',
      `the most exchanges to keep: 1 to ${defaultMaxEntries} (default ${defaultMaxEntries})`,
    )
    .option(...jsonOption)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rekey captures start --user ada@example.com --minutes 60',
        '  rekey captures start --correlation-id 6f1c9d2e-0b7a-4e55-9a43-2d8f5c1e7b90 --minutes 15',
      ].join('\n'),
    )
    .action((flags: StartFlags) => startCommand(io, flags));

  captures
    .command('list')
    .description(
      'List the captures, newest first: what each records, until when, and how many exchanges it kept.',
    )
    .option(...jsonOption)
    .action((flags: { json?: boolean }) => listCommand(io, flags));

  captures
    .command('stop')
    .description('End a capture now; what it recorded stays until it ages out with the logs.')
    .argument('<id>', 'the capture id')
    .option(...jsonOption)
    .action((id: string, flags: { json?: boolean }) => stopCommand(io, id, flags));

  captures
    .command('export')
    .description('Write a capture as a HAR 1.2 file, which browsers and HAR viewers open.')
    .argument('<id>', 'the capture id')
    .option('-o, --output <file>', 'the file to write (mode 0600); the HAR goes to stdout without it')
    .addHelpText('after', ['', 'Example:', '  rekey captures export <id> -o capture.har'].join('\n'))
    .action((id: string, flags: { output?: string }) => exportCommand(io, id, flags));
}
