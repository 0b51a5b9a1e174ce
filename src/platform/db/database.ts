import { existsSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  type Dialect,
  Kysely,
  type Kysely as KyselyType,
  type LogEvent,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
  sql,
} from 'kysely';
import pg from 'pg';
import { Codes } from '../errors/catalog.js';
import { RekeyError } from '../errors/rekey-error.js';
import { ensurePrivateDirectory, ensurePrivateFile } from '../files-at-rest.js';
import * as initial from './migrations/0001-initial.js';
import * as tenantSettings from './migrations/0002-tenant-settings.js';
import * as lockoutAndLogs from './migrations/0003-lockout-and-logs.js';
import * as auditTargetOrder from './migrations/0004-audit-target-order.js';
import * as idempotencyFingerprint from './migrations/0005-idempotency-fingerprint.js';
import * as refreshTokenFamilies from './migrations/0006-refresh-token-families.js';
import * as rateLimits from './migrations/0007-rate-limits.js';
import * as operationEventCodes from './migrations/0008-operation-event-codes.js';
import * as connectors from './migrations/0010-connectors.js';
import * as syncedUsers from './migrations/0011-synced-users.js';
import * as connectorOperations from './migrations/0012-connector-operations.js';
import * as domainFederation from './migrations/0014-domain-federation.js';
import * as licenses from './migrations/0015-licenses.js';
import * as connectorHealth from './migrations/0016-connector-health.js';
import * as serviceIncidents from './migrations/0017-service-incidents.js';
import * as eventLog from './migrations/0018-event-log.js';
import * as userLicensesByUser from './migrations/0019-user-licenses-by-user.js';
import * as captures from './migrations/0020-captures.js';
import * as browserSignIn from './migrations/0021-browser-sign-in.js';
import * as diagnoseIndexes from './migrations/0022-diagnose-indexes.js';
import * as passwordChangeIndexes from './migrations/0023-password-change-indexes.js';
import { SqliteRowLocksPlugin } from './row-locks.js';
import type { Database } from './schema.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { withWriteConflicts } from './write-conflict.js';

export type DialectName = 'sqlite' | 'postgres';

/** An open database: the Kysely instance plus the facts the stores need about it. */
export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** Where it is, for messages: `sqlite:<absolute file>` or the PostgreSQL URL without its password. */
  readonly location: string;
  close(): Promise<void>;
}

/**
 * The database URL as a message may show it: a SQLite file made absolute (the working directory
 * is often the surprise), a PostgreSQL URL with its password masked.
 */
export function describeDatabaseUrl(url: string): string {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    return file === ':memory:' ? url : `sqlite:${path.resolve(file)}`;
  }
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the PostgreSQL URL in REKEY_DATABASE_URL (it does not parse as a URL)';
  }
}

/** Why a database could not be used, from the driver's error: its message, which names no secret. */
function reasonOf(error: unknown): string {
  if (error instanceof Error && error.message !== '') return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

/** 7700202 naming the database it tried and the driver's reason. */
export function databaseUnavailable(location: string, reason: string, message?: string): RekeyError {
  return new RekeyError(Codes.DatabaseUnavailable, {
    message: message ?? `Cannot use the database at ${location}: ${reason}.`,
    details: { database: location, reason },
  });
}

/** Every migration, in order. Each receives the dialect so that dialect-specific DDL stays here. */
const migrations: ReadonlyArray<
  readonly [string, (db: KyselyType<unknown>, dialect: DialectName) => Promise<void>]
> = [
  ['0001-initial', initial.up],
  ['0002-tenant-settings', tenantSettings.up],
  ['0003-lockout-and-logs', lockoutAndLogs.up],
  ['0004-audit-target-order', auditTargetOrder.up],
  ['0005-idempotency-fingerprint', idempotencyFingerprint.up],
  ['0006-refresh-token-families', refreshTokenFamilies.up],
  ['0007-rate-limits', rateLimits.up],
  ['0008-operation-event-codes', operationEventCodes.up],
  ['0010-connectors', connectors.up],
  ['0011-synced-users', syncedUsers.up],
  ['0012-connector-operations', connectorOperations.up],
  ['0014-domain-federation', domainFederation.up],
  ['0015-licenses', licenses.up],
  ['0016-connector-health', connectorHealth.up],
  ['0017-service-incidents', serviceIncidents.up],
  ['0018-event-log', eventLog.up],
  ['0019-user-licenses-by-user', userLicensesByUser.up],
  ['0020-captures', captures.up],
  ['0021-browser-sign-in', browserSignIn.up],
  ['0022-diagnose-indexes', diagnoseIndexes.up],
  ['0023-password-change-indexes', passwordChangeIndexes.up],
];

function migrationProvider(dialect: DialectName): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return Object.fromEntries(
        migrations.map(([name, up]) => [name, { up: (db: KyselyType<unknown>) => up(db, dialect) }]),
      );
    },
  };
}

