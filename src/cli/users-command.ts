import type { Command } from 'commander';
import { Codes } from '../platform/errors/catalog.js';
import { isRekeyError, RekeyError } from '../platform/errors/rekey-error.js';
import { applySelect, parseQueryOptions, parseSelect } from '../platform/odata/index.js';
import { type DirectoryRole, directoryRoleByTemplateId } from '../roles/directory-roles.js';
import { roleFromName, toRoleAssignment } from '../roles/role-service.js';
import { toGraphUser } from '../users/user-mapper.js';
import { deletedUsersResource, usersResource } from '../users/user-query.js';
import {
  assertValidBody,
  type CreateUserBody,
  createUserBody,
  toCreateUserInput,
} from '../users/user-schemas.js';
import { collect, jsonOption, printJson } from './command-helpers.js';
import { type CliIo, withDirectory } from './context.js';
import { lockoutLines } from './lockout-command.js';

/*
 * `rekey users ...`: the directory from a shell, on the configured database, through the same
 * services as the Graph API (so the same validation, policy, audit and session revocation).
 * Every command prints for people by default and JSON with --json; failures are reported by
 * runCli as `error <code> <Name>: <message>` with exit status 1.
 *
 * Changes are audited as made by Rekey itself (no signed-in user): whoever runs the CLI already
 * holds the database and its secret key.
 */

type Row = Record<string, unknown>;

/** The columns `users list` shows without --select. */
/** The default columns of `users list`, in the order the table shows them (the id comes last). */
const listColumns = 'displayName,userPrincipalName,accountEnabled';
/** Page size used while collecting a list; Graph's largest $top. */
const pageSize = 999;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `key: value` lines, one per property, as `rekey users get` prints them. */
function printObject(io: CliIo, object: Row): void {
  io.out(
    Object.entries(object)
      .map(([key, value]) => `${key}: ${cell(value)}`)
      .join('\n'),
  );
}

/** A plain-text table with a header row; columns as wide as their widest cell. */
function printTable(io: CliIo, columns: readonly string[], rows: readonly Row[]): void {
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  io.out([line(columns), ...cells.map(line)].join('\n'));
}

function invalidFlags(message: string, details: Record<string, unknown>): RekeyError {
  return new RekeyError(Codes.RequestValidationFailed, { message, details });
}

function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
    throw invalidFlags('--top must be a whole number of at least 1.', { option: '--top', value: raw });
  }
  return Number(raw);
}

interface ListFlags {
  readonly filter?: string;
  readonly select?: string;
  readonly orderby?: string;
  readonly top?: string;
  readonly deleted?: boolean;
  readonly json?: boolean;
}

async function listUsers(io: CliIo, flags: ListFlags): Promise<void> {
  const limit = parseLimit(flags.top);
  const resource = flags.deleted ? deletedUsersResource : usersResource;
  const select = flags.select ?? (flags.deleted ? `${listColumns},deletedDateTime` : listColumns);
  await withDirectory(io, async (directory) => {
    const rows: Row[] = [];
    let columns: readonly string[] = [];
    let skipToken: string | undefined;
    do {
      const params = new URLSearchParams({ $select: select });
      if (flags.filter !== undefined) params.set('$filter', flags.filter);
      if (flags.orderby !== undefined) params.set('$orderby', flags.orderby);
      params.set('$top', String(Math.min(pageSize, (limit ?? Number.POSITIVE_INFINITY) - rows.length)));
      if (skipToken !== undefined) params.set('$skiptoken', skipToken);
      const options = parseQueryOptions(params, resource);
      columns = options.select.properties;
      const page = await directory.users.listUsers(options, { deleted: flags.deleted === true });
      const licenses = await directory.licenses.licensesOf(page.rows.map((row) => row.id));
      rows.push(
        ...page.rows.map((row) => applySelect(toGraphUser(row, licenses), options.select.properties)),
      );
      skipToken = page.nextSkipToken;
    } while (skipToken !== undefined && (limit === undefined || rows.length < limit));

    if (flags.json) printJson(io, rows);
    else if (rows.length === 0) io.out(flags.deleted ? 'No deleted users match.' : 'No users match.');
    // The id is the last column: it is the widest and the least read.
    else printTable(io, [...columns.filter((c) => c !== 'id'), 'id'], rows);
  });
}

