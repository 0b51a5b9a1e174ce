import { readFile } from 'node:fs/promises';
import { type Command, CommanderError } from 'commander';
import { connectorLimits, syncedProperties } from '../connectors/connector-config.js';
import { toConnectorBody } from '../connectors/connector-mapper.js';
import type {
  ConnectorBody,
  ConnectorHealthBody,
  ConnectorHealthWindowBody,
  ConnectorSyncReportBody,
  ConnectorTestReportBody,
} from '../connectors/connector-schemas.js';
import type { SyncProgress } from '../connectors/directory-ports.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { type BreachedTerminal, readPasswordFrom } from './breached-command.js';
import { canPrompt, collect, invalidFlag, jsonOption, printJson, progressTtyOf } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';
import { createProgress, formatBar, formatCount, formatDuration } from './progress.js';

/*
 * `rekey connectors ...`: the directory connectors from a shell, through the same connector
 * service as `/rekey/v1/connectors` (same checks, every problem named at once, same audit rows,
 * attributed to Rekey itself: whoever runs the CLI holds the database).
 *
 *   add --display-name ... --url ... --bind-dn ... --base-dn ...    create one
 *   list | show <connector> | remove <connector>                   by id or display name
 *   test <connector> | sync <connector> [--full]                   through the directory client
 *   health <connector>                                             from the trace of its calls
 *
 * The bind password is never an option's value (it would stay in the shell's history and be
 * visible to other users in the process list): it comes from --bind-password-file, from the
 * environment variable --bind-password-env names, or from a prompt that does not echo it.
 *
 * Options that set a field of the API whose name is not the field's kebab-cased name start their
 * description with `field:`, so a refused field is reported as the option that set it.
 */

/** Where the commands read a typed password from; injected so tests can supply one. */
export interface ConnectorsTerminal {
  readonly stdin: BreachedTerminal['stdin'];
  /** True when a person can answer a prompt (stdin and stderr are terminals). */
  readonly interactive: boolean;
  /** Where a sync's progress bar is drawn (stderr when it is a terminal); plain lines otherwise. */
  readonly progressTty?: NodeJS.WritableStream | undefined;
}

interface AddFlags {
  readonly displayName?: string;
  readonly flavor: string;
  readonly url?: string;
  readonly startTls?: boolean;
  readonly allowInsecure?: boolean;
  readonly caCertificateFile?: string;
  readonly bindDn?: string;
  readonly bindPasswordFile?: string;
  readonly bindPasswordEnv?: string;
  readonly baseDn?: string;
  readonly userFilter?: string;
  readonly attribute: readonly string[];
  readonly writeback?: boolean;
  readonly connectTimeoutMs?: string;
  readonly operationTimeoutMs?: string;
  readonly syncIntervalSeconds?: string;
  readonly json?: boolean;
}

/** A whole number as a number, anything else as typed (the service then names the option). */
function numberOrText(raw: string): unknown {
  return /^\d{1,12}$/.test(raw) ? Number(raw) : raw;
}

async function readFlagFile(option: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw invalidFlag(option, file, `must name a file Rekey can read (${reason})`);
  }
}

/** The bind password from the file, the environment variable, or the terminal, in that order. */
async function bindPasswordOf(io: CliIo, terminal: ConnectorsTerminal, flags: AddFlags): Promise<string> {
  if (flags.bindPasswordFile !== undefined && flags.bindPasswordEnv !== undefined) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message: 'Give the bind password one way: --bind-password-file or --bind-password-env, not both.',
      details: { options: ['--bind-password-file', '--bind-password-env'] },
    });
  }
  if (flags.bindPasswordFile !== undefined) {
    const text = await readFlagFile('--bind-password-file', flags.bindPasswordFile);
    // The first line: a file written by `echo` ends with a newline that is not part of the password.
    return (text.split('\n')[0] ?? '').replace(/\r$/, '');
  }
  if (flags.bindPasswordEnv !== undefined) {
    const value = io.env[flags.bindPasswordEnv];
    if (value === undefined || value === '') {
      throw invalidFlag(
        '--bind-password-env',
        flags.bindPasswordEnv,
        'must name an environment variable that is set',
      );
    }
    return value;
  }
  if (!terminal.interactive) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      message:
        'No bind password: give --bind-password-file <file> or --bind-password-env <variable>, or run the command in a terminal to type it.',
      details: { options: ['--bind-password-file', '--bind-password-env'] },
    });
  }
  return readPasswordFrom(terminal.stdin, (text) => io.err(text.replace('Password', 'Bind password')));
}

