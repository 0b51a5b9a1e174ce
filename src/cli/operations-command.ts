import type { Command } from 'commander';
import { parseLogTime } from '../logs/time-range.js';
import type { OperationFilter } from '../operations/operation-engine.js';
import { toOperationView, toOperationWithHistory } from '../operations/operation-mapper.js';
import type { OperationEventView, OperationView } from '../operations/operation-schemas.js';
import { systemClock } from '../platform/clock.js';
import type { OperationKind, OperationState } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { collectPages, invalidFlag, jsonOption, parseWholeNumber, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';

/*
 * `rekey operations ...`: the password operations (every change and reset) from a shell, through
 * the engine that runs them, as GET /rekey/v1/operations shows them.
 *
 *   list [--user <id|upn>] [--state S] [--code N] [--kind K] [--since T] [--until T] [--top N] [--json]
 *   show <id> [--json]        one operation with every state change and step it went through
 */

const states: readonly OperationState[] = [
  'notStarted',
  'running',
  'retryScheduled',
  'succeeded',
  'terminated',
];
const kinds: readonly OperationKind[] = ['selfChange', 'expiredChange', 'adminReset', 'selfServiceReset'];

interface ListFlags {
  readonly user?: string;
  readonly state?: string;
  readonly code?: string;
  readonly kind?: string;
  readonly since?: string;
  readonly until?: string;
  readonly top?: string;
  readonly json?: boolean;
}

function oneOf<T extends string>(
  option: string,
  raw: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  const found = allowed.find((value) => value === raw);
  if (!found) throw invalidFlag(option, raw, `must be one of ${allowed.join(', ')}`);
  return found;
}

/** The error column of a row: the code and its name, or nothing. */
function errorCell(view: OperationView): string {
  return view.error === null
    ? ''
    : `${view.error.code} ${view.error.name}${view.error.retryable ? ' (retryable)' : ''}`;
}

function printRows(io: CliIo, views: readonly OperationView[]): void {
  const columns = ['createdDateTime', 'state', 'kind', 'attempts', 'error', 'user', 'id'] as const;
  const rows = views.map((v) => [
    v.createdDateTime,
    v.state,
    v.kind,
    String(v.attempts),
    errorCell(v),
    v.userPrincipalName ?? v.userId,
    v.id,
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  io.out([line(columns), ...rows.map(line)].join('\n'));
}

function historyLine(event: OperationEventView): string {
  const failure =
    event.code === null ? '' : ` AADSTS${event.code}${event.retryable ? ' (retryable)' : ' (not retryable)'}`;
  return `  ${event.at}  ${event.state.padEnd(14)} ${event.step}${failure}${event.detail ? `: ${event.detail}` : ''}`;
}

async function listCommand(io: CliIo, flags: ListFlags): Promise<void> {
  const now = systemClock.now();
  const top = flags.top === undefined ? 50 : parseWholeNumber('--top', flags.top, 1, 10_000);
  const code =
    flags.code === undefined
      ? undefined
      : parseWholeNumber('--code', flags.code.replace(/^AADSTS/i, ''), 0, 99_999_999);
  const since = flags.since === undefined ? undefined : parseLogTime('--since', flags.since, now);
  const until = flags.until === undefined ? undefined : parseLogTime('--until', flags.until, now);
  if (since !== undefined && until !== undefined && since >= until)
    throw new RekeyError(Codes.InvalidLogTimeRange, {
      message: `--since (${since}) must be earlier than --until (${until}).`,
      details: { since, until },
    });
  const state = oneOf('--state', flags.state, states);
  const kind = oneOf('--kind', flags.kind, kinds);
  await withDirectory(io, async (directory) => {
    let userId: string | undefined;
    if (flags.user !== undefined) userId = (await directory.users.getUser(flags.user)).id;
    const filter: OperationFilter = { userId, state, errorCode: code, kind, since, until };
    const { items: views, more } = await collectPages(top, 200, async (pageTop, skiptoken) => {
      const page = await directory.operations.listOperations(filter, { top: pageTop, skiptoken });
      return { items: page.operations.map(toOperationView), nextToken: page.nextToken };
    });
    if (flags.json) {
      printJson(io, views);
      return;
    }
    if (views.length === 0) {
      io.out('No operations match.');
      return;
    }
    printRows(io, views);
    if (more) io.out(`(first ${views.length}; more match: raise --top or narrow the filters)`);
  });
}

async function showCommand(io: CliIo, id: string, flags: { readonly json?: boolean }): Promise<void> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    throw invalidFlag('<id>', id, 'must be an operation id (a GUID, as `rekey operations list` shows it)');
  await withDirectory(io, async (directory) => {
    const found = await directory.operations.getOperationWithHistory(id.toLowerCase());
    if (!found) throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
    const view = toOperationWithHistory(found.operation, found.events);
    if (flags.json) {
      printJson(io, view);
      return;
    }
    io.out(`operation ${view.id}`);
    io.out(
      `  kind: ${view.kind}; user: ${view.userPrincipalName ?? view.userId} (${view.userId}); correlation ID: ${view.correlationId}`,
    );
    io.out(`  state: ${view.state}; step: ${view.step}; attempts: ${view.attempts}`);
    io.out(`  accepted: ${view.createdDateTime}; deadline: ${view.deadlineDateTime}`);
    if (view.nextAttemptDateTime !== null) io.out(`  next attempt: ${view.nextAttemptDateTime}`);
    if (view.completedDateTime !== null) io.out(`  ended: ${view.completedDateTime}`);
    if (view.error !== null)
      io.out(`  error: ${errorCell(view)}${view.error.detail ? `: ${view.error.detail}` : ''}`);
    if (view.statusDetail !== null) io.out(`  status detail: ${view.statusDetail}`);
    io.out('history:');
    for (const event of view.history) io.out(historyLine(event));
  });
}

/** Registers `rekey operations`. */
export function registerOperationsCommand(program: Command, io: CliIo): void {
  const operations = program
    .command('operations')
    .description('List password operations (changes and resets) and show one with its history.');

  operations
    .command('list')
    .description('List password operations, newest first.')
    .option('--user <user>', "only this user's operations (object id or user principal name)")
    .option('--state <state>', `only operations in this state: ${states.join(', ')}`)
    .option('--code <code>', 'only operations whose last failure has this code (e.g. 120013)')
    .option('--kind <kind>', `only operations of this kind: ${kinds.join(', ')}`)
    .option(
      '--since <time>',
      'accepted at or after: a duration back from now (24h, 7d, 30m) or an ISO date-time',
    )
    .option('--until <time>', 'accepted before: a duration back from now or an ISO date-time')
    .option('--top <n>', 'at most this many (default 50)')
    .option(...jsonOption)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rekey operations list --state terminated --since 24h',
        '  rekey operations list --user ada@example.com --json',
      ].join('\n'),
    )
    .action((flags: ListFlags) => listCommand(io, flags));

  operations
    .command('show')
    .description('Show one operation with every state change and step, their codes and retryable flags.')
    .argument('<id>', 'the operation id')
    .option(...jsonOption)
    .action((id: string, flags: { json?: boolean }) => showCommand(io, id, flags));
}
