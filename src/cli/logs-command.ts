import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import {
  type EventChannel,
  type EventLevel,
  eventChannels,
  eventLevels,
  listEventDefinitions,
} from '../event-log/event-catalog.js';
import { toEventLogEntry } from '../event-log/event-log-mapper.js';
import type { EventLogEntryView } from '../event-log/event-log-schemas.js';
import { listEventLog } from '../event-log/event-log-service.js';
import {
  buildExportQuery,
  type ExportFormat,
  exportFormats,
  exportLog,
  type LogName,
  logNames,
} from '../logs/log-export.js';
import type { PurgeCounts } from '../logs/log-retention.js';
import { type SignInSummary, summariseSignIns } from '../logs/log-summary.js';
import { parseLogTime, resolveLogTimeRange } from '../logs/time-range.js';
import { systemClock } from '../platform/clock.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import {
  collectPages,
  invalidFlag,
  jsonOption,
  ownsProcessStreams,
  parseWholeNumber,
  printJson,
  progressTtyOf,
} from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';
import { createProgress, formatBar, formatCount, formatDuration } from './progress.js';

/*
 * `rekey logs ...`: the sign-in and audit logs from a shell.
 *
 *   export signins|audits   stream a time range (and an OData $filter) as JSON lines or CSV
 *   summary                 sign-ins per error code: what is failing, and how often
 *   purge [--dry-run]       delete the rows past retention now, as the background purge does
 *   events                  the event log (application and security channels), filtered
 *
 * Data goes to stdout (or --output); progress and summaries go to stderr, so a pipe gets only
 * the data. Failures are reported by runCli as `error <code> <Name>: <message>`.
 */

/** The terminal parts the commands use besides `io`: injected so tests can supply them. */
export interface LogsTerminal {
  /** Where an export goes without --output; undefined means through `io.out`, line by line. */
  readonly stdout: Writable | undefined;
  /** A TTY to redraw a progress bar on; undefined means plain progress lines through `io.err`. */
  readonly progressTty: NodeJS.WritableStream | undefined;
}

function defaultTerminal(io: CliIo): LogsTerminal {
  // Only a process that owns its output streams writes to them directly.
  return { stdout: ownsProcessStreams(io) ? process.stdout : undefined, progressTty: progressTtyOf(io) };
}

const logLabels: Readonly<Record<LogName, string>> = { signins: 'sign-ins', audits: 'audit events' };

function invalidArgument(name: string, value: string, allowed: readonly string[]): RekeyError {
  return new RekeyError(Codes.RequestValidationFailed, {
    message: `${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}.`,
    details: { [name.startsWith('--') ? 'option' : 'argument']: name, value, allowed },
  });
}

function parseChoice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((choice) => choice === value.toLowerCase());
  if (found === undefined) throw invalidArgument(name, value, allowed);
  return found;
}

/** A Writable over `io.out` for tests and embedders: each complete line becomes one `io.out` call. */
function lineWriter(io: CliIo): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) io.out(line);
      callback();
    },
    final(callback) {
      if (partial !== '') io.out(partial);
      callback();
    },
  });
}

/** An export file, written under a temporary name and renamed when complete. */
interface OutputFile {
  readonly stream: Writable;
  readonly file: string;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

async function openOutputFile(file: string): Promise<OutputFile> {
  const target = path.resolve(file);
  // A half-written export must never pass for a whole one: it only gets its name when complete.
  const partial = `${target}.partial`;
  const stream = createWriteStream(partial);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) =>
      reject(
        new RekeyError(Codes.RequestValidationFailed, {
          message: `--output ${file} cannot be written: ${error.message}.`,
          details: { option: '--output', value: file },
          cause: error,
        }),
      ),
    );
  });
  return {
    stream,
    file: target,
    async commit() {
      stream.end();
      await finished(stream);
      await rename(partial, target);
    },
    async discard() {
      stream.destroy();
      await rm(partial, { force: true });
    },
  };
}

