import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { type Command, CommanderError } from 'commander';
import type { BreachedFilter } from '../passwords/breached/breached-filter.js';
import { recordBreachedListImport } from '../passwords/breached/breached-list-audit.js';
import {
  type BreachedSetInfo,
  type BreachedSetKind,
  combineFilters,
  importedBreachedSetFile,
  loadBreachedSet,
  loadIndexedFilter,
  shippedBreachedSetFile,
  writeFilterWithIndex,
} from '../passwords/breached/breached-set.js';
import { ExactIndexBuilder, fullRecordBytes, indexFileFor } from '../passwords/breached/exact-index.js';
import {
  type MeasuredFalsePositiveRate,
  measureFalsePositiveRate,
} from '../passwords/breached/false-positive-rate.js';
import { type HashListCounts, importHashList } from '../passwords/breached/hash-list-import.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { type Db, isDatabaseReady, openDatabase } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { systemContext } from '../platform/request-context.js';
import { findDirectoryTenant } from '../tenant/tenant-service.js';
import { invalidFlag, jsonOption, parseWholeNumber, printJson, progressTtyOf } from './command-helpers.js';
import { type CliIo, configOrExit } from './context.js';
import { createProgress, formatBar, formatCount, formatDuration } from './progress.js';

/*
 * `rekey breached ...`: the breached-password set from a shell.
 *
 *   import <file>    build the filter from an administrator's SHA-1 `HASH:count` list; into the set
 *                    Rekey consults (the default) it is audited as "Import breached password list"
 *   info [file]      what a filter holds, with its false-positive rate measured on the spot
 *   test [password]  whether a password is in the set (read from stdin when not given)
 *
 * Text for people by default, JSON with --json; progress and prompts go to stderr so stdout stays
 * clean for scripts. Failures are reported by runCli as `error <code> <Name>: <message>`.
 */

/** The terminal parts a command may use besides `io`: injected so tests can supply them. */
export interface BreachedTerminal {
  /** Where `test` reads the password when it is not an argument. */
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** A TTY to redraw a progress bar on; undefined means plain progress lines through `io.err`. */
  readonly progressTty: NodeJS.WritableStream | undefined;
}

function defaultTerminal(io: CliIo): BreachedTerminal {
  return { stdin: process.stdin, progressTty: progressTtyOf(io) };
}

/** Bytes per line of the Pwned Passwords SHA-1 download (40 + ':' + count + CRLF), for --expected. */
const bytesPerLineEstimate = 45;
const defaultFalsePositiveRate = 0.001;
const defaultInfoProbes = 100_000;

function parseRate(option: string, raw: string): number {
  const value = /^(\d+(\.\d*)?|\.\d+)(e-?\d+)?$/i.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 1e-9 && value <= 0.5)) {
    throw invalidFlag(option, raw, 'must be a probability from 0.000000001 to 0.5, e.g. 0.001 for 1 in 1000');
  }
  return value;
}

/** Binary units, as file managers show them for the same file. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function formatRate(rate: number): string {
  if (rate === 0) return '0';
  return `${rate.toPrecision(3)} (1 in ${formatCount(Math.round(1 / rate))})`;
}

/** One progress line: bar (when the total is known), bytes, entries, rate and time left. */
export function formatProgress(progress: {
  readonly bytes: number;
  readonly totalBytes: number;
  readonly entries: number;
  readonly elapsedMs: number;
}): string {
  const seconds = Math.max(progress.elapsedMs / 1000, 0.001);
  const share = progress.totalBytes > 0 ? Math.min(1, progress.bytes / progress.totalBytes) : 0;
  const perSecond = progress.entries / seconds;
  const bytesPerSecond = progress.bytes / seconds;
  const left = bytesPerSecond > 0 ? (progress.totalBytes - progress.bytes) / bytesPerSecond : 0;
  return [
    formatBar(share),
    `${formatBytes(progress.bytes)} / ${formatBytes(progress.totalBytes)}`,
    `${formatCount(progress.entries)} entries`,
    `${formatCount(Math.round(perSecond))}/s`,
    `${formatDuration(left)} left`,
  ].join('  ');
}

/** Reports import progress: a redrawn bar on a TTY, otherwise a plain line every ten seconds. */
function createImportProgress(io: CliIo, terminal: BreachedTerminal, totalBytes: number) {
  return createProgress<HashListCounts>(io, terminal.progressTty, (counts, elapsedMs) =>
    formatProgress({ bytes: counts.bytes, totalBytes, entries: counts.entries, elapsedMs }),
  );
}

