import type { Kysely } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { Database, PasswordOperationRow, UserRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import { type DirectoryRole, parseRoles } from '../roles/directory-roles.js';
import { findUserById, findUserByUpn } from './user-store.js';

/*
 * Who may do what in Rekey, and to whom: the one home of every authorization rule.
 *
 * Acting on another user (reset, unlock, revoke sessions, change, disable, delete, restore) is
 * judged by Entra's two published tables, held below as data: who may reset a password, and who
 * may perform the sensitive actions. A column is the caller's role, a row a role the target holds.
 * Reading a table:
 *   - A target who holds no role is the `none` row; a role that no row names (another built-in
 *     role, or a name Rekey does not know) is the `any other role` row.
 *   - A target who holds several roles needs every one of them allowed, by one and the same of the
 *     caller's roles: a caller whose roles each cover part of the target's roles is refused. That
 *     is the stricter reading, chosen because taking over such an account grants all its roles.
 *   - Nobody resets or unlocks their own account through these paths (7700104), nor deletes it
 *     (7700107).
 *   - A context without an actor is the operator at the CLI, who already holds the database: no
 *     rule applies to them.
 * The other rules (reading the directory, the logs, the settings; assigning roles) are role
 * lists a route guard checks, kept here too so that one file answers "who may".
 *
 * The password reset table also governs unlocking (a reset ends a lockout anyway, so whoever may
 * reset may unlock, the narrower act) and revoking sessions (Entra titles that table "reset a
 * password and invalidate refresh tokens"), though a Password Administrator may only reset:
 * Entra gives that role no right to invalidate tokens.
 */

/** One cell of a table: the caller's role may act on a user who holds the row's role, or not. */
export type Cell = 'yes' | 'no';

/** What a row of a table names: a role, `none` (no role at all) or `any other role`. */
export type MatrixTarget = DirectoryRole | 'none' | 'any other role';

/** One of Entra's "who may act on whom" tables. */
export interface RoleMatrix<Callers extends readonly DirectoryRole[]> {
  readonly title: string;
  /** The columns: the role the caller holds. */
  readonly callers: Callers;
  /** One line of the table each: the target roles it covers, and one cell per column. */
  readonly rows: ReadonlyArray<{
    readonly targets: readonly MatrixTarget[];
    readonly cells: { readonly [K in keyof Callers]: Cell };
  }>;
}

const resetCallers = [
  'Password Administrator',
  'Helpdesk Administrator',
  'Authentication Administrator',
  'User Administrator',
  'Privileged Authentication Administrator',
  'Global Administrator',
] as const;

/**
 * Who may reset whose password (Entra's "who can reset passwords"), one row per line of the
 * published table. A Global Administrator resetting another Global Administrator is allowed.
 */
// biome-ignore format: a table reads best laid out as one
export const passwordResetMatrix: RoleMatrix<typeof resetCallers> = {
  title: 'Reset a password',
  callers: resetCallers,
  rows: [
    // Columns: Password, Helpdesk, Authentication, User, Privileged Authentication, Global Administrator.
    //                                                               Pass   Help   Auth   User   PAuth  Glob
    { targets: ['none'],                                     cells: ['yes', 'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['Directory Readers'],                        cells: ['yes', 'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['Guest Inviter'],                            cells: ['yes', 'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['Password Administrator'],                   cells: ['yes', 'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['Helpdesk Administrator'],                   cells: ['no',  'yes', 'no',  'yes', 'yes', 'yes'] },
    { targets: ['Message Center Reader'],                    cells: ['no',  'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['Reports Reader'],                           cells: ['no',  'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['User Experience Success Manager'],          cells: ['no',  'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['Usage Summary Reports Reader'],             cells: ['no',  'yes', 'yes', 'yes', 'yes', 'yes'] },
    { targets: ['Authentication Administrator'],             cells: ['no',  'no',  'yes', 'no',  'yes', 'yes'] },
    { targets: ['Groups Administrator'],                     cells: ['no',  'no',  'no',  'yes', 'yes', 'yes'] },
    { targets: ['User Administrator'],                       cells: ['no',  'no',  'no',  'yes', 'yes', 'yes'] },
    { targets: ['Privileged Authentication Administrator'],  cells: ['no',  'no',  'no',  'no',  'yes', 'yes'] },
    { targets: ['Privileged Role Administrator'],            cells: ['no',  'no',  'no',  'no',  'yes', 'yes'] },
    { targets: ['Global Administrator'],                     cells: ['no',  'no',  'no',  'no',  'yes', 'yes'] },
    { targets: ['any other role'],                           cells: ['no',  'no',  'no',  'no',  'yes', 'yes'] },
  ],
};

const sensitiveCallers = [
  'Authentication Administrator',
  'User Administrator',
  'Privileged Authentication Administrator',
  'Global Administrator',
] as const;

/**
 * Who may perform the sensitive actions on whom (Entra's "who can perform sensitive actions":
 * disable, enable, delete, restore, and changes to passwordProfile, userPrincipalName,
 * onPremisesImmutableId, phones and other mail addresses), one row per line of the published
 * table. Rekey judges every change to another user's object by it, ordinary profile properties
 * included, so an administrator's profile is as protected as their password.
 */
// biome-ignore format: a table reads best laid out as one
export const sensitiveActionMatrix: RoleMatrix<typeof sensitiveCallers> = {
  title: 'Perform a sensitive action',
  callers: sensitiveCallers,
  rows: [
    // Columns: Authentication, User, Privileged Authentication, Global Administrator.
    //                                                 Auth   User   PAuth  Glob
    {
      targets: ['none', 'Directory Readers', 'Guest Inviter', 'Password Administrator',
        'Message Center Reader', 'Reports Reader', 'User Experience Success Manager',
        'Usage Summary Reports Reader'],
      cells:                                          ['yes', 'yes', 'yes', 'yes'],
    },
    {
      targets: ['Authentication Administrator'],
      cells:                                          ['yes', 'no',  'yes', 'yes'],
    },
    {
      targets: ['Helpdesk Administrator', 'Groups Administrator', 'User Administrator'],
      cells:                                          ['no',  'yes', 'yes', 'yes'],
    },
    {
      targets: ['Privileged Authentication Administrator', 'Privileged Role Administrator',
        'Global Administrator', 'any other role'],
      cells:                                          ['no',  'no',  'yes', 'yes'],
    },
  ],
};

/** Something one user may do to another, judged by one of the two tables. */
export type UserAction =
  | 'resetPassword'
  | 'unlock'
  | 'revokeSessions'
  | 'updateUser'
  | 'disable'
  | 'enable'
  | 'delete'
  | 'restore'
  | 'purge';

type AnyMatrix = typeof passwordResetMatrix | typeof sensitiveActionMatrix;

interface UserActionRule {
  readonly matrix: AnyMatrix;
  /** The columns of the table that may take this action; the other columns never may. */
  readonly callers: readonly DirectoryRole[];
  /** Completes "may ... a user who holds", for the refusal's message. */
  readonly verb: string;
  /** The refusal when the caller is the target, or undefined when one may act on oneself. */
  readonly selfRefusal?: () => RekeyError;
}

/** Each action: its table and the columns that may take it (see the module comment). */
const userActionRules: Readonly<Record<UserAction, UserActionRule>> = {
  resetPassword: {
    matrix: passwordResetMatrix,
    callers: resetCallers,
    verb: 'reset the password of',
    selfRefusal: () => new RekeyError(Codes.CannotResetOwnPassword),
  },
  unlock: {
    matrix: passwordResetMatrix,
    callers: resetCallers,
    verb: 'unlock',
    selfRefusal: () =>
      new RekeyError(Codes.CannotResetOwnPassword, {
        message: 'Administrators cannot unlock their own account; ask another administrator.',
      }),
  },
  revokeSessions: {
    matrix: passwordResetMatrix,
    callers: resetCallers.filter((role) => role !== 'Password Administrator'),
    verb: 'revoke the sessions of',
  },
  updateUser: { matrix: sensitiveActionMatrix, callers: sensitiveCallers, verb: 'change' },
  disable: { matrix: sensitiveActionMatrix, callers: sensitiveCallers, verb: 'disable' },
  enable: { matrix: sensitiveActionMatrix, callers: sensitiveCallers, verb: 'enable' },
  delete: {
    matrix: sensitiveActionMatrix,
    callers: sensitiveCallers,
    verb: 'delete',
    selfRefusal: () => new RekeyError(Codes.CannotDeleteOwnAccount),
  },
  restore: { matrix: sensitiveActionMatrix, callers: sensitiveCallers, verb: 'restore' },
  // Permanent deletion stays with those who create users, as in Entra.
  purge: {
    matrix: sensitiveActionMatrix,
    callers: ['User Administrator', 'Global Administrator'],
    verb: 'permanently delete',
  },
};

/** The cell of `matrix` for a caller holding `caller` and a target holding `target` (a role or 'none'). */
export function matrixCell(matrix: AnyMatrix, caller: DirectoryRole, target: string): Cell | undefined {
  const column = (matrix.callers as readonly DirectoryRole[]).indexOf(caller);
  if (column < 0) return undefined;
  const row =
    matrix.rows.find((r) => (r.targets as readonly string[]).includes(target)) ??
    matrix.rows.find((r) => r.targets.includes('any other role'));
  return row?.cells[column];
}

/** The role names stored for a user, unknown ones kept: they count as "any other role". */
function targetRolesOf(target: Pick<UserRow, 'roles'>): string[] {
  const parsed: unknown = JSON.parse(target.roles);
  return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
}

/** Whether `role`'s column of the action's table allows every one of `targetRoles`. */
function columnAllows(rule: UserActionRule, role: DirectoryRole, targetRoles: readonly string[]): boolean {
  const rows = targetRoles.length === 0 ? ['none'] : targetRoles;
  return rows.every((target) => matrixCell(rule.matrix, role, target) === 'yes');
}

/** True when any of `roles` is in `allowed`. */
export function hasAnyRole(roles: readonly string[], allowed: readonly DirectoryRole[]): boolean {
  return roles.some((role) => (allowed as readonly string[]).includes(role));
}

/** The roles that may take `action` on some user: what a route guard for it admits. */
export function rolesThatMay(action: UserAction): readonly DirectoryRole[] {
  return userActionRules[action].callers;
}

/** The roles that may take `action` on a user holding `targetRoles` (no roles: a plain user). */
export function rolesThatMayActOn(action: UserAction, targetRoles: readonly string[]): DirectoryRole[] {
  const rule = userActionRules[action];
  return rule.callers.filter((role) => columnAllows(rule, role, targetRoles));
}

/**
 * Whether someone holding `callerRoles` may take `action` on a user holding `targetRoles`, by the
 * tables alone (the rule about one's own account is `refusalToActOn`'s).
 */
export function mayActOn(
  action: UserAction,
  callerRoles: readonly string[],
  targetRoles: readonly string[],
): boolean {
  return hasAnyRole(callerRoles, rolesThatMayActOn(action, targetRoles));
}

function listOfRoles(roles: readonly string[]): string {
  if (roles.length <= 1) return roles.join('');
  return `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}`;
}

/**
 * The refusal (7700103) when someone holding `callerRoles` may not take `action` on `target`
 * because of the roles the target holds, or undefined when the table allows it. The details name
 * the roles that would be allowed and the target's roles; `message` replaces the default one.
 */
export function targetRefusal(
  action: UserAction,
  callerRoles: readonly string[],
  target: Pick<UserRow, 'roles'>,
  message?: string,
): RekeyError | undefined {
  const targetRoles = targetRolesOf(target);
  const requiredRoles = rolesThatMayActOn(action, targetRoles);
  if (hasAnyRole(callerRoles, requiredRoles)) return undefined;
  const held =
    targetRoles.length === 0
      ? 'no directory role'
      : targetRoles.length === 1
        ? `the ${targetRoles[0]} role`
        : `the roles ${targetRoles.join(', ')}`;
  return new RekeyError(Codes.InsufficientPrivileges, {
    message:
      message ??
      `Only a ${listOfRoles(requiredRoles)} may ${userActionRules[action].verb} a user who holds ${held}.`,
    details: { requiredRoles, targetRoles },
  });
}

/**
 * The refusal when `actor` may not take `action` on `target`, or undefined when allowed: their
 * own account where the action forbids it (7700104, 7700107), a caller without any role that may
 * take the action (7700103), or a target whose roles the caller's table column does not cover
 * (7700103). No actor (the CLI) is always allowed.
 */
export function refusalToActOn(
  action: UserAction,
  actor: Pick<Actor, 'userId' | 'roles'> | undefined,
  target: Pick<UserRow, 'id' | 'roles'>,
  message?: string,
): RekeyError | undefined {
  if (!actor) return undefined;
  const rule = userActionRules[action];
  if (actor.userId === target.id && rule.selfRefusal) return rule.selfRefusal();
  if (!hasAnyRole(actor.roles, rule.callers)) {
    return new RekeyError(Codes.InsufficientPrivileges, { details: { requiredRoles: rule.callers } });
  }
  return targetRefusal(action, actor.roles, target, message);
}

/** Throws refusalToActOn's refusal, if any. */
export function assertMayActOn(
  action: UserAction,
  actor: Pick<Actor, 'userId' | 'roles'> | undefined,
  target: Pick<UserRow, 'id' | 'roles'>,
  message?: string,
): void {
  const refusal = refusalToActOn(action, actor, target, message);
  if (refusal) throw refusal;
}

/**
 * The live user an administrator asks to act on (a reset, an unlock), or a 403/404: a caller
 * without any role that may take the action is refused before the user is looked up (so the
 * answer reveals nothing about who exists), an unknown id or UPN is 7700008, and then the rules
 * of refusalToActOn apply. `onRefused` hears each refusal that concerns a known user before it
 * is thrown, so the caller can audit it.
 */
export async function findUserToActOn(
  db: Db,
  tenantId: string,
  context: RequestContext,
  targetId: string,
  action: UserAction,
  onRefused?: (target: UserRow, refusal: RekeyError) => Promise<void>,
): Promise<UserRow> {
  const actor = context.actor;
  const callers = rolesThatMay(action);
  if (actor && !hasAnyRole(actor.roles, callers)) {
    throw new RekeyError(Codes.InsufficientPrivileges, { details: { requiredRoles: callers } });
  }
  const target = targetId.includes('@')
    ? await findUserByUpn(db.kysely, tenantId, targetId)
    : await findUserById(db.kysely, tenantId, targetId);
  if (!target) throw new RekeyError(Codes.ResourceNotFound, { details: { id: targetId } });
  const refusal = refusalToActOn(action, actor, target);
  if (refusal) {
    await onRefused?.(target, refusal);
    throw refusal;
  }
  return target;
}

/**
 * An administrator's reset judged again when it commits, inside `trx`, on the requester and the
 * target as they are then: the reset was accepted against the roles of that moment, and roles
 * change. A target given a role the requester's column does not cover, or a requester who lost
 * the role that allowed the reset (or was disabled or deleted), ends the operation with 7700103
 * rather than handing over an account the requester may no longer reset. `target` is the user's
 * row read in `trx`, locked on PostgreSQL so that a role assignment to it waits for this commit
 * or is seen by it (SQLite's single writer orders them anyway). Without a requesting user (the
 * CLI) there is nothing to judge.
 */
export async function assertResetStillAllowed(
  trx: Kysely<Database>,
  tenantId: string,
  operation: Pick<PasswordOperationRow, 'kind' | 'requested_by_user_id'>,
  target: Pick<UserRow, 'id' | 'roles'>,
): Promise<void> {
  if (operation.kind !== 'adminReset' || operation.requested_by_user_id === null) return;
  const requester = await findUserById(trx, tenantId, operation.requested_by_user_id);
  const roles = requester && requester.account_enabled === 1 ? parseRoles(requester.roles) : [];
  const resetters = rolesThatMay('resetPassword');
  if (!hasAnyRole(roles, resetters)) {
    throw new RekeyError(Codes.InsufficientPrivileges, {
      message: 'The administrator who asked for this reset may no longer reset passwords.',
      details: { requiredRoles: resetters },
    });
  }
  const refusal = targetRefusal(
    'resetPassword',
    roles,
    target,
    "The administrator who asked for this reset may no longer reset this user's password: the user's roles or theirs changed after the reset was accepted.",
  );
  if (refusal) throw refusal;
}

/** Whether `idOrUpn` names the actor's own account (an object id, or a UPN in any case). */
export function isSelf(actor: Pick<Actor, 'userId' | 'userPrincipalName'>, idOrUpn: string): boolean {
  return idOrUpn === actor.userId || idOrUpn.toLowerCase() === actor.userPrincipalName.toLowerCase();
}

/** A user changes their own password (knowing the current one), never anyone else's. */
export function assertMayChangePassword(actor: Pick<Actor, 'userId'> | undefined, userId: string): void {
  if (actor && actor.userId !== userId) {
    throw new RekeyError(Codes.InsufficientPrivileges, {
      message: 'A user may change only their own password.',
    });
  }
}

/**
 * Roles that may assign and remove directory roles (`roleManagement/directory/roleAssignments`).
 * Either can make anyone, themselves included, a Global Administrator, as in Entra: hand them
 * out as carefully as Global Administrator itself.
 */
export const roleAssignmentRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Privileged Role Administrator',
];

/** Only a Global Administrator or a Privileged Role Administrator may change who holds a role. */
export function assertMayAssignRoles(actor: Pick<Actor, 'roles'> | undefined): void {
  if (!actor || hasAnyRole(actor.roles, roleAssignmentRoles)) return;
  throw new RekeyError(Codes.InsufficientPrivileges, {
    message: 'Only a Global Administrator or a Privileged Role Administrator may assign or remove roles.',
    details: { requiredRoles: roleAssignmentRoles },
  });
}

/** Roles that may create users (Graph's POST /users, and a role given at creation by the CLI). */
export const userCreationRoles: readonly DirectoryRole[] = ['Global Administrator', 'User Administrator'];

/**
 * Roles that may change, disable, enable, delete and restore users, as far as the sensitive-action
 * table lets them reach (the guard of PATCH and DELETE /users/{id} and of restore).
 */
export const userAdministrationRoles: readonly DirectoryRole[] = sensitiveCallers;

/** Roles that may reset passwords and end lockouts, as far as the reset table lets them reach. */
export const passwordResetRoles: readonly DirectoryRole[] = resetCallers;

/**
 * Roles that may create, read, change, test, synchronize and remove the directory connectors
 * (`/rekey/v1/connectors`). A connector holds the credentials of a service account in the
 * on-premises directory and decides whose accounts are imported, so reading one is kept to the
 * same roles as changing it.
 */
export const connectorAdministrationRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Hybrid Identity Administrator',
];

/** Roles that may add domains to the tenant. */
export const domainAdministrationRoles: readonly DirectoryRole[] = ['Global Administrator'];

/** Roles that may federate a domain, change its federation or make it managed again (as in Entra). */
export const federationAdministrationRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Hybrid Identity Administrator',
  'Security Administrator',
];

/** Roles that may read a domain's federation configuration. */
export const federationReaderRoles: readonly DirectoryRole[] = [
  ...federationAdministrationRoles,
  'Global Reader',
  'Security Reader',
];

/** Roles that may assign and remove users' licences. */
export const licenseAssignmentRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'User Administrator',
];

/** Roles that may add or change the tenant's subscriptions (Rekey's own API; Graph has none). */
export const subscriptionAdministrationRoles: readonly DirectoryRole[] = ['Global Administrator'];

/**
 * Roles that may read the whole directory. The Privileged Role Administrator is here because
 * assigning a role starts with finding the user's id, the Password Administrator because a reset
 * does.
 */
export const directoryReaderRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Privileged Role Administrator',
  'Global Reader',
  'User Administrator',
  'Helpdesk Administrator',
  'Privileged Authentication Administrator',
  'Authentication Administrator',
  'Password Administrator',
  'Directory Readers',
];

/** Roles that may read the tenant's subscriptions (`/v1.0/subscribedSkus`). */
export const subscriptionReaderRoles: readonly DirectoryRole[] = directoryReaderRoles;

/** Everyone may read their own user object; anyone else's needs a directory reader role. */
export function assertMayReadUser(
  actor: Pick<Actor, 'userId' | 'userPrincipalName' | 'roles'>,
  idOrUpn: string,
): void {
  if (isSelf(actor, idOrUpn) || hasAnyRole(actor.roles, directoryReaderRoles)) return;
  throw new RekeyError(Codes.InsufficientPrivileges, { details: { requiredRoles: directoryReaderRoles } });
}

/** A password operation may be read by its own user and by those who may reset passwords. */
export function assertMayReadPasswordOperation(
  actor: Pick<Actor, 'userId' | 'userPrincipalName' | 'roles'>,
  idOrUpn: string,
): void {
  if (isSelf(actor, idOrUpn) || hasAnyRole(actor.roles, passwordResetRoles)) return;
  throw new RekeyError(Codes.InsufficientPrivileges, { details: { requiredRoles: passwordResetRoles } });
}

/**
 * Comparing a password with a user's history (the policy dry run's `checkHistory`) answers "is
 * this one of their recent passwords?": allowed for the user themselves and for whoever may reset
 * that user's password.
 */
export function assertMayCheckPasswordHistory(
  actor: Pick<Actor, 'userId' | 'roles'> | undefined,
  target: Pick<UserRow, 'id' | 'roles'>,
): void {
  if (!actor || actor.userId === target.id) return;
  const required = rolesThatMayActOn('resetPassword', targetRolesOf(target));
  if (!hasAnyRole(actor.roles, required)) {
    throw new RekeyError(Codes.InsufficientPrivileges, {
      message:
        "Comparing a password with a user's recent passwords needs a role that may reset that user's password.",
      details: { requiredRoles: required },
    });
  }
}

/**
 * Roles that may read the sign-in and audit logs (`/v1.0/auditLogs/...`), the roles Entra names
 * for reading them. The user administrators are not among them: the logs show every account's
 * activity, administrators' included, which is more than managing users needs.
 */
export const logReaderRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Global Reader',
  'Reports Reader',
  'Security Reader',
  'Security Operator',
  'Security Administrator',
];