interface CreateFlags {
  readonly upn?: string;
  readonly displayName?: string;
  readonly password?: string;
  readonly generatePassword?: boolean;
  readonly mailNickname?: string;
  readonly givenName?: string;
  readonly surname?: string;
  readonly mail?: string;
  readonly jobTitle?: string;
  readonly usageLocation?: string;
  readonly passwordPolicies?: string;
  readonly immutableId?: string;
  readonly disabled?: boolean;
  readonly forceChange: boolean;
  /** Role names from the repeatable --role, as typed. */
  readonly role: readonly string[];
  readonly json?: boolean;
}

/** Graph's create body from the flags, so that the CLI validates exactly as POST /users does. */
/** The two flags `create` cannot do without, or a usage error naming the missing ones. */
function requiredCreateFlags(flags: CreateFlags): { readonly upn: string; readonly displayName: string } {
  const missing = [
    flags.upn === undefined ? '--upn' : undefined,
    flags.displayName === undefined ? '--display-name' : undefined,
  ].filter((name) => name !== undefined);
  if (missing.length > 0 || flags.upn === undefined || flags.displayName === undefined) {
    throw invalidFlags(`rekey users create needs ${missing.join(' and ')}.`, { missing });
  }
  return { upn: flags.upn, displayName: flags.displayName };
}

function createBodyFromFlags(flags: CreateFlags, password: string): CreateUserBody {
  const required = requiredCreateFlags(flags);
  const body: Row = {
    accountEnabled: flags.disabled !== true,
    displayName: required.displayName,
    mailNickname: flags.mailNickname ?? required.upn.split('@')[0],
    userPrincipalName: required.upn,
    passwordProfile: { password, forceChangePasswordNextSignIn: flags.forceChange },
    ...(flags.givenName === undefined ? {} : { givenName: flags.givenName }),
    ...(flags.surname === undefined ? {} : { surname: flags.surname }),
    ...(flags.mail === undefined ? {} : { mail: flags.mail }),
    ...(flags.jobTitle === undefined ? {} : { jobTitle: flags.jobTitle }),
    ...(flags.usageLocation === undefined ? {} : { usageLocation: flags.usageLocation }),
    ...(flags.passwordPolicies === undefined ? {} : { passwordPolicies: flags.passwordPolicies }),
    ...(flags.immutableId === undefined ? {} : { onPremisesImmutableId: flags.immutableId }),
  };
  assertValidBody(createUserBody, body);
  return body;
}

/** The password a command should set: the one given, or a generated one (never both). */
function choosePassword(
  given: string | undefined,
  generate: boolean | undefined,
  flags: { readonly given: string; readonly generate: string; readonly generateByDefault: boolean },
): { readonly password: string | undefined; readonly generated: boolean } {
  if (given !== undefined && generate) {
    throw invalidFlags(`Give ${flags.given} or ${flags.generate}, not both.`, {
      conflicting: [flags.given, flags.generate],
    });
  }
  if (given !== undefined) return { password: given, generated: false };
  if (generate || flags.generateByDefault) return { password: undefined, generated: true };
  throw invalidFlags(`Give ${flags.given} <password> or ${flags.generate}.`, { missing: [flags.given] });
}

async function createUser(io: CliIo, flags: CreateFlags): Promise<void> {
  const choice = choosePassword(flags.password, flags.generatePassword, {
    given: '--password',
    generate: '--generate-password',
    generateByDefault: false,
  });
  const required = requiredCreateFlags(flags);
  // Names are checked before anything is written: a typo must not leave a user without the role.
  const roles = distinct(flags.role.map(roleFromName));
  await withDirectory(io, async (directory, context) => {
    // A generated password goes through the policy too: it is redrawn in the rare case the
    // breached filter or a custom banned term refuses it.
    const password =
      choice.password ??
      (
        await directory.passwordPolicy.generateAcceptable(
          {
            id: null,
            userPrincipalName: required.upn,
            displayName: required.displayName,
            givenName: flags.givenName ?? null,
            surname: flags.surname ?? null,
            passwordPolicies: flags.passwordPolicies ?? null,
            forceChangePasswordNextSignIn: flags.forceChange,
            lastPasswordChangeDateTime: null,
          },
          'create',
        )
      ).password;
    const body = createBodyFromFlags(flags, password);
    const row = await directory.users.createUser(context, { ...toCreateUserInput(body), roles });
    const user = toGraphUser(row, await directory.licenses.licensesOf([row.id]));
    if (flags.json) {
      printJson(io, choice.generated ? { ...user, generatedPassword: password } : user);
      return;
    }
    io.out(`Created ${row.user_principal_name} (${row.id}).`);
    if (roles.length > 0) io.out(`Roles: ${roles.join(', ')}.`);
    if (choice.generated) io.out(`Password (shown only now): ${password}`);
    if (flags.forceChange) io.out('The user must choose a new password at the first sign-in.');
  });
}