interface ImportFlags {
  readonly expected?: string;
  readonly fpRate?: string;
  readonly out?: string;
  readonly minCount?: string;
  readonly skipInvalid?: boolean;
  readonly json?: boolean;
}

/** The audit log of the directory an import changes, held open while the import runs. */
interface ImportAuditLog {
  readonly db: Db;
  readonly tenantId: string;
}

/**
 * Opens the configured database for the import's audit row, or fails (7700202) before any work
 * is done. Not `withDirectory`: that would also load the breached sets, which for a full corpus is
 * gigabytes of memory on top of the filter being built, for the sake of one insert.
 */
async function openImportAuditLog(config: Config): Promise<ImportAuditLog> {
  const db = openDatabase(config.databaseUrl, { poolSize: 1 });
  try {
    if (!(await isDatabaseReady(db))) {
      throw new RekeyError(Codes.DatabaseUnavailable, {
        message:
          'The database is unreachable or its schema is not up to date, so the import cannot be audited; run `rekey migrate`, or build the filter elsewhere with --out.',
      });
    }
    const tenant = await findDirectoryTenant(db.kysely);
    if (!tenant) {
      throw new RekeyError(Codes.DatabaseUnavailable, {
        message:
          'The database holds no tenant yet, so the import cannot be audited; start Rekey once with `rekey serve`.',
      });
    }
    return { db, tenantId: tenant.id };
  } catch (error) {
    await db.close();
    throw error;
  }
}

async function importList(io: CliIo, terminal: BreachedTerminal, file: string, flags: ImportFlags) {
  const targetFalsePositiveRate =
    flags.fpRate === undefined ? defaultFalsePositiveRate : parseRate('--fp-rate', flags.fpRate);
  const minCount =
    flags.minCount === undefined ? 1 : parseWholeNumber('--min-count', flags.minCount, 1, 1e12);
  const explicitExpected =
    flags.expected === undefined ? undefined : parseWholeNumber('--expected', flags.expected, 1, 1e11);
  const config = configOrExit(io);
  const inUse = path.resolve(importedBreachedSetFile(config.dataDir));
  const out = path.resolve(flags.out ?? inUse);

  const input = path.resolve(file);
  const inputStat = await stat(input).catch((error: unknown) => {
    throw new RekeyError(Codes.InvalidBreachedPasswordList, {
      message: `The list ${file} cannot be read: ${error instanceof Error && 'code' in error && error.code === 'ENOENT' ? 'it does not exist' : 'it cannot be opened'}.`,
      details: { file: input, problem: 'unreadable' },
      cause: error,
    });
  });
  if (!inputStat.isFile()) {
    throw new RekeyError(Codes.InvalidBreachedPasswordList, {
      message: `The list ${file} is not a regular file.`,
      details: { file: input, problem: 'unreadable' },
    });
  }
  const expectedEntries = explicitExpected ?? Math.max(1, Math.round(inputStat.size / bytesPerLineEstimate));
  const sourceName = path.basename(input);
  // Writing the set Rekey consults changes what every new password is checked against, so it is
  // audited, and the database is opened first: an import that cannot be recorded is refused
  // before it runs. A filter built elsewhere (--out) changes nothing until someone installs it.
  const auditLog = out === inUse ? await openImportAuditLog(config) : undefined;
  // The exact index that confirms the filter's hits: the full SHA-1 of every entry, sorted on disk.
  let index: ExactIndexBuilder | undefined;
  try {
    index = new ExactIndexBuilder({
      near: indexFileFor(out),
      recordBytes: fullRecordBytes,
      keyForm: 'exact',
    });
    const progress = createImportProgress(io, terminal, inputStat.size);
    const { filter, counts } = await importHashList(createReadStream(input, { highWaterMark: 1024 * 1024 }), {
      alsoInto: index,
      expectedEntries,
      targetFalsePositiveRate,
      minCount,
      skipInvalid: flags.skipInvalid === true,
      sourceName,
      sourceDescription: `SHA-1 list ${sourceName} (${formatCount(inputStat.size)} bytes)${minCount > 1 ? `, entries seen at least ${minCount} times` : ''}, imported with rekey breached import`,
      onProgress: (current) => progress.update(current),
    });
    progress.finish(counts);
    const replaced = (await stat(out).catch(() => undefined)) !== undefined;
    const { fileBytes, indexBytes, indexRecords } = await writeFilterWithIndex(filter, index, out);
    if (auditLog) {
      await recordBreachedListImport(
        auditLog.db.kysely,
        auditLog.tenantId,
        systemContext(randomUUID()),
        {
          sourceName,
          lines: counts.lines,
          entries: counts.entries,
          blankLines: counts.blankLines,
          invalidLines: counts.invalidLines,
          belowMinCount: counts.belowMinCount,
          minCount,
          expectedEntries,
          filterBytes: fileBytes,
          bits: filter.bits,
          hashCount: filter.hashCount,
          targetFalsePositiveRate,
          theoreticalFalsePositiveRate: filter.theoreticalFalsePositiveRate,
          replaced,
        },
        systemClock.now().toISOString(),
      );
    }
    reportImport(io, flags.json === true, {
      input,
      out,
      sourceName,
      counts,
      expectedEntries,
      fileBytes,
      filter,
      targetFalsePositiveRate,
      seconds: progress.elapsedSeconds(),
      audited: auditLog !== undefined,
      index: { file: indexFileFor(out), fileBytes: indexBytes, records: indexRecords },
    });
  } finally {
    index?.discard();
    await auditLog?.db.close();
  }
}

