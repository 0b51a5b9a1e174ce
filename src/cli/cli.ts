import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { migrateToLatest, openDatabase } from '../platform/db/database.js';
import { registerBreachedCommand } from './breached-command.js';
import { registerCapturesCommand } from './captures-command.js';
import { inCommandTerms } from './cli-errors.js';
import { registerConnectorsCommand, registerSyncCommand } from './connectors-command.js';
import { type CliIo, configOrExit, exitQuietlyOnClosedStdout, processIo, reportFailure } from './context.js';
import { registerDevCommand } from './dev-command.js';
import { registerDiagnoseCommands } from './diagnose-command.js';
import { registerDomainsCommand } from './domains-command.js';
import { registerErrorsCommand } from './errors-command.js';
import { registerLicensesCommand } from './licenses-command.js';
import { registerLockoutCommand } from './lockout-command.js';
import { registerLogsCommand } from './logs-command.js';
import { registerOperationsCommand } from './operations-command.js';
import { registerPolicyCommand } from './policy-command.js';
import { serve } from './serve-command.js';
import { registerSignInCommand } from './signin-command.js';
import { registerUsersCommand } from './users-command.js';
import { worker } from './worker-command.js';

/** Rekey's version, as package.json states it (two levels up from src/cli and from dist/cli alike). */
export function rekeyVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/** Builds the `rekey` command tree. */
export function buildCli(io: CliIo): Command {
  const program = new Command('rekey')
    .description('Rekey: self-hosted password change and reset for cloud and hybrid directories.')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .version(rekeyVersion(), '-V, --version', 'print the version of Rekey and exit')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('serve')
    .description('Run the HTTP API (and, unless --no-worker, the operation worker) in this process.')
    .option('--no-worker', 'do not run password operations in this process (run `rekey worker` elsewhere)')
    .action(async (options: { worker: boolean }) => serve(io, options));

  program
    .command('worker')
    .description(
      'Run password operations (and scheduled syncs, the incident rules and log retention) without the HTTP API, until SIGTERM or SIGINT; any number of workers and servers may share one PostgreSQL.',
    )
    .option('--concurrency <n>', 'operations run at once (default REKEY_WORKER_CONCURRENCY, 8)')
    .action(async (options: { concurrency?: string }) => worker(io, options));

  program
    .command('migrate')
    .description('Apply pending database migrations and exit.')
    .action(async () => {
      const config = configOrExit(io);
      const db = openDatabase(config.databaseUrl);
      try {
        const applied = await migrateToLatest(db);
        io.out(
          applied.length === 0 ? 'The database schema is up to date.' : `Applied: ${applied.join(', ')}`,
        );
      } finally {
        await db.close();
      }
    });

  registerErrorsCommand(program, io);
  registerUsersCommand(program, io);
  registerBreachedCommand(program, io);
  registerPolicyCommand(program, io);
  registerLockoutCommand(program, io);
  registerLicensesCommand(program, io);
  registerDomainsCommand(program, io);
  registerOperationsCommand(program, io);
  registerSignInCommand(program, io);
  registerLogsCommand(program, io);
  registerConnectorsCommand(program, io);
  registerSyncCommand(program, io);
  registerDiagnoseCommands(program, io);
  registerCapturesCommand(program, io);
  registerDevCommand(program, io);

  return program;
}

/**
 * Runs the CLI on `argv`; returns the exit code. A command fails by throwing, never by touching
 * process state: a CommanderError (Commander's own, or one a command throws after explaining
 * itself) exits with its code, anything else is reported by reportFailure and exits 1.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (io === processIo) exitQuietlyOnClosedStdout();
  const program = buildCli(io);
  // The command that ran, so that its failure is told in its own options' words.
  let running: Command | undefined;
  program.hook('preAction', (_program, actionCommand) => {
    running = actionCommand;
  });
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const failure = inCommandTerms(error, running);
    return reportFailure(io, failure.error, argv.includes('--json'), failure.advice);
  }
}