interface SetPasswordFlags {
  readonly password?: string;
  readonly generate?: boolean;
  readonly forceChange: boolean;
  readonly json?: boolean;
}

async function setPassword(io: CliIo, user: string, flags: SetPasswordFlags): Promise<void> {
  const choice = choosePassword(flags.password, flags.generate, {
    given: '--password',
    generate: '--generate',
    generateByDefault: true,
  });
  await withDirectory(io, async (directory, context) => {
    const { operation, generatedPassword } = await directory.passwords.resetPasswordNow(context, user, {
      newPassword: choice.password,
      forceChange: flags.forceChange,
    });
    const row = await directory.users.getUser(operation.user_id);
    if (flags.json) {
      printJson(io, {
        id: row.id,
        userPrincipalName: row.user_principal_name,
        operationId: operation.id,
        status: 'succeeded',
        forceChangePasswordNextSignIn: row.force_change_password_next_sign_in === 1,
        ...(generatedPassword === undefined ? {} : { generatedPassword }),
      });
      return;
    }
    io.out(`Set the password of ${row.user_principal_name}; every session of the user was revoked.`);
    if (generatedPassword !== undefined) io.out(`Password (shown only now): ${generatedPassword}`);
    if (flags.forceChange) io.out('The user must choose a new password at the next sign-in.');
  });
}

async function setEnabled(
  io: CliIo,
  user: string,
  enabled: boolean,
  json: boolean | undefined,
): Promise<void> {
  await withDirectory(io, async (directory, context) => {
    const row = await directory.users.updateUser(context, user, { accountEnabled: enabled });
    if (json) printJson(io, toGraphUser(row, await directory.licenses.licensesOf([row.id])));
    else if (enabled) io.out(`Enabled ${row.user_principal_name}.`);
    else io.out(`Disabled ${row.user_principal_name}; every session of the user was revoked.`);
  });
}

async function deleteUser(io: CliIo, user: string, json: boolean | undefined): Promise<void> {
  await withDirectory(io, async (directory, context) => {
    const target = await directory.users.getUser(user);
    await directory.users.deleteUser(context, target.id);
    const row = await directory.users.getDeletedUser(target.id);
    if (json) printJson(io, toGraphUser(row, await directory.licenses.licensesOf([row.id])));
    else {
      io.out(`Deleted ${row.user_principal_name} (${row.id}); it can no longer sign in.`);
      io.out(`Undo with: rekey users restore ${row.id}`);
    }
  });
}

async function restoreUser(io: CliIo, user: string, json: boolean | undefined): Promise<void> {
  await withDirectory(io, async (directory, context) => {
    const row = await directory.users.restoreUser(context, user);
    if (json) printJson(io, toGraphUser(row, await directory.licenses.licensesOf([row.id])));
    else io.out(`Restored ${row.user_principal_name} (${row.id}).`);
  });
}

async function getUser(io: CliIo, user: string, flags: { select?: string; json?: boolean }): Promise<void> {
  // Without --select every property is shown, and the smart lockout state after them: this is
  // the troubleshooting view of one account.
  const selection = flags.select === undefined ? undefined : parseSelect(flags.select, usersResource);
  await withDirectory(io, async (directory) => {
    const row = await directory.users.getUser(user);
    const full = toGraphUser(row, await directory.licenses.licensesOf([row.id]));
    if (selection) {
      const shown = applySelect(full, selection.properties);
      if (flags.json) printJson(io, shown);
      else printObject(io, shown);
      return;
    }
    const lockout = await directory.lockout.getLockout(row.id);
    if (flags.json) {
      printJson(io, { ...full, lockout });
      return;
    }
    printObject(io, full);
    io.out(lockoutLines(lockout).join('\n'));
  });
}