/** Prints what an import did: a JSON summary for scripts, or lines for people. */
function reportImport(
  io: CliIo,
  json: boolean,
  result: {
    readonly input: string;
    readonly out: string;
    readonly sourceName: string;
    readonly counts: HashListCounts;
    readonly expectedEntries: number;
    readonly fileBytes: number;
    readonly filter: BreachedFilter;
    readonly targetFalsePositiveRate: number;
    readonly seconds: number;
    readonly audited: boolean;
    readonly index: { readonly file: string; readonly fileBytes: number; readonly records: number };
  },
): void {
  const { input, out, sourceName, counts, expectedEntries, fileBytes, filter, targetFalsePositiveRate } =
    result;
  const theoretical = filter.theoreticalFalsePositiveRate;
  const warnings: string[] = [];
  if (theoretical > targetFalsePositiveRate * 1.1) {
    warnings.push(
      `The list had more entries than expected (${formatCount(counts.entries)}, sized for ${formatCount(expectedEntries)}), so the false-positive rate is ${formatRate(theoretical)} instead of ${targetFalsePositiveRate}. Run again with --expected ${counts.entries}.`,
    );
  } else if (counts.entries < expectedEntries * 0.5) {
    warnings.push(
      `The filter is sized for ${formatCount(expectedEntries)} entries but holds ${formatCount(counts.entries)}; --expected ${counts.entries} would make it ${formatBytes(fileBytes * (counts.entries / expectedEntries))} or so.`,
    );
  }
  const summary = {
    input,
    out,
    lines: counts.lines,
    entries: counts.entries,
    blankLines: counts.blankLines,
    invalidLines: counts.invalidLines,
    firstInvalidLines: counts.firstInvalidLines,
    belowMinCount: counts.belowMinCount,
    expectedEntries,
    fileBytes,
    bits: filter.bits,
    hashCount: filter.hashCount,
    targetFalsePositiveRate,
    theoreticalFalsePositiveRate: theoretical,
    seconds: Number(result.seconds.toFixed(3)),
    audited: result.audited,
    index: result.index,
    runningServers: result.audited ? 'reload within seconds' : 'not consulted',
    warnings,
  };
  if (json) {
    printJson(io, summary);
    return;
  }
  const skipped = [
    `${formatCount(counts.blankLines)} blank`,
    `${formatCount(counts.invalidLines)} invalid${counts.invalidLines > 0 ? ` and skipped (line ${counts.firstInvalidLines.join(', ')}${counts.invalidLines > counts.firstInvalidLines.length ? ', ...' : ''})` : ''}`,
    `${formatCount(counts.belowMinCount)} below --min-count`,
  ];
  io.out(
    `Imported ${formatCount(counts.entries)} entries from ${sourceName}: ${formatCount(counts.lines)} lines, ${skipped.join(', ')}.`,
  );
  io.out(
    `Filter: ${formatBytes(fileBytes)} (m = ${formatCount(filter.bits)} bits, ${(filter.bits / counts.entries).toFixed(1)} per entry; k = ${filter.hashCount}), sized for ${formatCount(expectedEntries)} entries at a false-positive rate of ${targetFalsePositiveRate}.`,
  );
  io.out(
    `Theoretical false-positive rate: ${formatRate(theoretical)} for the filter alone; each of its hits is confirmed against the exact index before a password is refused, so no unlisted password is refused.`,
  );
  io.out(
    `Exact index: ${result.index.file}, ${formatBytes(result.index.fileBytes)} (${formatCount(result.index.records)} distinct SHA-1 hashes); keep it beside the filter.`,
  );
  for (const warning of warnings) io.out(`Warning: ${warning}`);
  if (result.audited) {
    io.out(
      `Written to ${out}. Running Rekey servers using this data directory switch to it within a few seconds, without a restart; Rekey consults it with the shipped set.`,
    );
    io.out('The import is in the audit log as "Import breached password list".');
  } else {
    io.out(
      `Written to ${out}. Rekey consults only <REKEY_DATA_DIR>/breached/imported.rkbf and its index imported.rkbx; import there (or copy both files) to use it.`,
    );
  }
}

