import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

/** Every setting Rekey reads, validated once at start and frozen. No other module reads process.env. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** `sqlite:<file>` for the embedded default, or a `postgres://` URL. */
  readonly databaseUrl: string;
  readonly tenantDomain: string;
  readonly tenantName: string;
  readonly bootstrapAdminUpn: string;
  /** Undefined means: generate one at first start and print it once. */
  readonly bootstrapAdminPassword: string | undefined;
  /** Base64 of 32 bytes; undefined means: use (or create) `<dataDir>/secret.key`. */
  readonly secretKey: string | undefined;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** The URL clients reach Rekey at, used as the token issuer; derived from host and port if unset. */
  readonly publicUrl: string;
  /**
   * True when `REKEY_PUBLIC_URL` is unset and `publicUrl` was derived from the scheme, host and
   * port: then it follows the port actually bound (see withBoundPort).
   */
  readonly publicUrlIsDerived: boolean;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly argon2: { readonly memoryKib: number; readonly iterations: number; readonly parallelism: number };
  readonly accessTokenLifetimeSeconds: number;
  readonly refreshTokenLifetimeSeconds: number;
  /** Whether `serve` also runs the operation worker in the same process. */
  readonly runWorker: boolean;
  /** The job engine's timings, in seconds (see docs/configuration.md). */
  readonly operations: {
    readonly leaseSeconds: number;
    readonly deadlineSeconds: number;
    readonly backoffBaseSeconds: number;
    readonly backoffMaxSeconds: number;
    /** How long a change waits for its operation before answering 503 with its location. */
    readonly changeWaitSeconds: number;
  };
  /** How many operations one worker runs at once. */
  readonly workerConcurrency: number;
  /** Sign-in and audit log rows older than this many days are purged in the background. */
  readonly logRetentionDays: number;
  /**
   * Whether sign-in attempts are written to the sign-in log. On by default; off exists only to
   * measure what logging costs (`npm run bench -- logs`), and leaves no record of sign-ins.
   */
  readonly signInLog: boolean;
  /** Request limits shared by every process over the database (see docs/configuration.md). */
  readonly rateLimits: RateLimitSettings;
  /** Password verifications running or queued at once; more are shed with 7700702. */
  readonly hashQueueMax: number;
  /**
   * Which peers' `X-Forwarded-For` Rekey believes when it takes the client's address (for the
   * rate limits, smart lockout and the logs): undefined believes none and takes the socket's
   * address; otherwise the proxies' addresses and CIDR ranges (Fastify's `trustProxy`).
   */
  readonly trustProxy: string | undefined;
  /** Service status: how often incidents are evaluated and when one opens (docs/status.md). */
  readonly status: StatusSettings;
  /**
   * The bearer token `GET /metrics` requires; undefined turns the endpoint off (404), so that
   * nothing about the process is exposed unless an operator chose to (REKEY_METRICS_TOKEN).
   */
  readonly metricsToken: string | undefined;
  /**
   * For tests only (`REKEY_FAULTS`): the point of a password operation at which a `rekey worker`
   * kills itself with SIGKILL, to prove that no point loses or repeats a change. Undefined in
   * every normal run.
   */
  readonly faults: FaultSetting | undefined;
}

/** The incident rules' settings (REKEY_STATUS_*, REKEY_INCIDENT_*). */
export interface StatusSettings {
  /** Seconds between two evaluations of the incident rules (by one process at a time). */
  readonly evaluateSeconds: number;
  /** The window, in seconds, over which each rule counts its codes. */
  readonly windowSeconds: number;
  /** Users hit by 120013/80001/80002 in the window that open "on-premises directory unreachable". */
  readonly unreachableUsers: number;
  /** Users whose operations terminated (120008) in the window that open "password changes failing". */
  readonly terminatedUsers: number;
  /** Seconds the oldest due operation may wait before the worker queue counts as degraded. */
  readonly queueLagSeconds: number;
}

/** The steps of a password operation a fault point can name (`before:<step>` or `after:<step>`). */
export const faultSteps = ['validate', 'writeOnPremises', 'commitCloud', 'revokeSessions'] as const;

/** A test-only fault: `crash` (SIGKILL of the worker process) at `point`, such as `after:writeOnPremises`. */
export interface FaultSetting {
  readonly action: 'crash';
  readonly point: `${'before' | 'after'}:${(typeof faultSteps)[number]}`;
}

/** The limits of the token and password-change endpoints; 0 turns one off. */
export interface RateLimitSettings {
  /** The length of one counting window, in seconds. */
  readonly windowSeconds: number;
  /** Requests from one client address per window. */
  readonly perIp: number;
  /** Attempts for one user name per window. */
  readonly perUser: number;
  /** Audited refusals of one administrator per window; beyond, 429 and no further rows. */
  readonly refusedAdminActions: number;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Rekey cannot start; fix these settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const domainPattern = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * Reads and validates the configuration from `env`. Collects every problem before failing, so an
 * operator fixes them all in one go instead of one per restart.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    // Decimal digits only: Number() would also take `0x50` or `1e3`, which nobody means for a port.
    const value = /^-?[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${raw} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    problems.push(`${name}=${raw} must be true or false`);
    return fallback;
  };

