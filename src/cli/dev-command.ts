import type { Command } from 'commander';
import { type SeedProgress, seedLogs } from '../dev/seed-logs.js';
import { invalidFlag, parseWholeNumber, printJson, progressTtyOf } from './command-helpers.js';
import { type CliIo, configOrExit } from './context.js';
import { createProgress, formatBar, formatCount, formatDuration } from './progress.js';

/*
 * `rekey dev ...`: tools for developing and measuring Rekey, not for running it.
 *
 *   seed-logs   writes realistic synthetic sign-in and audit log rows (with the people, the
 *               password operations and the event log that go with them) into the configured
 *               database (REKEY_DATABASE_URL), e.g. ten million for `npm run bench -- logs`
 *               and `npm run bench -- diagnose`
 */

interface SeedLogsFlags {
  readonly signins: string;
  readonly audits: string;
  readonly days: string;
  readonly users: string;
  readonly seed: string;
  readonly end?: string;
  readonly json?: boolean;
}

const phaseNames: Record<SeedProgress['phase'], string> = {
  signIns: 'sign-ins',
  audits: 'audits',
  indexes: 'indexes and statistics',
};

function renderProgress(progress: SeedProgress, elapsedMs: number): string {
  const share = progress.total > 0 ? progress.done / progress.total : 1;
  return [
    `${phaseNames[progress.phase]}:`,
    formatBar(share),
    `${formatCount(progress.done)} / ${formatCount(progress.total)}`,
    `${formatDuration(elapsedMs / 1000)} elapsed`,
  ].join('  ');
}

/** `rekey dev seed-logs --signins N --audits M [--days 30] [--users N] [--seed S]`. */
export function registerDevCommand(program: Command, io: CliIo): void {
  const dev = program
    .command('dev')
    .description('Tools for developing and measuring Rekey (not for production).');
  dev
    .command('seed-logs')
    .description(
      'Write realistic synthetic sign-in and audit log rows, with the users they name, the password operations (and their steps) behind the password audits and the event-log entries of both, into the configured database (REKEY_DATABASE_URL), which Rekey must have prepared. Deterministic: the same --seed and --end give the same rows.',
    )
    .requiredOption('--signins <n>', 'sign-in rows to write')
    .option('--audits <n>', 'directory audit rows to write', '0')
    .option('--days <n>', 'spread the rows over this many days before --end', '30')
    .option('--users <n>', 'people in the synthetic tenant', '20000')
    .option('--seed <text>', 'seed of the generator', 'rekey')
    .option('--end <time>', 'end of the generated window (ISO 8601); now when not given')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: SeedLogsFlags) => {
      const signIns = parseWholeNumber('--signins', flags.signins, 0, 1_000_000_000);
      const audits = parseWholeNumber('--audits', flags.audits, 0, 1_000_000_000);
      const days = parseWholeNumber('--days', flags.days, 1, 3650);
      const users = parseWholeNumber('--users', flags.users, 1, 10_000_000);
      const end = flags.end === undefined ? new Date() : new Date(flags.end);
      if (Number.isNaN(end.getTime())) {
        throw invalidFlag(
          '--end',
          flags.end ?? '',
          'must be a date and time in ISO 8601, e.g. 2026-01-31T00:00:00Z',
        );
      }
      const config = configOrExit(io);
      // A redrawn bar only on a real terminal this process owns; otherwise a line every ten seconds.
      const progress = createProgress<SeedProgress>(io, progressTtyOf(io), renderProgress);
      let phase: SeedProgress | undefined;
      const result = await seedLogs(config.databaseUrl, {
        signIns,
        audits,
        days,
        users,
        seed: flags.seed,
        end,
        onProgress: (current) => {
          // Close the bar of the finished phase, so each phase keeps its own line on a terminal.
          if (phase && phase.phase !== current.phase) progress.finish(phase);
          phase = current;
          progress.update(current);
        },
      });
      if (phase) progress.finish(phase);
      const summary = { ...result, seconds: { ...result.seconds, total: progress.elapsedSeconds() } };
      if (flags.json) {
        printJson(io, summary);
        return;
      }
      io.out(
        `Wrote ${formatCount(result.signIns)} sign-ins and ${formatCount(result.audits)} audits of ${formatCount(result.users)} synthetic users (${result.tenantDomain}) from ${result.windowStart} to ${result.windowEnd}, with ${formatCount(result.companions.operations)} password operations (${formatCount(result.companions.operationEvents)} steps) and ${formatCount(result.companions.eventLog)} event-log entries, into the ${result.dialect} database in ${summary.seconds.total.toFixed(1)} s (sign-ins ${result.seconds.signIns.toFixed(1)} s, audits ${result.seconds.audits.toFixed(1)} s, indexes and statistics ${result.seconds.indexes.toFixed(1)} s).`,
      );
    });
}