/** `--attribute property=attribute` values as the API's `attributes` map (`property=` stops syncing it). */
function attributesOf(values: readonly string[]): Record<string, unknown> | undefined {
  if (values.length === 0) return undefined;
  const attributes: Record<string, unknown> = {};
  for (const value of values) {
    const equals = value.indexOf('=');
    if (equals <= 0) {
      throw invalidFlag('--attribute', value, 'must be property=attribute, e.g. userPrincipalName=mail');
    }
    const attribute = value.slice(equals + 1).trim();
    attributes[value.slice(0, equals).trim()] = attribute === '' ? null : attribute;
  }
  return attributes;
}

/** The create body the flags describe. */
async function addBody(
  io: CliIo,
  terminal: ConnectorsTerminal,
  flags: AddFlags,
): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = { flavor: flags.flavor };
  const set = (field: string, value: unknown) => {
    if (value !== undefined) body[field] = value;
  };
  set('displayName', flags.displayName);
  set('url', flags.url);
  set('startTls', flags.startTls);
  set('allowInsecure', flags.allowInsecure);
  set('bindDn', flags.bindDn);
  set('baseDn', flags.baseDn);
  set('userFilter', flags.userFilter);
  set('attributes', attributesOf(flags.attribute));
  set('writeback', flags.writeback);
  set(
    'connectTimeoutMs',
    flags.connectTimeoutMs === undefined ? undefined : numberOrText(flags.connectTimeoutMs),
  );
  set(
    'operationTimeoutMs',
    flags.operationTimeoutMs === undefined ? undefined : numberOrText(flags.operationTimeoutMs),
  );
  if (flags.syncIntervalSeconds !== undefined) {
    body['syncIntervalSeconds'] =
      flags.syncIntervalSeconds === 'never' ? null : numberOrText(flags.syncIntervalSeconds);
  }
  if (flags.caCertificateFile !== undefined) {
    body['caCertificate'] = await readFlagFile('--ca-certificate-file', flags.caCertificateFile);
  }
  body['bindPassword'] = await bindPasswordOf(io, terminal, flags);
  return body;
}

function printConnector(io: CliIo, connector: ConnectorBody): void {
  const tls = connector.url.startsWith('ldaps://')
    ? 'TLS (ldaps)'
    : connector.startTls
      ? 'StartTLS'
      : 'none: the bind password crosses the network unencrypted (allowInsecure)';
  io.out(`${connector.displayName}  (${connector.id})`);
  io.out(`  flavor: ${connector.flavor}`);
  io.out(`  url: ${connector.url}`);
  io.out(`  encryption: ${tls}`);
  io.out(`  caCertificate: ${connector.caCertificate === null ? "the system's CAs" : 'PEM given'}`);
  io.out(`  bindDn: ${connector.bindDn}`);
  io.out('  bindPassword: set (never shown)');
  io.out(`  baseDn: ${connector.baseDn}`);
  io.out(`  userFilter: ${connector.userFilter}`);
  for (const [property, attribute] of Object.entries(connector.attributes)) {
    io.out(`  attributes.${property}: ${attribute}`);
  }
  io.out(`  writeback: ${connector.writeback ? 'on' : 'off'}`);
  io.out(
    `  timeouts: connect ${connector.connectTimeoutMs} ms, operation ${connector.operationTimeoutMs} ms`,
  );
  io.out(
    `  sync: ${connector.syncIntervalSeconds === null ? 'only when asked' : `every ${connector.syncIntervalSeconds} s`}; last ${connector.lastSyncDateTime ?? 'never'}`,
  );
  io.out(`  last test: ${connector.lastTestDateTime ?? 'never'}`);
}