// PostgreSQL returns int8 (COUNT(*), bigserial) as strings; every count Rekey reads fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

/**
 * better-sqlite3 with its prepared statements kept for reuse. Kysely prepares every query anew,
 * and preparing a statement costs about as much as running a small one; the SQL Rekey runs is a
 * small fixed set, so a bounded LRU of statements keyed by their text removes that cost. Reuse is
 * safe because Kysely runs one query at a time on the connection.
 */
export function withStatementCache(sqlite: SQLite.Database, capacity = 256): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement) {
        statements.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (statements.size >= capacity) {
          const oldest = statements.keys().next();
          if (!oldest.done) statements.delete(oldest.value);
        }
      }
      statements.set(text, statement);
      return statement;
    },
    close: () => sqlite.close(),
  };
}

/**
 * `dialect`, telling `onQuery` of each transaction's `begin`, `commit` and `rollback` (Kysely's
 * log tells of the statements, not of these); `dialect` itself when nobody listens.
 */
function observed(
  dialect: Dialect,
  onQuery: ((sql: string, durationMs?: number) => void) | undefined,
): Dialect {
  if (!onQuery) return dialect;
  return {
    createDriver: () => {
      const driver = dialect.createDriver();
      const told =
        <A extends unknown[], R>(word: string, run: (...args: A) => R) =>
        (...args: A): R => {
          onQuery(word);
          return run(...args);
        };
      // Every method bound to the driver itself: drivers keep private state on their instance.
      const { savepoint, rollbackToSavepoint, releaseSavepoint } = driver;
      return {
        init: () => driver.init(),
        acquireConnection: () => driver.acquireConnection(),
        releaseConnection: (connection) => driver.releaseConnection(connection),
        destroy: () => driver.destroy(),
        beginTransaction: told('begin', driver.beginTransaction.bind(driver)),
        commitTransaction: told('commit', driver.commitTransaction.bind(driver)),
        rollbackTransaction: told('rollback', driver.rollbackTransaction.bind(driver)),
        ...(savepoint && { savepoint: savepoint.bind(driver) }),
        ...(rollbackToSavepoint && { rollbackToSavepoint: rollbackToSavepoint.bind(driver) }),
        ...(releaseSavepoint && { releaseSavepoint: releaseSavepoint.bind(driver) }),
      };
    },
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

/**
 * Opens the database named by `url` (`sqlite:<file>`, `sqlite::memory:` or `postgres://...`).
 * Either way, a write that loses a race throws `WriteConflictError` (write-conflict.ts), and a
 * store's `.forUpdate()` locks rows where the database has row locks (row-locks.ts).
 */
export function openDatabase(
  url: string,
  options: {
    readonly poolSize?: number;
    /**
     * Open an existing SQLite file only, never create one (commands that act on a directory:
     * a mistyped path must be reported, not answered with a new empty database).
     */
    readonly mustExist?: boolean;
    /**
     * Told the SQL text of every statement run, transaction control included (`begin`, `commit`):
     * for tests that count what a request costs. Nothing is told when absent.
     */
    readonly onQuery?: ((sql: string, durationMs?: number) => void) | undefined;
    /**
     * For a server: a SQLite file's checkpoints run in a worker thread, off the thread that
     * answers requests (sqlite-checkpointer.ts). Short commands keep SQLite's own.
     */
    readonly backgroundCheckpoints?: boolean;
    /** Told why a server's SQLite connection went back to SQLite's own checkpoints. */
    readonly onCheckpointFallback?: (reason: string) => void;
  } = {},
): Db {
  const location = describeDatabaseUrl(url);
  const onQuery = options.onQuery;
  const log = onQuery
    ? (event: LogEvent) => {
        if (event.level === 'query') onQuery(event.query.sql, event.queryDurationMillis);
      }
    : undefined;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:' && options.mustExist && !existsSync(file)) {
      throw databaseUnavailable(
        location,
        'the file does not exist',
        `There is no database file at ${path.resolve(file)}. Check REKEY_DATABASE_URL (and the directory the command runs in): it must name the database \`rekey serve\` uses. Nothing was created.`,
      );
    }
    let sqlite: SQLite.Database;
    try {
      // Private from the start (0700 directory, 0600 file; the WAL and SHM files take the file's mode).
      if (file !== ':memory:' && !options.mustExist) {
        ensurePrivateDirectory(path.dirname(path.resolve(file)));
        ensurePrivateFile(file);
      }
      sqlite = new SQLite(file, { fileMustExist: options.mustExist === true && file !== ':memory:' });
      // WAL lets readers run beside the one writer; NORMAL sync is durable across process crashes in WAL mode.
      sqlite.pragma('journal_mode = WAL');
    } catch (error) {
      throw databaseUnavailable(location, reasonOf(error));
    }
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // SQLite's own lower() folds ASCII letters only, PostgreSQL's every letter: comparisons that
    // ignore case (lower() on both sides) would then find 'ÉMILE' for 'émile' on one database and
    // not the other. JavaScript's Unicode lower case, as the application lowers upn_key, instead.
    // No index is built on lower(), so replacing it changes no stored order.
    sqlite.function('lower', { deterministic: true }, (value: unknown) =>
      typeof value === 'string' ? value.toLowerCase() : value,
    );
    // Gathers planner statistics for tables that have none or stale ones (cheaply, with a row
    // limit), so the log indexes are chosen well without a separate ANALYZE step.
    sqlite.pragma('optimize = 0x10002');
    const kysely = new Kysely<Database>({
      dialect: observed(
        withWriteConflicts(new SqliteDialect({ database: withStatementCache(sqlite) })),
        onQuery,
      ),
      plugins: [new SqliteRowLocksPlugin()],
      ...(log ? { log } : {}),
    });
    const checkpointer =
      options.backgroundCheckpoints && file !== ':memory:'
        ? startCheckpointer(sqlite, file, { onFallback: options.onCheckpointFallback })
        : undefined;
    return {
      kysely,
      dialect: 'sqlite',
      location,
      close: async () => {
        // The worker's connection first: the last one to close folds the log into the file.
        await checkpointer?.stop();
        await kysely.destroy();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const kysely = new Kysely<Database>({
    dialect: observed(withWriteConflicts(new PostgresDialect({ pool })), onQuery),
    ...(log ? { log } : {}),
  });
  return { kysely, dialect: 'postgres', location, close: () => kysely.destroy() };
}

/** Applies every pending migration; returns the names applied. Throws with the failing step. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const { error, results } = await migratorFor(db).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    // No migration failed: the database could not be reached (or locked) at all.
    if (!failed) {
      throw new RekeyError(Codes.DatabaseUnavailable, {
        cause: error,
        details: { database: db.location, reason: reasonOf(error) },
      });
    }
    throw new Error(`migration ${failed.migrationName} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

function migratorFor(db: Db): Migrator {
  return new Migrator({
    db: db.kysely,
    provider: migrationProvider(db.dialect),
    migrationTableName: 'rekey_migrations',
    migrationLockTableName: 'rekey_migrations_lock',
  });
}

/**
 * Applies the migrations up to and including `name` and no further: for the tests of a
 * migration that changes data, which arrange rows as an older schema held them.
 */
export async function migrateUpTo(db: Db, name: string): Promise<void> {
  const { error } = await migratorFor(db).migrateTo(name);
  if (error) throw new Error(`migrating up to ${name} failed`, { cause: error });
}

/** What a database holds, as far as Rekey's schema goes. */
export type DatabaseState =
  | { readonly state: 'ready' }
  /** It answers, but no migration has ever run: a new database, or not Rekey's. */
  | { readonly state: 'empty' }
  /** Rekey's schema, older than this version: `rekey migrate` brings it up to date. */
  | { readonly state: 'behind'; readonly pending: readonly string[] }
  | { readonly state: 'unreachable'; readonly reason: string };

/** Reads the state of the database's schema, with the driver's reason when it cannot be reached. */
export async function inspectDatabase(db: Db): Promise<DatabaseState> {
  try {
    const migrator = new Migrator({
      db: db.kysely,
      provider: migrationProvider(db.dialect),
      migrationTableName: 'rekey_migrations',
      migrationLockTableName: 'rekey_migrations_lock',
    });
    const all = await migrator.getMigrations();
    const pending = all.filter((m) => m.executedAt === undefined).map((m) => m.name);
    if (pending.length === 0) return { state: 'ready' };
    return pending.length === all.length ? { state: 'empty' } : { state: 'behind', pending };
  } catch (error) {
    return { state: 'unreachable', reason: reasonOf(error) };
  }
}

/**
 * True when the database answers and every migration has been applied. It reads the migration
 * table with one plain query: Kysely's own check first lists every table's columns from the
 * catalog, which took 10 to 30 ms on PostgreSQL, and readiness is asked by every probe and every
 * status page. A database without the table (empty, or not Rekey's) is not ready.
 */
export async function isDatabaseReady(db: Db): Promise<boolean> {
  try {
    const applied = await sql<{ name: string }>`select name from rekey_migrations`.execute(db.kysely);
    const names = new Set(applied.rows.map((row) => row.name));
    return migrations.every(([name]) => names.has(name));
  } catch {
    return false;
  }
}