interface ExportFlags {
  readonly since?: string;
  readonly until?: string;
  readonly format?: string;
  readonly filter?: string;
  readonly output?: string;
  readonly quiet?: boolean;
}

async function exportCommand(io: CliIo, terminal: LogsTerminal, log: string, flags: ExportFlags) {
  const logName = parseChoice('log', log, logNames);
  const format: ExportFormat = parseChoice('--format', flags.format ?? 'jsonl', exportFormats);
  // Checked before the database is opened: a typo costs nothing.
  const range = resolveLogTimeRange({ since: flags.since, until: flags.until }, systemClock.now(), '7d');
  const query = buildExportQuery(logName, range, flags.filter);

  await withDirectory(io, async (directory) => {
    const output = flags.output === undefined ? undefined : await openOutputFile(flags.output);
    const sink = output?.stream ?? terminal.stdout ?? lineWriter(io);
    const progress = flags.quiet
      ? undefined
      : createProgress<{ written: number; total: number }>(io, terminal.progressTty, (state, elapsedMs) =>
          formatExportProgress({ ...state, elapsedMs }),
        );
    try {
      const result = await exportLog(directory.db.kysely, directory.tenant.id, query, format, sink, {
        onProgress: (state) => progress?.update(state),
      });
      progress?.finish({ written: result.rows, total: result.total });
      if (output) await output.commit();
      else if (!terminal.stdout) sink.end();
      if (!flags.quiet) {
        io.err(
          `Exported ${formatCount(result.rows)} ${logLabels[logName]} (${format}, ${range.since} to ${range.until}) to ${output ? output.file : 'standard output'}.`,
        );
      }
    } catch (error) {
      await output?.discard();
      throw error;
    }
  });
}

/** One progress line of an export: bar, rows written of the total, rate and time left. */
export function formatExportProgress(progress: {
  readonly written: number;
  readonly total: number;
  readonly elapsedMs: number;
}): string {
  const seconds = Math.max(progress.elapsedMs / 1000, 0.001);
  const perSecond = progress.written / seconds;
  const left = perSecond > 0 ? Math.max(0, progress.total - progress.written) / perSecond : 0;
  return [
    formatBar(progress.total > 0 ? progress.written / progress.total : 1),
    `${formatCount(progress.written)} / ${formatCount(progress.total)} rows`,
    `${formatCount(Math.round(perSecond))}/s`,
    `${formatDuration(left)} left`,
  ].join('  ');
}

function printSummary(io: CliIo, summary: SignInSummary): void {
  if (summary.total === 0) {
    io.out(`No sign-ins since ${summary.since}.`);
    return;
  }
  io.out(
    `Sign-ins since ${summary.since}: ${formatCount(summary.total)} (${formatCount(summary.succeeded)} succeeded, ${formatCount(summary.failed)} failed).`,
  );
  io.out('');
  const countWidth = Math.max(5, ...summary.errorCodes.map((row) => formatCount(row.count).length));
  io.out(`  ${'count'.padStart(countWidth)}   share  ${'code'.padEnd(8)}  name`);
  for (const row of summary.errorCodes) {
    const share = `${((row.count / summary.total) * 100).toFixed(1)}%`;
    io.out(
      `  ${formatCount(row.count).padStart(countWidth)}  ${share.padStart(6)}  ${String(row.errorCode).padEnd(8)}  ${row.name}`,
    );
  }
  io.out('');
  io.out('`rekey errors <code>` explains a code and what to do about it.');
}

async function summaryCommand(io: CliIo, flags: { since?: string; json?: boolean }) {
  const range = resolveLogTimeRange({ since: flags.since }, systemClock.now(), '24h');
  const summary = await withDirectory(io, (directory) =>
    summariseSignIns(directory.db.kysely, directory.tenant.id, range),
  );
  if (flags.json) printJson(io, summary);
  else printSummary(io, summary);
}

