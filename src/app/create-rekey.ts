import type { FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { directoryAuditRoutes } from '../audit/audit-routes.js';
import { createTokenIssuer, type TokenIssuer } from '../auth/access-token.js';
import { authorizeRoutes } from '../auth/authorize-routes.js';
import { createAuthorizeService } from '../auth/authorize-service.js';
import { type AuthGuard, createAuthGuard } from '../auth/guard.js';
import { logThrottledSignIns, passwordCheckingRoutes } from '../auth/sign-in-limits.js';
import { createSignInService, type SignInService } from '../auth/sign-in-service.js';
import { createKeyRing } from '../auth/signing-keys.js';
import { tokenRoutes } from '../auth/token-routes.js';
import { captureHooks } from '../captures/capture-hooks.js';
import { captureRoutes } from '../captures/capture-routes.js';
import type { CaptureService } from '../captures/capture-service.js';
import { connectorRoutes } from '../connectors/connector-routes.js';
import type { ConnectorService } from '../connectors/connector-service.js';
import type { DirectoryPorts } from '../connectors/directory-ports.js';
import { createSyncScheduler, type SyncScheduler } from '../connectors/sync-scheduler.js';
import { diagnoseRoutes } from '../diagnose/diagnose-routes.js';
import type { DiagnoseService } from '../diagnose/diagnose-service.js';
import type { DiagnoseSelectors } from '../diagnose/diagnose-types.js';
import type { SupportBundle } from '../diagnose/support-bundle.js';
import { createLdapDirectoryPorts } from '../directories/ldap/ldap-connector-ports.js';
import { errorPageRoutes } from '../error-page/error-page-routes.js';
import { eventLogRoutes } from '../event-log/event-log-routes.js';
import { healthRoutes } from '../health/health-routes.js';
import { licenseRoutes } from '../licenses/license-routes.js';
import type { LicenseService } from '../licenses/license-service.js';
import { lockoutRoutes } from '../lockout/lockout-routes.js';
import type { LockoutService } from '../lockout/lockout-service.js';
import type { LogRetention } from '../logs/log-retention.js';
import type { OperationEngine } from '../operations/operation-engine.js';
import { operationRoutes } from '../operations/operation-routes.js';
import { createOperationWorker, type OperationWorker } from '../operations/operation-worker.js';
import type { OnPremisesWriter } from '../passwords/password-operation.js';
import { passwordPolicyRoutes } from '../passwords/password-policy-routes.js';
import type { PasswordPolicyService } from '../passwords/password-policy-service.js';
import { passwordRoutes } from '../passwords/password-routes.js';
import type { PasswordService } from '../passwords/password-service.js';
import type { PolicyEngine } from '../passwords/policy/index.js';
import { type Clock, systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import { assertSecretKeyOpens } from '../platform/crypto/secret-key.js';
import { type Db, migrateToLatest, openDatabase } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { warnAboutLoosePathsAtRest } from '../platform/files-at-rest.js';
import { buildApp, type RekeyApp } from '../platform/http/app.js';
import { rateLimits } from '../platform/http/rate-limit.js';
import { createRateLimitCounter } from '../platform/http/rate-limit-counter.js';
import type { Logger } from '../platform/log.js';
import { reportRoutes } from '../reports/report-routes.js';
import { roleManagementRoutes } from '../roles/role-routes.js';
import type { RoleService } from '../roles/role-service.js';
import { settingsRoutes } from '../settings/settings-routes.js';
import type { SettingsService } from '../settings/settings-service.js';
import { signInLogRoutes } from '../sign-ins/sign-in-routes.js';
import { metricsRoutes } from '../status/metrics-routes.js';
import { createStatusEvaluator, type StatusEvaluator } from '../status/status-evaluator.js';
import { statusRoutes } from '../status/status-routes.js';
import type { StatusService } from '../status/status-service.js';
import { applicationRoutes } from '../tenant/application-routes.js';
import { createApplicationService } from '../tenant/application-service.js';
import { ensureTenant } from '../tenant/bootstrap.js';
import { domainRoutes } from '../tenant/domain-routes.js';
import type { DomainService } from '../tenant/domain-service.js';
import { federationRoutes } from '../tenant/federation-routes.js';
import type { FederationService } from '../tenant/federation-service.js';
import { assertTenantSegment } from '../tenant/tenant-resolver.js';
import type { TenantRecord } from '../tenant/tenant-service.js';
import type { UserService } from '../users/user-service.js';
import { usersRoutes } from '../users/users-routes.js';
import { webRoutes } from '../web/web-routes.js';
import { createServices } from './create-services.js';

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
  readonly domains: DomainService;
  /** The federations of the tenant's domains. */
  readonly federations: FederationService;
  /** The tenant's subscriptions and its users' licences. */
  readonly licenses: LicenseService;
  readonly roles: RoleService;
  /** The directory connectors. */
  readonly connectors: ConnectorService;
  /** The troubleshooter. */
  readonly diagnose: DiagnoseService;
  /** The support bundle of a user, a request or a code. */
  readonly buildSupportBundle: (selectors: DiagnoseSelectors) => Promise<SupportBundle>;
  /** The one engine, with the breached-password set loaded at start. */
  readonly policyEngine: PolicyEngine;
  readonly tokens: TokenIssuer;
  readonly guard: AuthGuard;
  readonly worker: OperationWorker;
  /** Runs each connector's scheduled sync; `serve` starts it where the worker runs. */
  readonly syncScheduler: SyncScheduler;
  /** Purges sign-in and audit rows past retention; `serve` starts it. */
  readonly logRetention: LogRetention;
  /** Service status: components and incidents. */
  readonly status: StatusService;
  /** HTTP exchange captures (HAR) of a user or a correlation ID. */
  readonly captures: CaptureService;
  /** Evaluates the incident rules in the background; `serve` starts it where the worker runs. */
  readonly statusEvaluator: StatusEvaluator;
  /** The administrator's password when this start generated it; print it once. */
  readonly generatedAdminPassword: string | undefined;
  /** True when REKEY_BOOTSTRAP_ADMIN_PASSWORD was set but the tenant already existed: it had no effect. */
  readonly bootstrapAdminPasswordIgnored: boolean;
  close(): Promise<void>;
}

export interface CreateRekeyOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly hasher?: PasswordHasher;
  /** Apply pending migrations first (serve and tests do; production may run `rekey migrate` instead). */
  readonly migrate?: boolean;
  /** The directory write of hybrid users' changes (tests pass one to drive an external step). */
  readonly onPremises?: OnPremisesWriter;
  /**
   * The directory clients behind the connectors' test and sync: the OpenLDAP client unless given
   * (tests pass fakes, or `{}` for none, which answers 7700801).
   */
  readonly directories?: DirectoryPorts;
  /** The built web app (dist/webapp unless given; tests give a missing one to see the error page). */
  readonly webRoot?: string;
  /** Told the SQL of every statement the database runs (tests count what a request costs). */
  readonly onQuery?: ((sql: string, durationMs?: number) => void) | undefined;
  /** Extra feature plugins (registered after the built-in ones). */
  readonly plugins?: ReadonlyArray<(rekey: Omit<Rekey, 'app' | 'close'>) => FastifyPluginAsync>;
}