interface MeasuredInfo extends BreachedSetInfo {
  readonly measured: MeasuredFalsePositiveRate;
}

function printInfo(io: CliIo, info: MeasuredInfo): void {
  const { measured } = info;
  io.out(`${info.kind} set: ${info.file}`);
  io.out(`  format: version ${info.formatVersion}, ${formatBytes(info.fileBytes)}`);
  io.out(
    `  entries: ${formatCount(info.entries)} (${info.keyForm === 'lowerCase' ? 'lower-cased, matched regardless of case' : 'exact passwords'})`,
  );
  io.out(
    `  filter: m = ${formatCount(info.bits)} bits (${(info.bits / Math.max(1, info.entries)).toFixed(1)} per entry), k = ${info.hashCount}`,
  );
  io.out(
    `  false-positive rate: target ${info.targetFalsePositiveRate}, theoretical ${formatRate(info.theoreticalFalsePositiveRate)}`,
  );
  io.out(
    `  measured: ${formatCount(measured.falsePositives)} of ${formatCount(measured.probes)} random probes = ${measured.rate.toPrecision(3)} (95%: ${measured.low.toPrecision(3)} to ${measured.high.toPrecision(3)})`,
  );
  io.out(
    `  exact index: ${info.index.file}, version ${info.index.formatVersion}, ${formatBytes(info.index.fileBytes)} (${formatCount(info.index.records)} records of ${info.index.recordBytes} bytes); confirms every filter hit`,
  );
  io.out(`  built: ${info.createdAt}`);
  io.out(`  source: ${info.source}`);
}

async function showInfo(io: CliIo, file: string | undefined, flags: { probes?: string; json?: boolean }) {
  const probes =
    flags.probes === undefined
      ? defaultInfoProbes
      : parseWholeNumber('--probes', flags.probes, 1, 100_000_000);
  const targets: { kind: BreachedSetKind; file: string }[] = [];
  if (file !== undefined) {
    const resolved = path.resolve(file);
    targets.push({ kind: resolved === shippedBreachedSetFile() ? 'shipped' : 'imported', file: resolved });
  } else {
    targets.push({ kind: 'shipped', file: shippedBreachedSetFile() });
    const imported = importedBreachedSetFile(configOrExit(io).dataDir);
    if (await stat(imported).catch(() => undefined)) targets.push({ kind: 'imported', file: imported });
  }
  const infos: MeasuredInfo[] = [];
  for (const target of targets) {
    const indexed = await loadIndexedFilter(target.file, target.kind, { inMemory: false });
    try {
      const set = combineFilters([indexed]);
      const measured = measureFalsePositiveRate({ has: (password) => set.filterHas(password) }, { probes });
      infos.push({ ...(set.sets[0] as BreachedSetInfo), measured });
    } finally {
      indexed.index.close();
    }
  }
  if (flags.json) {
    printJson(io, file === undefined ? { sets: infos } : infos[0]);
    return;
  }
  infos.forEach((info, index) => {
    if (index > 0) io.out('');
    printInfo(io, info);
  });
  if (file === undefined && infos.length === 1) {
    io.out('');
    io.out('No imported set: add one with `rekey breached import <file>`.');
  }
}