async function unlockUser(io: CliIo, user: string, json: boolean | undefined): Promise<void> {
  await withDirectory(io, async (directory, context) => {
    // Unlocking an account that is not locked changes nothing worth an audit row: say so instead.
    const current = await directory.lockout.getLockout(user);
    if (!current.locked) {
      if (json) {
        printJson(io, { ...current, unlocked: false });
        return;
      }
      io.out(`${current.userPrincipalName} is not locked; nothing was changed and nothing audited.`);
      io.out(lockoutLines(current).join('\n'));
      return;
    }
    const view = await directory.lockout.unlock(context, user);
    if (json) {
      printJson(io, { ...view, unlocked: true });
      return;
    }
    io.out(`Unlocked ${view.userPrincipalName}: every lock ended and the failure counts restarted.`);
    io.out(lockoutLines(view).join('\n'));
  });
}

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

interface RolesFlags {
  readonly add: readonly string[];
  readonly remove: readonly string[];
  readonly json?: boolean;
}

/**
 * `rekey users roles <user> [--add <role>]... [--remove <role>]...`: the user's directory roles,
 * after the changes asked for. The flags say what the user should end up with, so adding a role
 * the user holds, or removing one they do not, changes nothing and is not an error: a script can
 * run the same command twice.
 */
async function manageRoles(io: CliIo, user: string, flags: RolesFlags): Promise<void> {
  const adds = distinct(flags.add.map(roleFromName));
  const removes = distinct(flags.remove.map(roleFromName));
  const both = adds.filter((role) => removes.includes(role));
  if (both.length > 0) {
    throw invalidFlags(`Give a role to --add or to --remove, not to both: ${both.join(', ')}.`, {
      conflicting: both,
    });
  }
  await withDirectory(io, async (directory, context) => {
    // The directory's role service: the same rules and audit rows as the Graph API.
    const { roles } = directory;
    const target = await directory.users.getUser(user);
    const upn = target.user_principal_name;
    const added: DirectoryRole[] = [];
    const removed: DirectoryRole[] = [];
    /** Says what happened at once, so a failure later in the list leaves no doubt about what was done. */
    const say = (text: string) => {
      if (!flags.json) io.out(text);
    };
    for (const role of adds) {
      const assignment = toRoleAssignment(role, target.id);
      try {
        await roles.assign(context, {
          principalId: target.id,
          roleDefinitionId: assignment.roleDefinitionId,
          directoryScopeId: '/',
        });
        added.push(role);
        say(`Added ${role} to ${upn}.`);
      } catch (error) {
        if (!isRekeyError(error) || error.code !== Codes.ObjectConflict) throw error;
        say(`${upn} already holds ${role}.`);
      }
    }
    for (const role of removes) {
      try {
        await roles.remove(context, toRoleAssignment(role, target.id).id);
        removed.push(role);
        say(`Removed ${role} from ${upn}.`);
      } catch (error) {
        if (!isRekeyError(error) || error.code !== Codes.ResourceNotFound) throw error;
        say(`${upn} does not hold ${role}.`);
      }
    }
    const held = (await roles.listAssignments({ userId: target.id })).map((assignment) => ({
      role: directoryRoleByTemplateId(assignment.roleDefinitionId) ?? assignment.roleDefinitionId,
      roleDefinitionId: assignment.roleDefinitionId,
      assignmentId: assignment.id,
    }));
    if (flags.json) {
      printJson(io, { id: target.id, userPrincipalName: upn, added, removed, roles: held });
    } else if (held.length === 0) {
      io.out(`${upn} holds no directory role.`);
    } else {
      printTable(io, ['role', 'roleDefinitionId', 'assignmentId'], held);
    }
  });
}

