import type { Db } from '../platform/db/database.js';
import type { UserRow } from '../platform/db/schema.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { type DirectoryRole, hasAnyRole, parseRoles, privilegedPasswordResetRoles } from '../users/roles.js';
import { findUserById, findUserByUpn } from '../users/user-store.js';

/**
 * The user an administrator may reset (or unlock), or a 403/404. A context without an actor is the
 * operator at the CLI, who holds the database and may reset anyone. `onRefused` hears the refusals
 * that concern a known target (their own account, a role holder beyond the actor's roles) before
 * they are thrown, so the caller can audit them.
 */
export async function findResetTarget(
  db: Db,
  tenantId: string,
  context: RequestContext,
  targetId: string,
  allowedRoles: readonly DirectoryRole[],
  onRefused?: (target: UserRow, error: RekeyError) => Promise<void>,
): Promise<UserRow> {
  const actor = context.actor;
  if (actor && !hasAnyRole(actor.roles, allowedRoles)) {
    throw new RekeyError(7700103, { details: { requiredRoles: allowedRoles } });
  }
  const target = targetId.includes('@')
    ? await findUserByUpn(db.kysely, tenantId, targetId)
    : await findUserById(db.kysely, tenantId, targetId);
  if (!target) throw new RekeyError(7700008, { details: { id: targetId } });
  const refuse = async (error: RekeyError): Promise<never> => {
    await onRefused?.(target, error);
    throw error;
  };
  if (actor) {
    if (target.id === actor.userId) return refuse(new RekeyError(7700104));
    const refusal = privilegedTargetRefusal(actor.roles, target);
    if (refusal) return refuse(refusal);
  }
  return target;
}

/**
 * The refusal when someone holding `roles` resets (or unlocks) `target`, a user who holds a
 * directory role, without a privileged role; undefined when allowed. Resetting an administrator's
 * password is taking over their account: only the privileged roles may, as in Entra.
 */
export function privilegedTargetRefusal(
  roles: readonly string[],
  target: UserRow,
  message = 'Only a Global Administrator or Privileged Authentication Administrator can reset the password of a user who holds a directory role.',
): RekeyError | undefined {
  const targetRoles = parseRoles(target.roles);
  if (targetRoles.length === 0 || hasAnyRole(roles, privilegedPasswordResetRoles)) return undefined;
  return new RekeyError(7700103, {
    message,
    details: { requiredRoles: privilegedPasswordResetRoles, targetRoles },
  });
}
