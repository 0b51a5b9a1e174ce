import type { FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { directoryAuditRoutes } from '../audit/audit-routes.js';
import { createTokenIssuer, type TokenIssuer } from '../auth/access-token.js';
import { type AuthGuard, createAuthGuard } from '../auth/guard.js';
import { createPasswordCheck, createStoredHashVerifier } from '../auth/password-check.js';
import { createSignInService, type SignInService } from '../auth/sign-in-service.js';
import { createKeyRing } from '../auth/signing-keys.js';
import { tokenRoutes } from '../auth/token-routes.js';
import { errorPageRoutes } from '../error-page/error-page-routes.js';
import { healthRoutes } from '../health/health-routes.js';
import { lockoutRoutes } from '../lockout/lockout-routes.js';
import { createLockoutService, type LockoutService } from '../lockout/lockout-service.js';
import { createLogRetention, type LogRetention } from '../logs/log-retention.js';
import { createOperationEngine, type OperationEngine } from '../operations/operation-engine.js';
import { createOperationWorker, type OperationWorker } from '../operations/operation-worker.js';
import { loadBreachedSet } from '../passwords/breached/breached-set.js';
import { createPasswordJobs } from '../passwords/password-operation.js';
import { passwordPolicyRoutes } from '../passwords/password-policy-routes.js';
import {
  createPasswordPolicyService,
  type PasswordPolicyService,
} from '../passwords/password-policy-service.js';
import { passwordRoutes } from '../passwords/password-routes.js';
import { createPasswordService, type PasswordService } from '../passwords/password-service.js';
import { createPolicyEngine, type PolicyEngine } from '../passwords/policy/index.js';
import { type Clock, systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { createArgon2Hasher, type PasswordHasher } from '../platform/crypto/password-hasher.js';
import { createSecretBox } from '../platform/crypto/secret-box.js';
import { loadSecretKey } from '../platform/crypto/secret-key.js';
import { type Db, migrateToLatest, openDatabase } from '../platform/db/database.js';
import { buildApp, type RekeyApp } from '../platform/http/app.js';
import type { Logger } from '../platform/log.js';
import { roleManagementRoutes } from '../roles/role-routes.js';
import { createRoleService } from '../roles/role-service.js';
import { settingsRoutes } from '../settings/settings-routes.js';
import { createSettingsService, type SettingsService } from '../settings/settings-service.js';
import { signInLogRoutes } from '../sign-ins/sign-in-routes.js';
import { ensureTenant } from '../tenant/bootstrap.js';
import { domainRoutes } from '../tenant/domain-routes.js';
import { createDomainService } from '../tenant/domain-service.js';
import type { TenantRecord } from '../tenant/tenant-store.js';
import { createUserService, type UserService } from '../users/user-service.js';
import { usersRoutes } from '../users/users-routes.js';

/** Everything one Rekey process runs, wired together. Entry points and tests start from here. */
export interface Rekey {
  readonly config: Config;
  readonly db: Db;
  readonly tenant: TenantRecord;
  readonly app: RekeyApp;
  readonly users: UserService;
  readonly signIns: SignInService;
  /** The job engine: runs password operations, retries them, ends them. */
  readonly operations: OperationEngine;
  /** Password changes and resets. */
  readonly passwords: PasswordService;
  /** Smart lockout: failure counters, locks, admin unlock. */
  readonly lockout: LockoutService;
  /** The tenant's password policy and Password Protection settings. */
  readonly settings: SettingsService;
  /** The policy engine applied to the directory's users (checks, dry run, expiry). */
  readonly passwordPolicy: PasswordPolicyService;
  /** The one engine, with the breached-password set loaded at start. */
  readonly policyEngine: PolicyEngine;
  readonly tokens: TokenIssuer;
  readonly guard: AuthGuard;
  readonly worker: OperationWorker;
  /** Purges sign-in and audit rows past retention; `serve` starts it. */
  readonly logRetention: LogRetention;
  /** The administrator's password when this start generated it; print it once. */
  readonly generatedAdminPassword: string | undefined;
  close(): Promise<void>;
}

export interface CreateRekeyOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly hasher?: PasswordHasher;
  /** Apply pending migrations first (serve and tests do; production may run `rekey migrate` instead). */
  readonly migrate?: boolean;
  /** Extra feature plugins (registered after the built-in ones). */
  readonly plugins?: ReadonlyArray<(rekey: Omit<Rekey, 'app' | 'close'>) => FastifyPluginAsync>;
}

/** Opens the database, bootstraps the tenant and builds the HTTP app and the worker. */
export async function createRekey(config: Config, options: CreateRekeyOptions): Promise<Rekey> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const db = openDatabase(config.databaseUrl);
  try {
    if (options.migrate ?? true) await migrateToLatest(db);
    const secretKey = loadSecretKey(config.secretKey, config.dataDir);
    const secretBox = createSecretBox(secretKey);
    const hasher = options.hasher ?? createArgon2Hasher(config.argon2);
    // Built once per process: the breached set is read from disk here, and the engine keeps the
    // compiled banned-term matcher of each settings version.
    const policyEngine = createPolicyEngine({
      hasher,
      breached: await loadBreachedSet({ dataDir: config.dataDir }),
    });
    const policies = new Map<string, { settings: SettingsService; passwordPolicy: PasswordPolicyService }>();
    const policyFor = (tenantId: string) => {
      let parts = policies.get(tenantId);
      if (!parts) {
        const settings = createSettingsService({
          db,
          tenantId,
          clock,
          onChanged: (changed) => policyEngine.matcherFor(changed.passwordProtection, config.tenantName),
        });
        const passwordPolicy = createPasswordPolicyService({
          db,
          tenantId,
          tenantName: config.tenantName,
          engine: policyEngine,
          settings,
          clock,
          logger: logger.child({ component: 'passwordPolicy' }),
        });
        parts = { settings, passwordPolicy };
        policies.set(tenantId, parts);
      }
      return parts;
    };
    const usersFor = (tenantId: string) =>
      createUserService({ db, tenantId, hasher, clock, passwordPolicy: policyFor(tenantId).passwordPolicy });
    const { tenant, generatedAdminPassword } = await ensureTenant(
      db,
      clock,
      {
        tenantName: config.tenantName,
        tenantDomain: config.tenantDomain,
        adminUpn: config.bootstrapAdminUpn,
        adminPassword: config.bootstrapAdminPassword,
      },
      usersFor,
    );
    const users = usersFor(tenant.id);
    const { settings, passwordPolicy } = policyFor(tenant.id);
    // Compile the banned-term matcher of the current settings now, not on the first user's change.
    policyEngine.matcherFor((await settings.getPolicySettings()).passwordProtection, config.tenantName);
    const keyRing = createKeyRing(db, secretBox, clock);
    const tokens = createTokenIssuer(keyRing, clock, config.publicUrl, tenant.id);
    const lockout = createLockoutService({
      db,
      tenantId: tenant.id,
      clock,
      settings,
      secretKey,
      logger: logger.child({ component: 'lockout' }),
    });
    const checkPassword = createPasswordCheck({ verifier: createStoredHashVerifier(hasher), lockout });
    const signIns = createSignInService({
      db,
      tenant,
      hasher,
      clock,
      tokens,
      accessTokenLifetimeSeconds: config.accessTokenLifetimeSeconds,
      refreshTokenLifetimeSeconds: config.refreshTokenLifetimeSeconds,
      passwordPolicy,
      publicUrl: config.publicUrl,
      signInLog: config.signInLog,
      checkPassword,
      lockout,
    });
    const guard = createAuthGuard({ db, tenantId: tenant.id, tokens });
    let worker: OperationWorker | undefined;
    const operations = createOperationEngine({
      db,
      tenantId: tenant.id,
      clock,
      random: Math.random,
      secretBox,
      logger: logger.child({ component: 'operations' }),
      settings: config.operations,
      jobs: createPasswordJobs({ db, tenantId: tenant.id, hasher }),
      onAccepted: () => worker?.nudge(),
    });
    const passwords = createPasswordService({
      db,
      tenantId: tenant.id,
      clock,
      operations,
      checkPassword,
      passwordPolicy,
    });
    worker = createOperationWorker(operations, logger.child({ component: 'worker' }));
    const logRetention = createLogRetention({
      db,
      clock,
      logger: logger.child({ component: 'logRetention' }),
      retentionDays: config.logRetentionDays,
    });
    const roles = createRoleService({ db, tenantId: tenant.id, clock, users });
    const parts = {
      config,
      db,
      tenant,
      users,
      signIns,
      operations,
      passwords,
      lockout,
      settings,
      passwordPolicy,
      policyEngine,
      tokens,
      guard,
      worker,
      logRetention,
      generatedAdminPassword,
    };

    const app = await buildApp({
      logger,
      clock,
      publicUrl: config.publicUrl,
      tls: config.tls,
      plugins: [
        fastifyPlugin(async (instance) => {
          instance.decorateRequest('principal', null);
        }),
        healthRoutes(db),
        errorPageRoutes(),
        tokenRoutes({ signIns, keyRing, issuerFor: () => tokens.issuer, publicUrl: config.publicUrl }),
        passwordRoutes({ db, tenant, guard, passwords, publicUrl: config.publicUrl }),
        usersRoutes({ guard, users, passwords, publicUrl: config.publicUrl }),
        passwordPolicyRoutes({ guard, passwordPolicy }),
        settingsRoutes({ guard, settings }),
        lockoutRoutes({ guard, lockout }),
        domainRoutes({
          guard,
          domains: createDomainService({ db, tenantId: tenant.id, clock }),
          publicUrl: config.publicUrl,
        }),
        signInLogRoutes({ db, tenantId: tenant.id, guard, publicUrl: config.publicUrl }),
        directoryAuditRoutes({ db, tenantId: tenant.id, guard, publicUrl: config.publicUrl }),
        roleManagementRoutes({ guard, roles, publicUrl: config.publicUrl }),
        ...(options.plugins ?? []).map((plugin) => plugin(parts)),
      ],
    });
    const activeWorker = worker;
    return {
      ...parts,
      app,
      async close() {
        await activeWorker.stop();
        await logRetention.stop();
        await app.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