/** Adds `rekey users` and its subcommands to the program. */
export function registerUsersCommand(program: Command, io: CliIo): void {
  const users = program
    .command('users')
    .description('Manage directory users on the configured database (no server needed).');

  users
    .command('list')
    .description('List users as a table (all of them unless --top).')
    .option('--filter <expression>', `OData filter, e.g. "startswith(displayName,'Ada')"`)
    .option(
      '--select <properties>',
      `comma-separated properties to show (default: ${listColumns}, and deletedDateTime with --deleted); the id is always shown, last`,
    )
    .option('--orderby <property>', 'displayName or userPrincipalName, optionally followed by desc')
    .option('--top <n>', 'show at most n users')
    .option('--deleted', 'list soft-deleted users instead')
    .option(...jsonOption)
    .action((flags: ListFlags) => listUsers(io, flags));

  users
    .command('get')
    .description('Show one user as key: value lines (every property unless --select).')
    .argument('<user>', 'user principal name or object id')
    .option('--select <properties>', 'comma-separated properties, e.g. accountEnabled,passwordPolicies')
    .option(...jsonOption)
    .action((user: string, flags: { select?: string; json?: boolean }) => getUser(io, user, flags));

  users
    .command('create')
    .description('Create a user with a password; the user must change it at the first sign-in.')
    .option('--upn <upn>', 'user principal name, alias@verified-domain (required)')
    .option('--display-name <name>', 'display name (required)')
    .option('--password <password>', 'the initial password (it may stay in your shell history)')
    .option('--generate-password', 'generate a strong password and print it once')
    .option('--mail-nickname <alias>', 'mail alias (default: the part of the UPN before the @)')
    .option('--given-name <name>', 'first name')
    .option('--surname <name>', 'last name')
    .option('--mail <address>', 'email address')
    .option('--job-title <title>', 'job title')
    .option('--usage-location <code>', 'two-letter country code')
    .option('--password-policies <policies>', 'None, DisablePasswordExpiration and/or DisableStrongPassword')
    .option('--immutable-id <id>', 'on-premises immutable id (required in a federated domain)')
    .option('--disabled', 'create the account disabled')
    .option('--no-force-change', 'do not require a new password at the first sign-in')
    .option(
      '--role <name>',
      'give the user a directory role, e.g. "Reports Reader" (repeatable)',
      collect,
      [],
    )
    .option(...jsonOption)
    .action((flags: CreateFlags) => createUser(io, flags));

  users
    .command('roles')
    .description("List a user's directory roles; --add and --remove change them first (audited).")
    .argument('<user>', 'user principal name or object id')
    .option(
      '--add <role>',
      'assign a role by name, any case, e.g. "Reports Reader" (repeatable)',
      collect,
      [],
    )
    .option('--remove <role>', 'remove a role by name (repeatable)', collect, [])
    .option(...jsonOption)
    .action((user: string, flags: RolesFlags) => manageRoles(io, user, flags));

  users
    .command('set-password')
    .description("Reset a user's password as an administrator; done when the command returns.")
    .argument('<user>', 'user principal name or object id')
    .option('--password <password>', 'the new password (it may stay in your shell history)')
    .option('--generate', 'generate a strong password and print it once (the default)')
    .option('--no-force-change', 'do not require a new password at the next sign-in')
    .option(...jsonOption)
    .action((user: string, flags: SetPasswordFlags) => setPassword(io, user, flags));

  users
    .command('unlock')
    .description('End the smart lockout of an account and restart its failure counts (audited).')
    .argument('<user>', 'user principal name or object id')
    .option(...jsonOption)
    .action((user: string, flags: { json?: boolean }) => unlockUser(io, user, flags.json));

  users
    .command('disable')
    .description('Disable an account and revoke its sessions.')
    .argument('<user>', 'user principal name or object id')
    .option(...jsonOption)
    .action((user: string, flags: { json?: boolean }) => setEnabled(io, user, false, flags.json));

  users
    .command('enable')
    .description('Enable an account.')
    .argument('<user>', 'user principal name or object id')
    .option(...jsonOption)
    .action((user: string, flags: { json?: boolean }) => setEnabled(io, user, true, flags.json));

  users
    .command('delete')
    .description('Delete a user (soft delete: it can be restored).')
    .argument('<user>', 'user principal name or object id')
    .option(...jsonOption)
    .action((user: string, flags: { json?: boolean }) => deleteUser(io, user, flags.json));

  users
    .command('restore')
    .description('Restore a deleted user.')
    .argument('<user>', 'object id (or user principal name) of the deleted user')
    .option(...jsonOption)
    .action((user: string, flags: { json?: boolean }) => restoreUser(io, user, flags.json));
}