/** Reads one line from a pipe, or prompts without echo on a terminal. */
export async function readPasswordFrom(
  stdin: BreachedTerminal['stdin'],
  prompt: (text: string) => void,
): Promise<string> {
  if (stdin.isTTY && stdin.setRawMode) {
    const setRawMode = stdin.setRawMode.bind(stdin);
    prompt('Password (not shown): ');
    setRawMode(true);
    try {
      return await new Promise<string>((resolve, reject) => {
        let typed = '';
        const onData = (data: Buffer | string) => {
          for (const character of data.toString()) {
            if (character === '\r' || character === '\n') {
              stdin.off('data', onData);
              prompt('\n');
              resolve(typed);
              return;
            }
            if (character === '\u0003') {
              stdin.off('data', onData);
              reject(
                new RekeyError(Codes.RequestValidationFailed, {
                  message: 'Cancelled: no password was read.',
                }),
              );
              return;
            }
            if (character === '\u007f' || character === '\b') typed = [...typed].slice(0, -1).join('');
            else typed += character;
          }
        };
        stdin.on('data', onData);
        stdin.resume();
      });
    } finally {
      setRawMode(false);
      stdin.pause();
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return (Buffer.concat(chunks).toString('utf8').split('\n')[0] ?? '').replace(/\r$/, '');
}

async function testPassword(
  io: CliIo,
  terminal: BreachedTerminal,
  given: string | undefined,
  flags: { json?: boolean },
) {
  const config = configOrExit(io);
  const password = given ?? (await readPasswordFrom(terminal.stdin, (text) => io.err(text)));
  if (password === '') {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'No password was given: pass it as an argument or on standard input.',
      details: { argument: 'password' },
    });
  }
  const set = await loadBreachedSet({ dataDir: config.dataDir });
  const matches = set.matches(password);
  set.close();
  const consulted = set.sets.map((info) => info.kind);
  if (flags.json) {
    io.out(
      JSON.stringify(
        {
          found: matches.length > 0,
          matches,
          consulted,
          falsePositiveRate: set.theoreticalFalsePositiveRate,
        },
        null,
        2,
      ),
    );
  } else {
    if (matches.length > 0) {
      io.out(
        `Found: this password is in the breached-password set (${matches.join(' and ')}). Choose another.`,
      );
    } else {
      io.out(`Not found in the breached-password set (${consulted.join(' and ')} consulted).`);
    }
    io.out(
      'The set never misses a listed password, and every hit of its filter is confirmed against the exact index of its list, so "Found" means the password is in the list.',
    );
  }
  // Exit 1 when the password may not be used, as `rekey policy test` does (test(1) style).
  if (matches.length > 0)
    throw new CommanderError(1, 'rekey.passwordFound', 'The password is in the breached-password set.');
}

/** Adds `rekey breached` and its subcommands to the program. */
export function registerBreachedCommand(program: Command, io: CliIo, terminal?: BreachedTerminal): void {
  const term = terminal ?? defaultTerminal(io);
  const breached = program
    .command('breached')
    .description('The breached-password set: import a breach corpus, inspect it, test a password.');

  breached
    .command('import')
    .description(
      'Build the breached-password filter from a SHA-1 `HASH:count` list (e.g. the Pwned Passwords SHA-1 download).',
    )
    .argument('<file>', 'the list: one `40-hex-digit SHA-1:count` per line, CRLF or LF')
    .option(
      '--expected <n>',
      `entries to size the filter for (default: file size / ${bytesPerLineEstimate} bytes)`,
    )
    .option('--fp-rate <p>', `target false-positive rate (default ${defaultFalsePositiveRate}, 1 in 1000)`)
    .option(
      '--out <file>',
      'where to write the filter (default: <REKEY_DATA_DIR>/breached/imported.rkbf, the set Rekey consults; writing that one needs the database, for its audit row)',
    )
    .option('--min-count <n>', 'leave out entries seen fewer than n times (default 1: keep all)')
    .option('--skip-invalid', 'count and skip malformed lines instead of stopping at the first')
    .option(...jsonOption)
    .action((file: string, flags: ImportFlags) => importList(io, term, file, flags));

  breached
    .command('info')
    .description('Show what a filter holds and measure its false-positive rate (default: the sets in use).')
    .argument('[file]', 'a .rkbf filter file (default: the shipped set and the imported one, if any)')
    .option('--probes <n>', `random strings to probe the measured rate with (default ${defaultInfoProbes})`)
    .option(...jsonOption)
    .action((file: string | undefined, flags: { probes?: string; json?: boolean }) =>
      showInfo(io, file, flags),
    );

  breached
    .command('test')
    .description(
      'Say whether a password is in the breached-password set (filter hits confirmed exactly); exits 1 when it is.',
    )
    .argument(
      '[password]',
      'the password; omit it to type it unseen or pipe it, keeping it out of shell history',
    )
    .option(...jsonOption)
    .action((password: string | undefined, flags: { json?: boolean }) =>
      testPassword(io, term, password, flags),
    );
}