async function purgeCommand(io: CliIo, flags: { dryRun?: boolean; json?: boolean }) {
  await withDirectory(io, async (directory, context) => {
    const retentionDays = directory.config.logRetentionDays;
    // The command prints the counts itself; the directory's logger passes errors only.
    const counts: PurgeCounts = flags.dryRun
      ? await directory.logRetention.countExpired()
      : await directory.logRetention.purgeNow({ context, tenantId: directory.tenant.id });
    if (flags.json) {
      printJson(io, { dryRun: flags.dryRun === true, retentionDays, ...counts });
      return;
    }
    const what = `${formatCount(counts.signIns)} sign-ins, ${formatCount(counts.audits)} audit events (${formatCount(counts.auditTargets)} audit target rows), ${formatCount(counts.connectorCalls)} connector calls, ${formatCount(counts.events)} event-log entries and ${formatCount(counts.captureEntries)} captured exchanges (${formatCount(counts.captures)} ended captures) older than ${counts.cutoff} (retention: ${retentionDays} days)`;
    io.out(
      flags.dryRun
        ? `Would purge ${what}. Nothing was deleted.`
        : `Purged ${what}, in ${formatCount(counts.batches)} batches.`,
    );
  });
}

interface EventsFlags {
  readonly channel?: string;
  readonly level?: string;
  readonly eventId?: string;
  readonly source?: string;
  readonly correlationId?: string;
  readonly since?: string;
  readonly until?: string;
  readonly top?: string;
  readonly ids?: boolean;
  readonly json?: boolean;
}

function printEventIds(io: CliIo, json: boolean): void {
  const definitions = listEventDefinitions();
  if (json) {
    printJson(io, definitions);
    return;
  }
  io.out(`${'id'.padEnd(6)}${'channel'.padEnd(13)}${'level'.padEnd(13)}${'source'.padEnd(18)}name`);
  for (const d of definitions)
    io.out(
      `${String(d.id).padEnd(6)}${d.channel.padEnd(13)}${d.level.padEnd(13)}${d.source.padEnd(18)}${d.name}`,
    );
}

function printEvents(io: CliIo, events: readonly EventLogEntryView[]): void {
  for (const e of events) {
    io.out(
      `${e.createdDateTime}  ${e.channel.padEnd(11)}  ${e.level.padEnd(11)}  ${String(e.eventId).padEnd(5)} ${e.source}  ${e.message}${e.correlationId ? `  [${e.correlationId}]` : ''}`,
    );
  }
}

async function eventsCommand(io: CliIo, flags: EventsFlags): Promise<void> {
  if (flags.ids) {
    printEventIds(io, flags.json === true);
    return;
  }
  const now = systemClock.now();
  const channel =
    flags.channel === undefined
      ? undefined
      : parseChoice<EventChannel>('--channel', flags.channel, eventChannels);
  const level =
    flags.level === undefined ? undefined : parseChoice<EventLevel>('--level', flags.level, eventLevels);
  const eventId =
    flags.eventId === undefined ? undefined : parseWholeNumber('--event-id', flags.eventId, 1, 99_999);
  const top = flags.top === undefined ? 100 : parseWholeNumber('--top', flags.top, 1, 100_000);
  if (flags.source !== undefined && (flags.source === '' || flags.source.length > 64))
    throw invalidFlag('--source', flags.source, 'must be 1 to 64 characters');
  if (flags.correlationId !== undefined && (flags.correlationId === '' || flags.correlationId.length > 64))
    throw invalidFlag('--correlation-id', flags.correlationId, 'must be 1 to 64 characters');
  const since = flags.since === undefined ? undefined : parseLogTime('--since', flags.since, now);
  const until = flags.until === undefined ? undefined : parseLogTime('--until', flags.until, now);
  if (since !== undefined && until !== undefined && since >= until)
    throw new RekeyError(Codes.InvalidLogTimeRange, {
      message: `--since (${since}) must be earlier than --until (${until}).`,
      details: { since, until },
    });
  await withDirectory(io, async (directory) => {
    const filter = {
      channel,
      level,
      eventId,
      source: flags.source,
      correlationId: flags.correlationId,
      since,
      until,
    };
    const { items: views, more } = await collectPages(top, 1000, async (pageTop, skiptoken) => {
      const page = await listEventLog(directory.db.kysely, directory.tenant.id, filter, {
        top: pageTop,
        skiptoken,
      });
      return { items: page.events.map(toEventLogEntry), nextToken: page.nextToken };
    });
    if (flags.json) {
      printJson(io, views);
      return;
    }
    if (views.length === 0) {
      io.out('No event-log entries match.');
      return;
    }
    printEvents(io, views);
    if (more) io.out(`(first ${views.length}; more match: raise --top or narrow the filters)`);
  });
}