  const port = integer('REKEY_PORT', 8080, 0, 65535);
  const host = read('REKEY_HOST') ?? '127.0.0.1';
  const dataDir = path.resolve(read('REKEY_DATA_DIR') ?? './data');

  const databaseUrl = read('REKEY_DATABASE_URL') ?? `sqlite:${path.join(dataDir, 'rekey.sqlite')}`;
  // `sqlite:` with no file would open an anonymous temporary database and lose everything at exit.
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)/.test(databaseUrl)) {
    problems.push('REKEY_DATABASE_URL must start with postgres:// or postgresql:// (or sqlite:<file>)');
  }

  const tenantDomain = (read('REKEY_TENANT_DOMAIN') ?? 'example.com').toLowerCase();
  if (!domainPattern.test(tenantDomain))
    problems.push(`REKEY_TENANT_DOMAIN=${tenantDomain} is not a DNS domain name`);
  const tenantName = read('REKEY_TENANT_NAME') ?? tenantDomain.split('.')[0] ?? tenantDomain;
  if (tenantName.length > 256) problems.push('REKEY_TENANT_NAME must be at most 256 characters');

  const bootstrapAdminUpn = (read('REKEY_BOOTSTRAP_ADMIN_UPN') ?? `admin@${tenantDomain}`).toLowerCase();
  if (!bootstrapAdminUpn.endsWith(`@${tenantDomain}`)) {
    problems.push(`REKEY_BOOTSTRAP_ADMIN_UPN must be in the tenant domain (…@${tenantDomain})`);
  }
  const bootstrapAdminPassword = env['REKEY_BOOTSTRAP_ADMIN_PASSWORD'] || undefined;

  const secretKey = read('REKEY_SECRET_KEY');
  if (secretKey !== undefined && Buffer.from(secretKey, 'base64').length !== 32) {
    problems.push(
      'REKEY_SECRET_KEY must be 32 bytes encoded as base64 (for example: openssl rand -base64 32)',
    );
  }

  const certFile = read('REKEY_TLS_CERT');
  const keyFile = read('REKEY_TLS_KEY');
  let tls: Config['tls'];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push('REKEY_TLS_CERT and REKEY_TLS_KEY must be set together');
  } else if (certFile !== undefined && keyFile !== undefined) {
    for (const [name, file] of [
      ['REKEY_TLS_CERT', certFile],
      ['REKEY_TLS_KEY', keyFile],
    ] as const) {
      if (!existsSync(file)) problems.push(`${name}=${file} does not exist`);
    }
    tls = { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) };
  }

  const publicUrlRaw = read('REKEY_PUBLIC_URL');
  let publicUrl = derivedPublicUrl(tls !== undefined, host, port);
  if (publicUrlRaw !== undefined) {
    try {
      const url = new URL(publicUrlRaw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      publicUrl = url.toString().replace(/\/$/, '');
    } catch {
      problems.push(`REKEY_PUBLIC_URL=${publicUrlRaw} must be an http(s) URL`);
    }
  }

  const logLevelRaw = read('REKEY_LOG_LEVEL') ?? 'info';
  const logLevel = logLevels.find((level) => level === logLevelRaw);
  if (!logLevel) problems.push(`REKEY_LOG_LEVEL=${logLevelRaw} must be one of ${logLevels.join(', ')}`);

  const argon2 = {
    memoryKib: integer('REKEY_ARGON2_MEMORY_KIB', 19456, 1024, 4 * 1024 * 1024),
    iterations: integer('REKEY_ARGON2_ITERATIONS', 2, 1, 100),
    parallelism: integer('REKEY_ARGON2_PARALLELISM', 1, 1, 16),
  };

  const config: Config = {
    port,
    host,
    dataDir,
    databaseUrl,
    tenantDomain,
    tenantName,
    bootstrapAdminUpn,
    bootstrapAdminPassword,
    secretKey,
    tls,
    publicUrl,
    publicUrlIsDerived: publicUrlRaw === undefined,
    logLevel: logLevel ?? 'info',
    argon2,
    accessTokenLifetimeSeconds: integer('REKEY_ACCESS_TOKEN_LIFETIME', 3600, 60, 86400),
    refreshTokenLifetimeSeconds: integer('REKEY_REFRESH_TOKEN_LIFETIME', 14 * 86400, 300, 90 * 86400),
    runWorker: boolean('REKEY_RUN_WORKER', true),
    operations: Object.freeze({
      leaseSeconds: integer('REKEY_OPERATION_LEASE', 30, 5, 3600),
      deadlineSeconds: integer('REKEY_OPERATION_DEADLINE', 5 * 60, 10, 7 * 86400),
      backoffBaseSeconds: integer('REKEY_OPERATION_BACKOFF_BASE', 1, 1, 3600),
      backoffMaxSeconds: integer('REKEY_OPERATION_BACKOFF_MAX', 300, 1, 86400),
      changeWaitSeconds: integer('REKEY_CHANGE_WAIT', 10, 0, 120),
    }),
    workerConcurrency: integer('REKEY_WORKER_CONCURRENCY', 8, 1, 256),
    logRetentionDays: integer('REKEY_LOG_RETENTION_DAYS', 30, 1, 3650),
    signInLog: boolean('REKEY_SIGN_IN_LOG', true),
    rateLimits: Object.freeze({
      windowSeconds: integer('REKEY_RATE_LIMIT_WINDOW', 60, 1, 86400),
      perIp: integer('REKEY_RATE_LIMIT_PER_IP', 300, 0, 1_000_000),
      perUser: integer('REKEY_RATE_LIMIT_PER_USER', 30, 0, 1_000_000),
      refusedAdminActions: integer('REKEY_RATE_LIMIT_REFUSED_ADMIN', 30, 0, 1_000_000),
    }),
    hashQueueMax: integer('REKEY_HASH_QUEUE_MAX', 2 * threadPoolSize(env), 1, 100_000),
    trustProxy: trustProxyOf(read('REKEY_TRUST_PROXY'), problems),
    status: Object.freeze({
      evaluateSeconds: integer('REKEY_STATUS_INTERVAL', 60, 5, 3600),
      windowSeconds: integer('REKEY_INCIDENT_WINDOW', 600, 60, 86400),
      unreachableUsers: integer('REKEY_INCIDENT_UNREACHABLE_USERS', 3, 1, 1_000_000),
      terminatedUsers: integer('REKEY_INCIDENT_TERMINATED_USERS', 10, 1, 1_000_000),
      queueLagSeconds: integer('REKEY_STATUS_QUEUE_LAG', 60, 1, 86400),
    }),
    metricsToken: metricsTokenOf(read('REKEY_METRICS_TOKEN'), problems),
    faults: faultsOf(read('REKEY_FAULTS'), problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** libuv's thread pool size as the entry point sets it (UV_THREADPOOL_SIZE), else its default. */
function threadPoolSize(env: Env): number {
  const raw = Number(env['UV_THREADPOOL_SIZE']);
  return Number.isInteger(raw) && raw > 0 ? raw : Math.max(4, availableParallelism());
}

/** REKEY_TRUST_PROXY: a comma-separated list of proxy addresses and CIDR ranges. */
function trustProxyOf(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined;
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => !/^[0-9a-f.:]+(\/[0-9]{1,3})?$/i.test(entry))) {
    problems.push(
      `REKEY_TRUST_PROXY=${raw} must be a comma-separated list of proxy addresses and CIDR ranges (such as 10.0.0.5,192.168.1.0/24)`,
    );
    return undefined;
  }
  return entries.join(',');
}

/** REKEY_METRICS_TOKEN: at least 16 characters a bearer token may hold, so a guess is hopeless. */
function metricsTokenOf(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[A-Za-z0-9._~+/=-]{16,256}$/.test(raw)) {
    problems.push(
      'REKEY_METRICS_TOKEN must be 16 to 256 characters of letters, digits and ._~+/=- (for example: openssl rand -hex 24)',
    );
    return undefined;
  }
  return raw;
}