/** Opens the database, bootstraps the tenant and builds the HTTP app and the worker. */
export async function createRekey(config: Config, options: CreateRekeyOptions): Promise<Rekey> {
  const { logger } = options;
  const db = openDatabase(config.databaseUrl, {
    onQuery: options.onQuery,
    backgroundCheckpoints: true,
    onCheckpointFallback: (reason) =>
      logger.warn(
        { reason },
        "SQLite checkpoints went back to SQLite's own, in the thread that answers requests",
      ),
  });
  try {
    if (options.migrate ?? true) await migrateToLatest(db);
    warnAboutLoosePathsAtRest(logger, config.dataDir, config.databaseUrl);
    let worker: OperationWorker | undefined;
    const services = await createServices({
      config,
      db,
      logger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.hasher ? { hasher: options.hasher } : {}),
      directories: options.directories ?? createLdapDirectoryPorts({ clock: options.clock ?? systemClock }),
      onOperationEnqueued: () => worker?.nudge(),
      ...(options.onPremises ? { onPremises: options.onPremises } : {}),
    });
    const { clock, hasher, secretBox, policyEngine, logRetention, metrics } = services;
    const { tenant, generatedAdminPassword, adminPasswordIgnored } = await ensureTenant(
      db,
      clock,
      {
        tenantName: config.tenantName,
        tenantDomain: config.tenantDomain,
        adminUpn: config.bootstrapAdminUpn,
        adminPassword: config.bootstrapAdminPassword,
      },
      (tenantId) => services.forTenant(tenantId).users,
    );
    const {
      users,
      domains,
      federations,
      licenses,
      roles,
      settings,
      passwordPolicy,
      lockout,
      checkPassword,
      operations,
      passwords,
      connectors,
      diagnose,
      buildSupportBundle,
      status,
      captures,
    } = services.forTenant(tenant.id);
    // Compile the banned-term matcher of the current settings now, not on the first user's change.
    policyEngine.matcherFor((await settings.getPolicySettings()).passwordProtection, config.tenantName);
    const keyRing = createKeyRing(db, secretBox, clock);
    // A wrong secret key must stop the start, not every later sign-in (creates the first key).
    await assertSecretKeyOpens(() => keyRing.signingKey());
    const tokens = createTokenIssuer(keyRing, clock, config.publicUrl, tenant.id);
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
      signInErrorDisclosure: async () => (await settings.getSignIn()).signInErrorDisclosure,
    });
    const rateLimitCounter = createRateLimitCounter(db.kysely, clock);
    const guard = createAuthGuard({
      db,
      tenantId: tenant.id,
      tokens,
      clock,
      refusedActions: {
        counter: rateLimitCounter,
        max: config.rateLimits.refusedAdminActions,
        windowSeconds: config.rateLimits.windowSeconds,
      },
    });
    worker = createOperationWorker(operations, logger.child({ component: 'worker' }), {
      concurrency: config.workerConcurrency,
    });
    const syncScheduler = createSyncScheduler({
      connectors,
      clock,
      logger: logger.child({ component: 'syncScheduler' }),
    });
    // The queue gauges read the database at each scrape (the queue is the same for every tenant).
    metrics.readQueueFrom(() => status.queue());
    const statusEvaluator = createStatusEvaluator(
      status,
      logger.child({ component: 'statusEvaluator' }),
      config.status.evaluateSeconds,
    );
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
      domains,
      federations,
      licenses,
      roles,
      connectors,
      diagnose,
      buildSupportBundle,
      policyEngine,
      tokens,
      guard,
      worker,
      syncScheduler,
      logRetention,
      status,
      statusEvaluator,
      captures,
      generatedAdminPassword,
      bootstrapAdminPasswordIgnored: adminPasswordIgnored,
    };

    const app = await buildApp({
      logger,
      clock,
      publicUrl: config.publicUrl,
      tls: config.tls,
      trustProxy: config.trustProxy,
      metrics,
      plugins: [
        fastifyPlugin(async (instance) => {
          instance.decorateRequest('principal', null);
          // Before the answer leaves, so the caller's next request already sees the count.
          instance.addHook('onSend', async (request, reply, payload) => {
            await guard.countRefusal(request, reply);
            return payload;
          });
        }),
        // Before every route, so that each one records for captures (docs/captures.md).
        captureHooks({ captures, guard, tokens, clock }),
        rateLimits({
          counter: rateLimitCounter,
          settings: config.rateLimits,
          routes: passwordCheckingRoutes,
          onRefused: logThrottledSignIns({ db, tenantId: tenant.id, clock, enabled: config.signInLog }),
        }),
        healthRoutes(db),
        statusRoutes({ guard, status, publicUrl: config.publicUrl }),
        metricsRoutes({ metrics, token: config.metricsToken }),
        errorPageRoutes(),
        tokenRoutes({
          signIns,
          keyRing,
          issuerFor: () => tokens.issuer,
          publicUrl: config.publicUrl,
          assertTenant: (segment) => assertTenantSegment(db, tenant, segment),
        }),
        authorizeRoutes({
          authorize: createAuthorizeService({
            db,
            tenant,
            clock,
            secretBox,
            signIns,
            passwords,
            publicUrl: config.publicUrl,
          }),
          publicUrl: config.publicUrl,
        }),
        applicationRoutes({
          guard,
          applications: createApplicationService({ db, tenantId: tenant.id, clock }),
          publicUrl: config.publicUrl,
        }),
        passwordRoutes({ db, tenant, guard, passwords, publicUrl: config.publicUrl }),
        usersRoutes({ guard, users, passwords, licenses, publicUrl: config.publicUrl }),
        licenseRoutes({ guard, licenses, publicUrl: config.publicUrl }),
        federationRoutes({ guard, federations, publicUrl: config.publicUrl }),
        passwordPolicyRoutes({ guard, passwordPolicy }),
        settingsRoutes({ guard, settings }),
        lockoutRoutes({ guard, lockout }),
        domainRoutes({
          guard,
          domains,
          passwordMaximumAgeDays: async () => (await settings.getPasswordPolicy()).maximumAgeDays,
          publicUrl: config.publicUrl,
        }),
        signInLogRoutes({ db, tenantId: tenant.id, guard, publicUrl: config.publicUrl }),
        directoryAuditRoutes({ db, tenantId: tenant.id, guard, publicUrl: config.publicUrl }),
        eventLogRoutes({ db, tenantId: tenant.id, guard, publicUrl: config.publicUrl }),
        reportRoutes({ db, tenantId: tenant.id, guard, clock }),
        roleManagementRoutes({ guard, roles, publicUrl: config.publicUrl }),
        operationRoutes({
          guard,
          operations,
          // An object id is taken as it is (a deleted user's operations stay listed); a UPN names a live user.
          resolveUserId: async (idOrUpn) => {
            if (!idOrUpn.includes('@')) return idOrUpn;
            try {
              return (await users.getUser(idOrUpn)).id;
            } catch (error) {
              if (error instanceof RekeyError && error.code === Codes.ResourceNotFound) return undefined;
              throw error;
            }
          },
          publicUrl: config.publicUrl,
        }),
        connectorRoutes({ guard, connectors, publicUrl: config.publicUrl }),
        diagnoseRoutes({ guard, clock, diagnose, buildSupportBundle }),
        captureRoutes({ guard, captures, clock, publicUrl: config.publicUrl }),
        webRoutes({
          tls: config.tls !== undefined,
          ...(options.webRoot ? { webRoot: options.webRoot } : {}),
        }),
        ...(options.plugins ?? []).map((plugin) => plugin(parts)),
      ],
    });
    const activeWorker = worker;
    return {
      ...parts,
      app,
      async close() {
        await activeWorker.stop();
        await syncScheduler.stop();
        await statusEvaluator.stop();
        await logRetention.stop();
        await app.close();
        // Exchanges answered before the close are still being written.
        await captures.idle();
        await services.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
