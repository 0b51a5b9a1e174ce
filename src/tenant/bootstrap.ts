import { randomUUID } from 'node:crypto';
import { insertDefaultSubscription } from '../licenses/license-service.js';
import { generatePassword } from '../passwords/generate-password.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { systemContext } from '../platform/request-context.js';
import type { UserService } from '../users/user-service.js';
import { builtinApplications } from './builtin-applications.js';
import {
  findTenant,
  insertApplication,
  insertDomain,
  insertTenant,
  type TenantRecord,
} from './tenant-store.js';

export interface BootstrapSettings {
  readonly tenantName: string;
  readonly tenantDomain: string;
  readonly adminUpn: string;
  readonly adminPassword: string | undefined;
}

export interface BootstrapResult {
  readonly tenant: TenantRecord;
  /** Set only on the very first start, when Rekey generated the administrator's password. */
  readonly generatedAdminPassword: string | undefined;
  /**
   * True when an administrator password was given but the tenant already had its users, so the
   * password was not used: it only ever sets the first administrator's password, on the first start.
   */
  readonly adminPasswordIgnored: boolean;
}

/**
 * Returns the tenant, creating it on first start with its initial (managed) domain, the
 * built-in applications and a Global Administrator. Later starts change nothing, and report an
 * administrator password given to them as ignored, so that the caller can warn about it.
 */
export async function ensureTenant(
  db: Db,
  clock: Clock,
  settings: BootstrapSettings,
  createUsers: (tenantId: string) => UserService,
): Promise<BootstrapResult> {
  const tenant = (await findTenant(db.kysely)) ?? (await createTenant(db, clock, settings));
  const users = createUsers(tenant.id);
  if (await users.hasAnyUser()) {
    return {
      tenant,
      generatedAdminPassword: undefined,
      adminPasswordIgnored: settings.adminPassword !== undefined,
    };
  }

  let password = settings.adminPassword ?? generatePassword(20);
  for (let attempt = 1; ; attempt += 1) {
    try {
      await users.createUser(systemContext(randomUUID()), {
        accountEnabled: true,
        displayName: 'Rekey Administrator',
        mailNickname: settings.adminUpn.split('@')[0] ?? 'admin',
        userPrincipalName: settings.adminUpn,
        password,
        forceChangePasswordNextSignIn: false,
        roles: ['Global Administrator'],
      });
      break;
    } catch (error) {
      // Another process starting at the same moment created the administrator first.
      if (error instanceof RekeyError && error.code === Codes.ObjectConflict)
        return { tenant, generatedAdminPassword: undefined, adminPasswordIgnored: false };
      // A generated password can still be refused: the breached-password filter reports about one
      // random string in a thousand. Draw another rather than fail the first start.
      const refusedByPolicy =
        error instanceof RekeyError &&
        new Set<number>([
          Codes.PasswordChangeInvalidNewPasswordWeak,
          Codes.PasswordChangeInvalidNewPasswordContainsMemberName,
          Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy,
        ]).has(error.code);
      if (settings.adminPassword === undefined && refusedByPolicy && attempt < 5) {
        password = generatePassword(20);
        continue;
      }
      throw error;
    }
  }
  return {
    tenant,
    generatedAdminPassword: settings.adminPassword === undefined ? password : undefined,
    adminPasswordIgnored: false,
  };
}

async function createTenant(db: Db, clock: Clock, settings: BootstrapSettings): Promise<TenantRecord> {
  const now = clock.now().toISOString();
  const tenant: TenantRecord = { id: randomUUID(), displayName: settings.tenantName, createdAt: now };
  try {
    await db.kysely.transaction().execute(async (trx) => {
      await insertTenant(trx, tenant);
      await insertDomain(trx, {
        name: settings.tenantDomain,
        tenant_id: tenant.id,
        authentication_type: 'Managed',
        is_default: 1,
        is_initial: 1,
        is_verified: 1,
        created_at: now,
      });
      for (const app of builtinApplications) {
        await insertApplication(trx, tenant.id, { ...app, isBuiltin: true, createdAt: now });
      }
      // P1, given to every new user: nothing is refused for want of a licence until an operator
      // changes the subscriptions.
      await insertDefaultSubscription(trx, tenant.id, now);
    });
  } catch (error) {
    // A second process bootstrapping the same database lost the race on the domain's key.
    const winner = isWriteConflict(error) ? await findTenant(db.kysely) : undefined;
    if (winner) return winner;
    throw error;
  }
  return tenant;
}