/** Adds `rekey logs` and its subcommands to the program. */
export function registerLogsCommand(program: Command, io: CliIo, terminal?: LogsTerminal): void {
  const term = terminal ?? defaultTerminal(io);
  const logs = program
    .command('logs')
    .description(
      'The sign-in, audit and event logs: export them, summarise what is failing, show the event log, purge what is past retention.',
    );

  logs
    .command('export')
    .description(
      'Stream a log, oldest first, as JSON lines (one Graph object per line) or CSV, in constant memory.',
    )
    .argument('<log>', 'signins or audits')
    .option(
      '--since <time>',
      'start: a duration back from now (7d, 24h, 30m) or an ISO date-time (default 7d)',
    )
    .option('--until <time>', 'end, excluded: a duration or an ISO date-time (default: now)')
    .option('--format <format>', 'jsonl or csv (default jsonl)')
    .option(
      '--filter <odata>',
      'an OData $filter, as the log API accepts it, e.g. "status/errorCode eq 50053" or "userPrincipalName eq \'ada@example.com\'"',
    )
    .option('--output <file>', 'write to this file instead of standard output')
    .option('--quiet', 'no progress and no summary on stderr')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rekey logs export signins --since 7d --format csv --output signins.csv',
        '  rekey logs export audits --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z > audits.jsonl',
        '  rekey logs export signins --since 24h --filter "status/errorCode ne 0"',
      ].join('\n'),
    )
    .action((log: string, flags: ExportFlags) => exportCommand(io, term, log, flags));

  logs
    .command('summary')
    .description('Count sign-ins per error code, with the name of each code: what is failing, and how often.')
    .option('--since <time>', 'a duration back from now (24h, 7d, 30m) or an ISO date-time (default 24h)')
    .option(...jsonOption)
    .action((flags: { since?: string; json?: boolean }) => summaryCommand(io, flags));

  logs
    .command('purge')
    .description(
      'Delete sign-ins, audit events, connector calls (the connector trace), event-log entries and HTTP captures older than REKEY_LOG_RETENTION_DAYS now, in small batches, as the background purge of `rekey serve` does.',
    )
    .option('--dry-run', 'count what would be deleted, and delete nothing')
    .option(...jsonOption)
    .action((flags: { dryRun?: boolean; json?: boolean }) => purgeCommand(io, flags));

  logs
    .command('events')
    .description(
      'Show the event log (channels application and security), newest first, with the filters of GET /rekey/v1/eventLog; --ids lists the event ids.',
    )
    .option('--channel <channel>', `only this channel: ${eventChannels.join(' or ')}`)
    .option('--level <level>', `only this level: ${eventLevels.join(', ')}`)
    .option('--event-id <id>', 'only this event id (see --ids)')
    .option('--source <source>', 'only this source, e.g. Rekey-SignIn')
    .option('--correlation-id <id>', 'only entries with this correlation ID')
    .option('--since <time>', 'at or after: a duration back from now (24h, 7d, 30m) or an ISO date-time')
    .option('--until <time>', 'before: a duration back from now or an ISO date-time')
    .option('--top <n>', 'at most this many (default 100)')
    .option('--ids', 'list the event ids Rekey writes, with channel, level and source, and exit')
    .option(...jsonOption)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rekey logs events --channel security --since 24h',
        '  rekey logs events --event-id 5002 --json',
        '  rekey logs events --correlation-id 4f1c2a8e-0000-4000-8000-000000000001',
      ].join('\n'),
    )
    .action((flags: EventsFlags) => eventsCommand(io, flags));
}