/**
 * Roles that may run the troubleshooter (`POST /rekey/v1/diagnose`): those who reset passwords
 * (the help desk, who get the calls) and those who may read the sign-in and audit logs (Global
 * Reader among them), since a report is built from those logs. It shows no password and no bind
 * secret; it does show a connector's address and bind DN, which the connector administrators'
 * read rule keeps to fewer roles, so a report names them only to callers who may read connectors.
 */
export const diagnoseRoles: readonly DirectoryRole[] = [...new Set([...resetCallers, ...logReaderRoles])];

/**
 * Roles that may download a support bundle (`POST /rekey/v1/supportBundles`): it holds the logs and
 * the whole configuration (settings, connectors, domains), so only the roles that may read all of
 * it: the Global Administrator and the Global Reader.
 */
export const supportBundleRoles: readonly DirectoryRole[] = ['Global Administrator', 'Global Reader'];

/**
 * Roles that may start and stop HTTP captures (`/rekey/v1/captures`, and the `Rekey-Capture: on`
 * header on their own requests): a capture records another user's requests and answers, redacted
 * but whole (profiles, errors, addresses), so only the Global Administrator, as for the bundle
 * that carries them.
 */
export const captureAdministrationRoles: readonly DirectoryRole[] = ['Global Administrator'];

