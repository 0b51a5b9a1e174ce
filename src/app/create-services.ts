import { createPasswordCheck, createStoredHashVerifier, type PasswordCheck } from '../auth/password-check.js';
import { type CaptureService, createCaptureService } from '../captures/capture-service.js';
import { type ConnectorService, createConnectorService } from '../connectors/connector-service.js';
import type { DirectoryPorts } from '../connectors/directory-ports.js';
import { createDiagnoseService, type DiagnoseService } from '../diagnose/diagnose-service.js';
import type { DiagnoseSelectors } from '../diagnose/diagnose-types.js';
import { buildSupportBundle, type SupportBundle } from '../diagnose/support-bundle.js';
import { toEventLogEntry } from '../event-log/event-log-mapper.js';
import { listEventLog } from '../event-log/event-log-service.js';
import { createLicenseService, type LicenseService } from '../licenses/license-service.js';
import { createLockoutService, type LockoutService } from '../lockout/lockout-service.js';
import { createLogRetention, type LogRetention } from '../logs/log-retention.js';
import {
  createOperationEngine,
  type FaultHook,
  type OperationEngine,
} from '../operations/operation-engine.js';
import { loadReloadingBreachedSet } from '../passwords/breached/breached-set.js';
import { createPasswordJobs, type OnPremisesWriter } from '../passwords/password-operation.js';
import {
  createPasswordPolicyService,
  type PasswordPolicyService,
} from '../passwords/password-policy-service.js';
import { createPasswordService, type PasswordService } from '../passwords/password-service.js';
import { createPolicyEngine, type PolicyEngine } from '../passwords/policy/index.js';
import { type Clock, systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import {
  createArgon2Hasher,
  type PasswordHasher,
  withHashTiming,
  withVerificationBound,
} from '../platform/crypto/password-hasher.js';
import { createSecretBox, type SecretBox } from '../platform/crypto/secret-box.js';
import { loadSecretKey } from '../platform/crypto/secret-key.js';
import type { Db } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import { createMetrics, type RekeyMetrics } from '../platform/metrics.js';
import { createRoleService, type RoleService } from '../roles/role-service.js';
import { createSettingsService, type SettingsService } from '../settings/settings-service.js';
import { createStatusService, type StatusService } from '../status/status-service.js';
import { createDomainService, type DomainService } from '../tenant/domain-service.js';
import { createFederationService, type FederationService } from '../tenant/federation-service.js';
import { createUserService, type UserService } from '../users/user-service.js';

/** What every service is built from. */
export interface ServicePorts {
  readonly config: Config;
  /** An open database whose schema is up to date: createServices neither migrates nor checks. */
  readonly db: Db;
  readonly logger: Logger;
  /** The system clock unless given (tests freeze or move time). */
  readonly clock?: Clock;
  /** argon2id with the configured parameters unless given. */
  readonly hasher?: PasswordHasher;
  /**
   * Told when a password operation is enqueued, so that a worker in this process picks it up at
   * once instead of at its next poll. The server passes its worker's nudge; the CLI, which
   * completes each operation before the command returns, passes nothing.
   */
  readonly onOperationEnqueued?: () => void;
  /** The directory write of hybrid users' changes (the password operation's external step). */
  readonly onPremises?: OnPremisesWriter | undefined;
  /** The directory clients (connection test, sync); without them those answer 7700801. */
  readonly directories?: DirectoryPorts;
  /** Test-only fault points of the job engine (`rekey worker` with REKEY_FAULTS); none normally. */
  readonly faults?: FaultHook | undefined;
  /** The process's metrics registry; a new one unless given. */
  readonly metrics?: RekeyMetrics;
}

/** The services of one tenant: what the API, the CLI and a worker act on the directory through. */
export interface TenantServices {
  readonly users: UserService;
  readonly domains: DomainService;
  /** The federations of the tenant's domains. */
  readonly federations: FederationService;
  /** The tenant's subscriptions and its users' licences. */
  readonly licenses: LicenseService;
  readonly roles: RoleService;
  /** The tenant's settings documents; a change recompiles the banned-term matcher at once. */
  readonly settings: SettingsService;
  /** The policy engine applied to the directory's users (checks, dry run, expiry). */
  readonly passwordPolicy: PasswordPolicyService;
  /** Smart lockout: failure counters, locks, admin unlock. */
  readonly lockout: LockoutService;
  /** The one password check: smart lockout in front of the credential verifier. */
  readonly checkPassword: PasswordCheck;
  /** The job engine: runs password operations, retries them, ends them. */
  readonly operations: OperationEngine;
  /** Password changes and resets, run as operations. */
  readonly passwords: PasswordService;
  /** The directory connectors: settings, connection test and sync. */
  readonly connectors: ConnectorService;
  /** The troubleshooter: the evidence of a user, a request or a code, judged in the seed's order. */
  readonly diagnose: DiagnoseService;
  /** The support bundle of a user, a request or a code: one archive without a secret. */
  readonly buildSupportBundle: (selectors: DiagnoseSelectors) => Promise<SupportBundle>;
  /** Service status: components, incidents, and the incident rules the background work evaluates. */
  readonly status: StatusService;
  /** HTTP exchange captures (HAR) of a user or a correlation ID. */
  readonly captures: CaptureService;
}

/** Every service of a Rekey process, built once; entry points add their own edges on top. */
export interface Services {
  readonly clock: Clock;
  readonly hasher: PasswordHasher;
  /** Seals secrets at rest (the new password of a pending operation, signing keys). */
  readonly secretBox: SecretBox;
  /** The one policy engine, with the breached-password set loaded when the services were built. */
  readonly policyEngine: PolicyEngine;
  /** Purges sign-in and audit rows past retention, for every tenant; `serve` starts it. */
  readonly logRetention: LogRetention;
  /** The process's Prometheus metrics (GET /metrics). */
  readonly metrics: RekeyMetrics;
  /**
   * The services of `tenantId`, built on the first call and the same objects on every later one
   * (the settings service and the compiled matchers it keeps are per tenant and per process).
   */
  forTenant(tenantId: string): TenantServices;
  /**
   * Writes what the services still hold in memory (the queued connector trace of pass-through
   * binds) and releases what they hold open (the imported breached index's file).
   */
  close(): Promise<void>;
}

/**
 * Builds every service from the configuration, the database and the process's clock, hasher and
 * logger: the one composition root behind `createRekey` (the server), `openDirectory` (the CLI)
 * and a worker process. It reads the secret key and the breached-password set from the data
 * directory; it neither migrates nor creates a tenant.
 */
export async function createServices(ports: ServicePorts): Promise<Services> {
  const { config, db, logger } = ports;
  const clock = ports.clock ?? systemClock;
  const metrics = ports.metrics ?? createMetrics();
  // Bounded whatever the hasher: a flood of sign-ins is shed (7700702) instead of queued. Timed
  // inside the bound, so a shed verification is not counted as a hash.
  const timedHasher = withHashTiming(ports.hasher ?? createArgon2Hasher(config.argon2), metrics.observeHash);
  const hasher = withVerificationBound(timedHasher, {
    maxPending: config.hashQueueMax,
    retryAfterSeconds: 1,
  });
  const secretKey = loadSecretKey(config.secretKey, config.dataDir);
  const secretBox = createSecretBox(secretKey);
  // Built once per process: the breached set is read from disk here (and reloaded when
  // `rekey breached import` replaces it), and the engine keeps the compiled banned-term matcher
  // of each settings version.
  const breached = await loadReloadingBreachedSet({
    dataDir: config.dataDir,
    logger: logger.child({ component: 'breachedSet' }),
  });
  const policyEngine = createPolicyEngine({ hasher, breached });
  const logRetention = createLogRetention({
    db,
    clock,
    logger: logger.child({ component: 'logRetention' }),
    retentionDays: config.logRetentionDays,
  });

  const tenants = new Map<string, TenantServices>();
  function build(tenantId: string): TenantServices {
    const settings = createSettingsService({
      db,
      tenantId,
      clock,
      // Compiles the matcher on the administrator's change, not on the next user's password.
      onChanged: (changed) => policyEngine.matcherFor(changed.passwordProtection, config.tenantName),
    });
    const passwordPolicy = createPasswordPolicyService({
      db,
      tenantId,
      tenantName: config.tenantName,
      engine: policyEngine,
      hasher,
      settings,
      clock,
      logger: logger.child({ component: 'passwordPolicy' }),
    });
    const users = createUserService({ db, tenantId, hasher, clock, passwordPolicy });
    const lockout = createLockoutService({
      db,
      tenantId,
      clock,
      settings,
      secretKey,
      logger: logger.child({ component: 'lockout' }),
    });
    const connectors = createConnectorService({
      db,
      tenantId,
      clock,
      secretBox,
      logger: logger.child({ component: 'connectors' }),
      ...(ports.directories?.probe ? { probe: ports.directories.probe } : {}),
      ...(ports.directories?.syncFor ? { sync: ports.directories.syncFor({ tenantId, users }) } : {}),
    });
    // What the directory clients need of this tenant's connectors.
    const writebackTenant = {
      tenantId,
      openConnector: async (connectorId: string) => {
        try {
          return await connectors.openConnectorConfig(connectorId);
        } catch (error) {
          if (error instanceof RekeyError && error.code === Codes.ResourceNotFound) return undefined;
          throw error;
        }
      },
      recordTrace: async (records: Parameters<typeof connectors.recordTrace>[0]) => {
        observeConnectorCalls(records);
        await connectors.recordTrace(records);
      },
    };
    // Pass-through binds change nothing in the directory: their trace is written in batches.
    const passThroughTenant = {
      ...writebackTenant,
      recordTrace: (records: Parameters<typeof connectors.recordTrace>[0]) => {
        observeConnectorCalls(records);
        return connectors.queueCheckTrace(records);
      },
    };
    function observeConnectorCalls(records: Parameters<typeof connectors.recordTrace>[0]): void {
      for (const record of records) {
        const result =
          record.resultCode === undefined ? 'unreachable' : record.resultCode === 0 ? 'success' : 'ldapError';
        metrics.observeConnectorCall(
          record.connectorId ?? 'unnamed',
          record.operation,
          result,
          record.latencyMs / 1000,
        );
      }
    }
    // The directory write of synced users (writeback): a test's writer, or the directory client's.
    const onPremises = ports.onPremises ?? ports.directories?.writebackFor?.(writebackTenant);
    const onEnqueued = ports.onOperationEnqueued;
    const operations = createOperationEngine({
      db,
      tenantId,
      clock,
      random: Math.random,
      secretBox,
      logger: logger.child({ component: 'operations' }),
      settings: config.operations,
      jobs: createPasswordJobs({ tenantId, hasher, onPremises }),
      onAccepted: onEnqueued ? () => onEnqueued() : undefined,
      faults: ports.faults,
      onMoved: metrics.operationMoved,
    });
    const checkPassword = createPasswordCheck({
      verifier: createStoredHashVerifier(hasher),
      lockout,
      passThrough: ports.directories?.passThroughFor?.(passThroughTenant),
    });
    const passwords = createPasswordService({
      db,
      tenantId,
      clock,
      operations,
      checkPassword,
      passwordPolicy,
      onPremises,
      signInErrorDisclosure: async () => (await settings.getSignIn()).signInErrorDisclosure,
    });
    const domains = createDomainService({ db, tenantId, clock });
    const status = createStatusService({
      db,
      tenantId,
      clock,
      logger: logger.child({ component: 'status' }),
      settings: config.status,
      listConnectors: async () =>
        (await connectors.list()).map((record) => ({
          id: record.id,
          displayName: record.settings.displayName,
        })),
    });
    const diagnose = createDiagnoseService({
      db,
      tenantId,
      clock,
      lockout,
      settings,
      domains,
      connectors,
      canProbe: ports.directories?.probe !== undefined,
      serviceStatus: async () => ({
        components: await status.components(),
        incidents: (await status.incidents()).map((incident) => ({
          title: incident.title,
          errorCode: incident.error_code,
          usersAffected: incident.users_affected,
          startAt: incident.start_at,
          isResolved: incident.is_resolved === 1,
        })),
      }),
    });
    const captures = createCaptureService({
      db,
      tenantId,
      clock,
      logger: logger.child({ component: 'captures' }),
      publicUrl: config.publicUrl,
      findUser: async (idOrUpn) => {
        try {
          const user = await users.getUser(idOrUpn);
          return { id: user.id, userPrincipalName: user.user_principal_name };
        } catch (error) {
          if (error instanceof RekeyError && error.code === Codes.ResourceNotFound) return undefined;
          throw error;
        }
      },
    });
    return {
      users,
      connectors,
      status,
      captures,
      federations: createFederationService({ db, tenantId, clock }),
      licenses: createLicenseService({ db, tenantId, clock, getUser: users.getUser }),
      diagnose,
      buildSupportBundle: (selectors) =>
        buildSupportBundle(
          {
            db,
            clock,
            diagnose,
            settings,
            connectors,
            domains,
            harsOf: captures.harsFor,
            connectorCallsOf: connectors.correlationTrace,
            eventsOf: async (correlationIds) => {
              const entries = [];
              for (const correlationId of correlationIds) {
                const page = await listEventLog(db.kysely, tenantId, { correlationId }, { top: 200 });
                entries.push(...page.events.map(toEventLogEntry));
              }
              return entries.sort((a, b) => a.createdDateTime.localeCompare(b.createdDateTime));
            },
          },
          selectors,
        ),
      domains,
      roles: createRoleService({ db, tenantId, clock, users }),
      settings,
      passwordPolicy,
      lockout,
      checkPassword,
      operations,
      passwords,
    };
  }

  return {
    clock,
    hasher,
    secretBox,
    policyEngine,
    logRetention,
    metrics,
    async close() {
      await Promise.all([...tenants.values()].map((services) => services.connectors.flushTrace()));
      breached.close();
    },
    forTenant(tenantId) {
      let services = tenants.get(tenantId);
      if (!services) {
        services = build(tenantId);
        tenants.set(tenantId, services);
      }
      return services;
    },
  };
}