function printTestReport(io: CliIo, report: ConnectorTestReportBody): void {
  for (const step of report.steps) {
    const latency = step.latencyMs === null ? '' : ` (${step.latencyMs} ms)`;
    const code = step.code === null ? '' : ` [${step.code}]`;
    io.out(`  ${step.step}: ${step.result}${code}${latency} ${step.message}`);
  }
  if (report.usersFound !== null) io.out(`  users found: ${report.usersFound}`);
  io.out(
    report.success ? 'The connector works.' : 'The connector failed the test: see the failed step above.',
  );
}

function printSyncReport(io: CliIo, report: ConnectorSyncReportBody): void {
  const { seen, created, updated, deleted, unchanged, failed } = report.counts;
  io.out(
    `${report.mode} sync ${report.result === 'success' ? 'finished' : 'failed'} at ${report.finishedDateTime}`,
  );
  io.out(
    `  seen ${seen}, created ${created}, updated ${updated}, deleted ${deleted}, unchanged ${unchanged}, failed ${failed}`,
  );
  if (report.code !== null) io.out(`  error ${report.code}: ${report.message ?? ''}`);
}

function healthCallLine(label: string, call: ConnectorHealthWindowBody['lastError']): string {
  if (call === null) return `    ${label}: none`;
  const parts = [
    call.code === null ? undefined : String(call.code),
    call.reason ?? undefined,
    call.ppolicyError ?? undefined,
    call.ldapResultCode === null || call.ldapResultCode === 0 ? undefined : `LDAP ${call.ldapResultCode}`,
  ].filter((part): part is string => part !== undefined);
  const said = call.diagnostic ? `: ${call.diagnostic}` : '';
  return `    ${label}: ${call.dateTime} ${call.operation}${parts.length > 0 ? ` [${parts.join(', ')}]` : ''}${said}`;
}

function printHealth(io: CliIo, health: ConnectorHealthBody): void {
  io.out(`${health.displayName}  (${health.connectorId}), at ${health.generatedDateTime}`);
  for (const [label, window] of [
    ['last hour', health.lastHour],
    ['last 24 hours', health.lastDay],
  ] as const) {
    const rate =
      window.successRate === null ? 'no calls' : `${(window.successRate * 100).toFixed(2)}% answered`;
    const latency =
      window.latencyMs.p50 === null
        ? ''
        : `; latency p50 ${window.latencyMs.p50} ms, p99 ${window.latencyMs.p99} ms`;
    io.out(
      `  ${label}: ${window.calls} calls, ${window.succeeded} succeeded, ${window.refused} refused, ${window.failed} failed; ${rate}${latency}`,
    );
    io.out(healthCallLine('last error', window.lastError));
    io.out(healthCallLine('last success', window.lastSuccess));
  }
}

/** What a sync's progress is drawn from. */
function formatSyncProgress(progress: SyncProgress, elapsedMs: number): string {
  const perSecond = elapsedMs > 0 ? (progress.seen * 1000) / elapsedMs : 0;
  const parts = [`${formatCount(progress.seen)} users read`, `${formatCount(Math.round(perSecond))}/s`];
  if (progress.total !== undefined && progress.total > 0) {
    const left = perSecond > 0 ? (progress.total - progress.seen) / perSecond : 0;
    // The total is the last full run's: an estimate, hence the ~.
    return [
      formatBar(progress.seen / progress.total),
      `${parts[0]} of ~${formatCount(progress.total)}`,
      parts[1],
      `${formatDuration(left)} left`,
    ].join('  ');
  }
  return [...parts, `${formatDuration(elapsedMs / 1000)} elapsed`].join('  ');
}

/**
 * `rekey connectors sync <connector>` and its alias `rekey sync <connector>`: one sync now, with a
 * progress bar on a terminal (a line every ten seconds otherwise); exit 1 when the run failed.
 */