/**
 * Roles that may list captures and export their HAR: those who may download a support bundle,
 * which carries the same HAR files.
 */
export const captureReaderRoles: readonly DirectoryRole[] = supportBundleRoles;

/**
 * Roles that may read service health in detail (Graph's admin/serviceAnnouncement: components by
 * connector, incidents with the users affected): the administrators who act on an outage (Global,
 * Helpdesk, Hybrid Identity) and the readers of the logs. The public /status page shows no tenant
 * data and needs no role.
 */
export const serviceHealthReaderRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Global Reader',
  'Helpdesk Administrator',
  'Hybrid Identity Administrator',
  'Reports Reader',
  'Security Reader',
  'Security Operator',
  'Security Administrator',
];

/** Roles that may change the tenant's password policy, Password Protection and smart lockout settings. */
export const passwordPolicyAdministrationRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Authentication Policy Administrator',
];

/** Roles that may read those settings: the directory readers and the policy administrators. */
export const passwordPolicyReaderRoles: readonly DirectoryRole[] = [
  ...directoryReaderRoles,
  'Authentication Policy Administrator',
];

/**
 * Roles that may dry-run a password against the policy (`/rekey/v1/passwordPolicy/evaluate`):
 * the policy administrators and everyone who resets passwords, who needs to explain a refusal.
 */
export const passwordPolicyEvaluationRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Authentication Policy Administrator',
  'Privileged Authentication Administrator',
  'Authentication Administrator',
  'User Administrator',
  'Helpdesk Administrator',
  'Password Administrator',
];
