/**
 * Benchmark harness: `npm run bench -- [command...] [--only part,part] [--duration seconds]`.
 * No command runs every registered one; an unknown command prints the list and exits 2.
 */
import { parseArgs } from 'node:util';
import { diagnose } from './diagnose/command.js';
import { flood } from './flood/command.js';
import { installCleanupHandlers } from './lib/processes.js';
import type { BenchCommand } from './lib/registry.js';
import { logs } from './logs/command.js';
import { passwordChange } from './password-change/command.js';
import { policy } from './policy/command.js';
import { portal } from './portal/command.js';
import { writeback } from './writeback/command.js';

/** Every subcommand, in the order `npm run bench` runs them. Add new ones (logs) here. */
const commands: readonly BenchCommand[] = [passwordChange, policy, logs, flood, writeback, diagnose, portal];

const defaultDurationSeconds = 8;

function usage(): string {
  const lines = [
    'usage: npm run bench -- [command...] [--only part,part] [--duration seconds]',
    '',
    'commands (none given: run all):',
  ];
  for (const command of commands) {
    lines.push(`  ${command.name.padEnd(17)} ${command.description}`);
    for (const part of command.parts) lines.push(`      ${part.name.padEnd(13)} ${part.description}`);
  }
  lines.push(
    '',
    'options:',
    '  --only <parts>      run only these parts (comma-separated, e.g. limit,peer)',
    `  --duration <s>      measured window of each load run, default ${defaultDurationSeconds}`,
    '  --sync-users <n>    directory users the writeback bench loads and syncs, default 100000',
    '  --sign-ins <n>      sign-in rows of the logs and diagnose data set, default 10000000 (portal: 1000000)',
    '  --audits <n>        audit rows of that data set, default a tenth of --sign-ins',
    '  --users <n>         people of that data set (directory users), default 20000 (portal: 100000)',
    '  --repeat <n>        page loads per measurement of the portal bench, default 5',
  );
  return lines.join('\n');
}

/** Prints `message` and the usage, then exits with 2 (a usage error, distinct from a failed run). */
function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${usage()}\n`);
  process.exit(2);
}

const optionSpec = {
  only: { type: 'string' },
  duration: { type: 'string' },
  'sync-users': { type: 'string' },
  'sign-ins': { type: 'string' },
  audits: { type: 'string' },
  users: { type: 'string' },
  repeat: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof optionSpec; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ options: optionSpec, allowPositionals: true, strict: true });
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }

  const selected: BenchCommand[] = [];
  for (const name of positionals) {
    const command = commands.find((candidate) => candidate.name === name);
    if (!command) usageError(`unknown benchmark: ${name}`);
    if (!selected.includes(command)) selected.push(command);
  }
  if (selected.length === 0) selected.push(...commands);

  const durationSeconds = values.duration === undefined ? defaultDurationSeconds : Number(values.duration);
  // Bounded on both sides: a load run must be long enough to mean something and short enough to end.
  if (!(Number.isFinite(durationSeconds) && durationSeconds >= 1 && durationSeconds <= 60)) {
    usageError(`--duration must be a number of seconds from 1 to 60, got ${values.duration}`);
  }

  const syncUsersText = values['sync-users'];
  const syncUsers = syncUsersText === undefined ? undefined : Number(syncUsersText);
  if (
    syncUsers !== undefined &&
    !(Number.isInteger(syncUsers) && syncUsers >= 200 && syncUsers <= 1_000_000)
  ) {
    usageError(`--sync-users must be a whole number from 200 to 1000000, got ${syncUsersText}`);
  }

  /** A whole number option within [min, max], or undefined when not given. */
  const count = (
    name: 'sign-ins' | 'audits' | 'users' | 'repeat',
    min: number,
    max: number,
  ): number | undefined => {
    const text = values[name];
    if (text === undefined) return undefined;
    const value = Number(text.replaceAll('_', ''));
    if (!(Number.isSafeInteger(value) && value >= min && value <= max))
      usageError(`--${name} must be a whole number from ${min} to ${max}, got ${text}`);
    return value;
  };
  const signIns = count('sign-ins', 1000, 1_000_000_000);
  const audits = count('audits', 100, 1_000_000_000);
  const users = count('users', 100, 10_000_000);
  const repeat = count('repeat', 1, 100);

  const only = values.only
    ?.split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (only) {
    const known = new Set(selected.flatMap((command) => command.parts.map((part) => part.name)));
    const unknown = only.filter((part) => !known.has(part));
    if (unknown.length > 0) usageError(`unknown part(s) for --only: ${unknown.join(', ')}`);
  }

  installCleanupHandlers();
  const startedAt = new Date();
  for (const command of selected) {
    const parts = new Set(
      command.parts.map((part) => part.name).filter((part) => only === undefined || only.includes(part)),
    );
    if (parts.size === 0) continue;
    await command.run({ parts, durationSeconds, startedAt, syncUsers, signIns, audits, users, repeat });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? error.message : String(error)}\n`);
  // process.exit runs the cleanup handler, which kills any server child still running.
  process.exit(1);
});