function addSyncCommand(command: Command, io: CliIo, terminal: ConnectorsTerminal): void {
  command
    .description(
      'Import the directory users of a connector now: incremental after the first run, full with --full (exit 1 when the run fails).',
    )
    .argument('<connector>', 'the id or display name')
    .option(
      '--full',
      'read every user, not only those changed since the last sync, and remove the users gone from the directory',
    )
    .option(...jsonOption)
    .action(async (name: string, flags: { full?: boolean; json?: boolean }) => {
      await withDirectory(io, async (directory, context) => {
        const progress = createProgress<SyncProgress>(io, terminal.progressTty, formatSyncProgress);
        let last: SyncProgress = { seen: 0 };
        const report = await directory.connectors.sync(context, name, {
          full: flags.full === true,
          onProgress: (value) => {
            last = value;
            progress.update(value);
          },
        });
        if (last.seen > 0) progress.finish(last);
        if (flags.json) printJson(io, report);
        else printSyncReport(io, report);
        if (report.result !== 'success')
          throw new CommanderError(1, 'rekey.connectorSyncFailed', 'The sync failed.');
      });
    });
}

/** Adds `rekey sync <connector>`, the short form of `rekey connectors sync`. */
export function registerSyncCommand(program: Command, io: CliIo, terminal?: ConnectorsTerminal): void {
  const term: ConnectorsTerminal = terminal ?? {
    stdin: process.stdin,
    interactive: canPrompt(io),
    progressTty: progressTtyOf(io),
  };
  addSyncCommand(program.command('sync'), io, term);
}

