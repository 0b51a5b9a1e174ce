import { createPasswordCheck, createStoredHashVerifier } from '../auth/password-check.js';
import { createLockoutService, type LockoutService } from '../lockout/lockout-service.js';
import { createOperationEngine } from '../operations/operation-engine.js';
import { loadBreachedSet } from '../passwords/breached/breached-set.js';
import { createPasswordJobs } from '../passwords/password-operation.js';
import {
  createPasswordPolicyService,
  type PasswordPolicyService,
} from '../passwords/password-policy-service.js';
import { createPasswordService, type PasswordService } from '../passwords/password-service.js';
import { createPolicyEngine } from '../passwords/policy/index.js';
import { type Clock, systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { createArgon2Hasher, type PasswordHasher } from '../platform/crypto/password-hasher.js';
import { createSecretBox } from '../platform/crypto/secret-box.js';
import { loadSecretKey } from '../platform/crypto/secret-key.js';
import { type Db, isDatabaseReady, openDatabase } from '../platform/db/database.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import { createSettingsService, type SettingsService } from '../settings/settings-service.js';
import { createDomainService, type DomainService } from '../tenant/domain-service.js';
import { findTenant, type TenantRecord } from '../tenant/tenant-store.js';
import { createUserService, type UserService } from '../users/user-service.js';

/** The directory's services over the configured database, without HTTP, tokens or a worker. */
export interface Directory {
  readonly config: Config;
  readonly db: Db;
  readonly tenant: TenantRecord;
  readonly users: UserService;
  readonly domains: DomainService;
  readonly passwords: PasswordService;
  readonly settings: SettingsService;
  readonly passwordPolicy: PasswordPolicyService;
  readonly lockout: LockoutService;
  close(): Promise<void>;
}

/**
 * Opens the directory for commands that act on it directly (the `rekey users` CLI), through the
 * same services the API uses. It neither migrates nor bootstraps: a database that `rekey serve`
 * (or `rekey migrate` and a first start) has not prepared is refused with 7700202, so that a
 * command typed against the wrong database cannot create a tenant and an administrator nobody
 * has seen the password of.
 */
export async function openDirectory(
  config: Config,
  options: { readonly logger: Logger; readonly clock?: Clock; readonly hasher?: PasswordHasher },
): Promise<Directory> {
  const clock = options.clock ?? systemClock;
  const db = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    if (!(await isDatabaseReady(db))) {
      throw new RekeyError(7700202, {
        message: 'The database is unreachable or its schema is not up to date; run `rekey migrate`.',
      });
    }
    const tenant = await findTenant(db.kysely);
    if (!tenant) {
      throw new RekeyError(7700202, {
        message: 'The database holds no tenant yet; start Rekey once with `rekey serve` to create it.',
      });
    }
    const hasher = options.hasher ?? createArgon2Hasher(config.argon2);
    const secretKey = loadSecretKey(config.secretKey, config.dataDir);
    const secretBox = createSecretBox(secretKey);
    const settings = createSettingsService({ db, tenantId: tenant.id, clock });
    const passwordPolicy = createPasswordPolicyService({
      db,
      tenantId: tenant.id,
      tenantName: config.tenantName,
      engine: createPolicyEngine({ hasher, breached: await loadBreachedSet({ dataDir: config.dataDir }) }),
      settings,
      clock,
      logger: options.logger.child({ component: 'passwordPolicy' }),
    });
    const users = createUserService({ db, tenantId: tenant.id, hasher, clock, passwordPolicy });
    const lockout = createLockoutService({
      db,
      tenantId: tenant.id,
      clock,
      settings,
      secretKey,
      logger: options.logger.child({ component: 'lockout' }),
    });
    const domains = createDomainService({ db, tenantId: tenant.id, clock });
    // No worker here: the CLI completes each password operation before the command returns.
    const passwords = createPasswordService({
      db,
      tenantId: tenant.id,
      clock,
      operations: createOperationEngine({
        db,
        tenantId: tenant.id,
        clock,
        random: Math.random,
        secretBox,
        logger: options.logger.child({ component: 'operations' }),
        settings: config.operations,
        jobs: createPasswordJobs({ db, tenantId: tenant.id, hasher }),
      }),
      checkPassword: createPasswordCheck({ verifier: createStoredHashVerifier(hasher), lockout }),
      passwordPolicy,
    });
    return {
      config,
      db,
      tenant,
      users,
      domains,
      passwords,
      settings,
      passwordPolicy,
      lockout,
      close: () => db.close(),
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
