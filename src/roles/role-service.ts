import { auditRefusals as auditRefusalsOf, failureReason } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { UserRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { isRekeyError, RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { assertMayAssignRoles } from '../users/authorization.js';
import { type RoleChange, roleMembershipAuditEntry, type UserService } from '../users/user-service.js';
import {
  type DirectoryRole,
  directoryRoleByName,
  directoryRoleByTemplateId,
  directoryRoles,
  directoryRoleTemplates,
} from './directory-roles.js';
import { decodeAssignmentId, encodeAssignmentId } from './role-assignment-id.js';

/*
 * Graph's unified RBAC for the directory provider: the built-in role definitions Rekey knows and
 * the assignments of those roles to users. Assignments are stored as role names in `users.roles`
 * (the column the route guards read on every request) through the user service; this service
 * adds who may change them, the Graph shapes and the audit of refused attempts.
 */

/** Graph's `unifiedRoleDefinition` of a built-in role (a type, so it passes as a plain record). */
export type RoleDefinition = {
  readonly id: string;
  readonly description: string;
  readonly displayName: DirectoryRole;
  readonly isBuiltIn: true;
  readonly isEnabled: true;
  readonly templateId: string;
  /** Graph's only scope of a role definition: the whole directory. */
  readonly resourceScopes: readonly ['/'];
  /** Rekey does not version its built-in roles. */
  readonly version: null;
  /** Rekey grants by role name, not by Entra's resource actions, so it lists none. */
  readonly rolePermissions: readonly never[];
};

/** Graph's `unifiedRoleAssignment` (tenant-wide assignments only: `directoryScopeId` is '/'). */
export type RoleAssignment = {
  readonly id: string;
  readonly principalId: string;
  readonly roleDefinitionId: string;
  readonly directoryScopeId: '/';
  /** Application scopes and conditions are not assigned by Rekey: always null. */
  readonly appScopeId: null;
  readonly condition: null;
};

export interface NewRoleAssignment {
  readonly principalId: string;
  readonly roleDefinitionId: string;
  readonly directoryScopeId: string;
}

export interface RoleServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly users: Pick<UserService, 'getUser' | 'listRoleHolders' | 'changeDirectoryRole'>;
}

/** The refusals written to the audit log as failures: not allowed, and the last administrator. */
const refusalCodes: ReadonlySet<number> = new Set([
  Codes.InsufficientPrivileges,
  Codes.LastGlobalAdministrator,
]);

/** Graph's definition of one role. */
export function toRoleDefinition(role: DirectoryRole): RoleDefinition {
  const { templateId, description } = directoryRoleTemplates[role];
  return {
    id: templateId,
    description,
    displayName: role,
    isBuiltIn: true,
    isEnabled: true,
    templateId,
    resourceScopes: ['/'],
    version: null,
    rolePermissions: [],
  };
}

/** Graph's assignment of `role` to the user `principalId`. */
export function toRoleAssignment(role: DirectoryRole, principalId: string): RoleAssignment {
  const roleDefinitionId = directoryRoleTemplates[role].templateId;
  return {
    id: encodeAssignmentId({ roleTemplateId: roleDefinitionId, principalId }),
    principalId,
    roleDefinitionId,
    directoryScopeId: '/',
    appScopeId: null,
    condition: null,
  };
}

/**
 * The role called `name`, ignoring case, or a 7700001 that lists every valid name (for the CLI
 * and anything else where people type role names).
 */
export function roleFromName(name: string): DirectoryRole {
  const role = directoryRoleByName(name);
  if (role) return role;
  throw new RekeyError(Codes.RequestValidationFailed, {
    message: `'${name}' is not a directory role Rekey knows. Valid roles: ${directoryRoles.join(', ')}.`,
    details: { role: name, validRoles: directoryRoles },
  });
}

export type RoleService = ReturnType<typeof createRoleService>;

/** Role definitions and assignments of the tenant's directory. */
export function createRoleService(deps: RoleServiceDeps) {
  const { db, tenantId, clock, users } = deps;

  /** Every role Rekey knows, as Graph's role definitions. */
  function listDefinitions(): RoleDefinition[] {
    return directoryRoles.map(toRoleDefinition);
  }

  /** One role definition by id (its template id, any case). */
  function findDefinition(id: string): RoleDefinition | undefined {
    const role = directoryRoleByTemplateId(id);
    return role && toRoleDefinition(role);
  }

  /** Every assignment of the tenant (or of one user), ordered by user and then role. */
  async function listAssignments(options: { readonly userId?: string } = {}): Promise<RoleAssignment[]> {
    const holders = await users.listRoleHolders(options);
    return holders.flatMap((holder) => holder.roles.map((role) => toRoleAssignment(role, holder.userId)));
  }

  /** One assignment by id, or 7700008 when the id names no role a live user holds. */
  async function getAssignment(id: string): Promise<RoleAssignment> {
    const key = decodeAssignmentId(id);
    const role = key && directoryRoleByTemplateId(key.roleTemplateId);
    if (key && role) {
      const [holder] = await users.listRoleHolders({ userId: key.principalId });
      if (holder?.roles.includes(role)) return toRoleAssignment(role, key.principalId);
    }
    throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
  }

  /**
   * The user a refusal is about, for its audit row, or undefined when no live user has that id
   * (nothing was at stake, and any signed-in caller could otherwise write audit rows at will).
   */
  async function memberForAudit(principalId: string): Promise<UserRow | undefined> {
    try {
      return await users.getUser(principalId);
    } catch (error) {
      if (isRekeyError(error) && error.code === Codes.ResourceNotFound) return undefined;
      throw error;
    }
  }

  /**
   * Runs a role change, auditing a refusal by the directory's rules (a caller who may not change
   * roles, the last Global Administrator losing the role) as a failure.
   */
  function auditRefusals<T>(
    context: RequestContext,
    change: RoleChange,
    principalId: string,
    action: () => Promise<T>,
  ): Promise<T> {
    return auditRefusalsOf(
      {
        db: db.kysely,
        tenantId,
        context,
        codes: refusalCodes,
        entry: async (refusal) => {
          const member = await memberForAudit(principalId);
          return (
            member &&
            roleMembershipAuditEntry(change, member, { result: 'failure', reason: failureReason(refusal) })
          );
        },
        now: () => clock.now().toISOString(),
      },
      action,
    );
  }

  async function liveUser(principalId: string): Promise<UserRow> {
    // Graph names principals by object id; the user service would also take a UPN.
    if (principalId.includes('@')) throw new RekeyError(Codes.ResourceNotFound, { details: { principalId } });
    return users.getUser(principalId.toLowerCase());
  }

  /**
   * Assigns a role to a user for the whole directory (Graph's POST roleAssignments). The role is
   * named by its definition id, the user by object id, and the scope must be '/'. Assigning a
   * role the user already holds is a 409 (7700010) whose details name the existing assignment.
   */
  async function assign(context: RequestContext, input: NewRoleAssignment): Promise<RoleAssignment> {
    if (input.directoryScopeId !== '/') {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: "Rekey assigns roles for the whole directory only: directoryScopeId must be '/'.",
        details: { field: 'directoryScopeId', value: input.directoryScopeId, allowed: ['/'] },
      });
    }
    const role = directoryRoleByTemplateId(input.roleDefinitionId);
    if (!role) {
      throw new RekeyError(Codes.ResourceNotFound, {
        message: 'No role definition has this id; GET roleManagement/directory/roleDefinitions lists them.',
        details: { roleDefinitionId: input.roleDefinitionId },
      });
    }
    const change: RoleChange = { action: 'add', role };
    // Object ids are lower case: an upper-case spelling must name the same user in the audit row.
    const principalId = input.principalId.toLowerCase();
    return auditRefusals(context, change, principalId, async () => {
      assertMayAssignRoles(context.actor);
      const user = await liveUser(principalId);
      const assignment = toRoleAssignment(role, user.id);
      const result = await users.changeDirectoryRole(context, user.id, change);
      if (!result.changed) {
        throw new RekeyError(Codes.ObjectConflict, {
          message: `The user already holds the ${role} role.`,
          details: { id: assignment.id, principalId: user.id, roleDefinitionId: assignment.roleDefinitionId },
        });
      }
      return assignment;
    });
  }

  /**
   * Removes an assignment (Graph's DELETE roleAssignments/{id}). Removing Global Administrator
   * from the last enabled one is refused with 7700106; an id that names no current assignment
   * is a 7700008.
   */
  async function remove(context: RequestContext, id: string): Promise<void> {
    const key = decodeAssignmentId(id);
    const role = key && directoryRoleByTemplateId(key.roleTemplateId);
    if (!key || !role) throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
    const change: RoleChange = { action: 'remove', role };
    await auditRefusals(context, change, key.principalId, async () => {
      assertMayAssignRoles(context.actor);
      const user = await liveUser(key.principalId);
      const result = await users.changeDirectoryRole(context, user.id, change);
      if (!result.changed) throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
    });
  }

  return { listDefinitions, findDefinition, listAssignments, getAssignment, assign, remove };
}