/** Adds `rekey connectors` and its subcommands to the program. */
export function registerConnectorsCommand(program: Command, io: CliIo, terminal?: ConnectorsTerminal): void {
  const term: ConnectorsTerminal = terminal ?? {
    stdin: process.stdin,
    interactive: canPrompt(io),
    progressTty: progressTtyOf(io),
  };
  const connectors = program
    .command('connectors')
    .description(
      'Directory connectors to on-premises LDAP directories: add, list, show, test, sync, health, remove.',
    );

  const { connectTimeoutMs, operationTimeoutMs, syncIntervalSeconds } = connectorLimits;
  connectors
    .command('add')
    .description(
      'Add a connector (audited as "Add directory connector"). The bind password is read from --bind-password-file, from the variable --bind-password-env names, or typed at a prompt: never give it on the command line.',
    )
    .option('--display-name <name>', 'a name for the connector, unique in the tenant')
    .option('--flavor <flavor>', 'the kind of directory: openldap or activeDirectory', 'openldap')
    .option('--url <url>', 'ldaps://host[:port], or ldap://host[:port] with --start-tls')
    .option('--start-tls', 'upgrade an ldap:// connection with StartTLS')
    .option(
      '--allow-insecure',
      'allow ldap:// without StartTLS (a test directory only: the password is sent in clear)',
    )
    .option(
      '--ca-certificate-file <file>',
      "caCertificate: PEM file of the CAs to trust (default: the system's)",
    )
    .option(
      '--bind-dn <dn>',
      'the service account to bind as, e.g. cn=rekey,ou=services,dc=example,dc=com (Active Directory also takes rekey@corp.example.com)',
    )
    .option(
      '--bind-password-file <file>',
      "bindPassword: a file whose first line is the service account's password",
    )
    .option('--bind-password-env <variable>', 'the name of an environment variable holding the password')
    .option('--base-dn <dn>', 'where users are searched, e.g. ou=people,dc=example,dc=com')
    .option(
      '--user-filter <filter>',
      'which entries are users (default for openldap: (objectClass=inetOrgPerson); for activeDirectory: (&(objectCategory=person)(objectClass=user)))',
    )
    .option(
      '--attribute <property=attribute>',
      `attributes: map a user property to a directory attribute (repeatable; property= stops syncing it). Properties: ${syncedProperties.join(', ')}`,
      collect,
      [],
    )
    .option('--writeback', "write users' password changes to the directory (needs ldaps:// or StartTLS)")
    .option(
      '--connect-timeout-ms <ms>',
      `connection timeout (${connectTimeoutMs.minimum}-${connectTimeoutMs.maximum}, default ${connectTimeoutMs.default})`,
    )
    .option(
      '--operation-timeout-ms <ms>',
      `timeout of each directory operation (${operationTimeoutMs.minimum}-${operationTimeoutMs.maximum}, default ${operationTimeoutMs.default})`,
    )
    .option(
      '--sync-interval-seconds <seconds>',
      `seconds between scheduled syncs (${syncIntervalSeconds.minimum}-${syncIntervalSeconds.maximum}, default ${syncIntervalSeconds.default}), or never`,
    )
    .option(...jsonOption)
    .action(async (flags: AddFlags) => {
      const body = await addBody(io, term, flags);
      await withDirectory(io, async (directory, context) => {
        const created = toConnectorBody(await directory.connectors.create(context, body));
        if (flags.json) printJson(io, created);
        else {
          printConnector(io, created);
          io.out(`Added. Check it with \`rekey connectors test ${created.id}\`.`);
        }
      });
    });

  connectors
    .command('list')
    .description('List the connectors, by display name.')
    .option(...jsonOption)
    .action(async (flags: { json?: boolean }) => {
      await withDirectory(io, async (directory) => {
        const all = (await directory.connectors.list()).map(toConnectorBody);
        if (flags.json) {
          printJson(io, { value: all });
          return;
        }
        if (all.length === 0) io.out('No connectors. Add one with `rekey connectors add`.');
        for (const connector of all) {
          io.out(
            `${connector.id}  ${connector.displayName}  ${connector.flavor}  ${connector.url}  writeback ${connector.writeback ? 'on' : 'off'}  last sync ${connector.lastSyncDateTime ?? 'never'}`,
          );
        }
      });
    });

  connectors
    .command('show')
    .description('Show one connector (never its bind password).')
    .argument('<connector>', 'the id or display name')
    .option(...jsonOption)
    .action(async (name: string, flags: { json?: boolean }) => {
      await withDirectory(io, async (directory) => {
        const connector = toConnectorBody(await directory.connectors.get(name));
        if (flags.json) printJson(io, connector);
        else printConnector(io, connector);
      });
    });

  connectors
    .command('test')
    .description(
      'Connect, start TLS, bind and search with a connector, and report each step with its latency (exit 1 when a step fails).',
    )
    .argument('<connector>', 'the id or display name')
    .option(...jsonOption)
    .action(async (name: string, flags: { json?: boolean }) => {
      await withDirectory(io, async (directory, context) => {
        const report = await directory.connectors.test(context, name);
        if (flags.json) printJson(io, report);
        else printTestReport(io, report);
        if (!report.success)
          throw new CommanderError(1, 'rekey.connectorTestFailed', 'The connector failed its test.');
      });
    });

  connectors
    .command('health')
    .description(
      "A connector's health over the last hour and 24 hours, from the trace of its directory calls: calls succeeded, refused (the user's own reason: wrong password, policy) and failed, latency p50/p99, the last error and the last success.",
    )
    .argument('<connector>', 'the id or display name')
    .option(...jsonOption)
    .action(async (name: string, flags: { json?: boolean }) => {
      await withDirectory(io, async (directory) => {
        const health = await directory.connectors.health(name);
        if (flags.json) printJson(io, health);
        else printHealth(io, health);
      });
    });

  addSyncCommand(connectors.command('sync'), io, term);
  connectors
    .command('remove')
    .description('Remove a connector (audited as "Delete directory connector").')
    .argument('<connector>', 'the id or display name')
    .option(...jsonOption)
    .action(async (name: string, flags: { json?: boolean }) => {
      await withDirectory(io, async (directory, context) => {
        const removed = await directory.connectors.remove(context, name);
        if (flags.json)
          printJson(io, { id: removed.id, displayName: removed.settings.displayName, removed: true });
        else io.out(`Removed ${removed.settings.displayName} (${removed.id}).`);
      });
    });
}
