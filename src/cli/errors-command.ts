import { type Command, CommanderError } from 'commander';
import { codeLabel, describeCode, fixersInWords } from '../error-page/error-page-mapper.js';
import {
  type CatalogEntry,
  Codes,
  findCatalogEntry,
  listCatalogEntries,
} from '../platform/errors/catalog.js';
import { explainCode } from '../platform/errors/catalog-guidance.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { invalidFlag, jsonOption, printJson } from './command-helpers.js';
import { type CliIo, reportFailure } from './context.js';

/*
 * `rekey errors`: the error catalog from a shell, as GET /error?code=N shows it.
 *
 *   errors <code> [--json]      one code in full: cause, who can fix it, steps, related codes
 *   errors [--list] [--json]    every code: code, name, category, who can fix it, retryable
 */

/** The table of every code, one row each under a header. */
function printList(io: CliIo, entries: readonly CatalogEntry[]): void {
  const header = ['CODE', 'NAME', 'CATEGORY', 'FIXED BY', 'RETRYABLE'] as const;
  const rows = entries.map((entry) => [
    codeLabel(entry),
    entry.name,
    entry.category,
    explainCode(entry).fixedBy.join(',') || '-',
    entry.retryable ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  io.out([line(header), ...rows.map(line)].join('\n'));
}

/** One code in full, in the order a person reads it: what, who, why, what to do, what else. */
function printCode(io: CliIo, entry: CatalogEntry): void {
  const explained = explainCode(entry);
  const lines = [
    `${codeLabel(entry)}  ${entry.name}`,
    `  ${entry.message}`,
    `  category: ${entry.category}; HTTP ${entry.httpStatus}; ${entry.retryable ? 'retryable' : 'not retryable'}; ${entry.isEntraCode ? 'Entra-compatible code' : "Rekey's own code"}`,
    `  who can fix it: ${fixersInWords(explained.fixedBy)}`,
  ];
  if (explained.cause !== null) lines.push(`  why: ${explained.cause}`);
  if (explained.notes.length > 0) {
    lines.push('  how it works:');
    for (const note of explained.notes) lines.push(`    ${note}`);
  }
  lines.push('  what to do:');
  for (const step of explained.steps) lines.push(`    - ${step}`);
  if (explained.related.length > 0) {
    lines.push('  related codes:');
    for (const code of explained.related) {
      const related = findCatalogEntry(code);
      if (related) lines.push(`    - ${codeLabel(related)}  ${related.name}`);
    }
  }
  io.out(lines.join('\n'));
}

/** The entry a code names, with or without the AADSTS prefix; undefined for anything else. */
function entryFor(code: string): CatalogEntry | undefined {
  return /^(AADSTS)?\d{1,9}$/i.test(code)
    ? findCatalogEntry(Number(code.replace(/^AADSTS/i, '')))
    : undefined;
}

/** Registers `rekey errors`. */
export function registerErrorsCommand(program: Command, io: CliIo): void {
  program
    .command('errors')
    .description(
      'Explain an error code (AADSTS number or Rekey code): its cause, who can fix it, the steps and related codes; or list every code.',
    )
    .argument('[code]', 'the code, with or without the AADSTS prefix')
    .option(
      '--list',
      'list every code with its category, who can fix it and whether it is retryable (the default without a code)',
    )
    .option(...jsonOption)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rekey errors 120008',
        '  rekey errors AADSTS50053 --json',
        '  rekey errors --list',
      ].join('\n'),
    )
    .action((code: string | undefined, options: { list?: boolean; json?: boolean }) => {
      if (code === undefined) {
        const entries = listCatalogEntries();
        if (options.json) printJson(io, entries.map(describeCode));
        else printList(io, entries);
        return;
      }
      if (options.list)
        throw invalidFlag(
          '--list',
          code,
          'lists every code and takes none; run `rekey errors <code>` for one',
        );
      const entry = entryFor(code);
      if (!entry) {
        const error = new RekeyError(Codes.ResourceNotFound, {
          message: `Rekey does not define the code ${code}.`,
          details: { code },
        });
        // The catalog's advice for 7700008 is about directory objects; this one is about codes.
        const exitCode = reportFailure(
          io,
          error,
          options.json === true,
          'Run `rekey errors --list` for every code.',
        );
        throw new CommanderError(exitCode, 'rekey.unknownErrorCode', error.message);
      }
      if (options.json) printJson(io, describeCode(entry));
      else printCode(io, entry);
    });
}