/** REKEY_FAULTS (tests only): `crash:before:<step>` or `crash:after:<step>`. */
function faultsOf(raw: string | undefined, problems: string[]): FaultSetting | undefined {
  if (raw === undefined) return undefined;
  const [action, when, step, ...rest] = raw.split(':');
  const known = faultSteps.find((name) => name === step);
  if (action !== 'crash' || (when !== 'before' && when !== 'after') || !known || rest.length > 0) {
    problems.push(
      `REKEY_FAULTS=${raw} must be crash:before:<step> or crash:after:<step>, with <step> one of ${faultSteps.join(', ')} (a setting for tests only; leave it unset otherwise)`,
    );
    return undefined;
  }
  return Object.freeze({ action, point: `${when}:${known}` as const });
}

/** `http(s)://host:port`, with an IPv6 host in brackets. */
export function derivedPublicUrl(isTls: boolean, host: string, port: number): string {
  return `${isTls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The configuration with the port the server will bind (for `REKEY_PORT=0`, the one the system
 * chose): a public URL derived from host and port follows it, so the issuer, `error_uri` and the
 * discovery document name a port clients can reach instead of `:0`. A configured
 * `REKEY_PUBLIC_URL` is kept as given.
 */
export function withBoundPort(config: Config, port: number): Config {
  return Object.freeze({
    ...config,
    port,
    publicUrl: config.publicUrlIsDerived
      ? derivedPublicUrl(config.tls !== undefined, config.host, port)
      : config.publicUrl,
  });
}
