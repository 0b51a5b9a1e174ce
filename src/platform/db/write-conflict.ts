import type { DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

/*
 * A write that lost to another one, said the same way on SQLite and PostgreSQL. The drivers
 * report it with their own codes (PostgreSQL SQLSTATE 23505, 40001, 40P01; better-sqlite3's
 * SQLITE_CONSTRAINT_UNIQUE, SQLITE_BUSY_SNAPSHOT); `withWriteConflicts` turns each into one
 * `WriteConflictError`, so services decide what a lost race means ("409, it exists already",
 * "read again and retry") without knowing which database they run on.
 */

/**
 * Why the write lost:
 * - `uniqueViolation`: another row already holds the key (a primary key or a unique index);
 * - `serializationFailure`: another transaction changed what this one read (PostgreSQL 40001,
 *   SQLite's stale WAL snapshot); the transaction may succeed if run again;
 * - `deadlock`: two transactions waited on each other and the database ended this one (40P01).
 */
export type WriteConflictReason = 'uniqueViolation' | 'serializationFailure' | 'deadlock';

/**
 * The one error the database layer throws for a write that lost a race. Never shown to a caller:
 * a service catches it and answers with a catalog code, or lets it reach the root handler (a 500
 * whose cause goes to the log only). The driver's error is the `cause`.
 */
export class WriteConflictError extends Error {
  readonly reason: WriteConflictReason;
  /** The unique constraint or index that refused the row, when the driver names it. */
  readonly constraint: string | undefined;

  constructor(
    reason: WriteConflictReason,
    options: { readonly cause: unknown; readonly constraint?: string },
  ) {
    super(`write conflict: ${reason}${options.constraint ? ` on ${options.constraint}` : ''}`, {
      cause: options.cause,
    });
    this.name = 'WriteConflictError';
    this.reason = reason;
    this.constraint = options.constraint;
  }
}

/** True for a write that lost a race; with `reason`, only for that kind of loss. */
export function isWriteConflict(error: unknown, reason?: WriteConflictReason): error is WriteConflictError {
  return error instanceof WriteConflictError && (reason === undefined || error.reason === reason);
}

function property(error: object, name: string): string | undefined {
  const value = (error as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** The write conflict a driver error stands for, or undefined when it is something else. */
export function toWriteConflict(error: unknown): WriteConflictError | undefined {
  if (typeof error !== 'object' || error === null || error instanceof WriteConflictError) return undefined;
  const code = property(error, 'code');
  switch (code) {
    // PostgreSQL (node-postgres DatabaseError: SQLSTATE in `code`, the constraint's name beside it).
    case '23505':
      return new WriteConflictError('uniqueViolation', withConstraint(error, property(error, 'constraint')));
    case '40001':
      return new WriteConflictError('serializationFailure', { cause: error });
    case '40P01':
      return new WriteConflictError('deadlock', { cause: error });
    // SQLite (better-sqlite3 SqliteError: the extended result code's name in `code`).
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return new WriteConflictError('uniqueViolation', withConstraint(error, sqliteConstraint(error)));
    // A transaction that read, then tried to write after another connection committed: its
    // snapshot is stale and SQLite refuses at once (no busy wait helps), as PostgreSQL does with 40001.
    case 'SQLITE_BUSY_SNAPSHOT':
      return new WriteConflictError('serializationFailure', { cause: error });
    default:
      return undefined;
  }
}

function withConstraint(cause: unknown, constraint: string | undefined) {
  return constraint === undefined ? { cause } : { cause, constraint };
}

/** SQLite names the columns, not the index: "UNIQUE constraint failed: users.tenant_id, users.upn_key". */
function sqliteConstraint(error: object): string | undefined {
  const message = property(error, 'message');
  const columns = message?.match(/constraint failed: (.+)$/)?.[1];
  return columns?.trim();
}

async function translated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toWriteConflict(error) ?? error;
  }
}

/** A connection whose errors are translated; the driver's own connection stays inside. */
class TranslatingConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}

  executeQuery<R>(compiledQuery: Parameters<DatabaseConnection['executeQuery']>[0]): Promise<QueryResult<R>> {
    return translated(() => this.inner.executeQuery<R>(compiledQuery));
  }

  async *streamQuery<R>(
    compiledQuery: Parameters<DatabaseConnection['streamQuery']>[0],
    chunkSize?: number,
  ): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(compiledQuery, chunkSize);
    } catch (error) {
      throw toWriteConflict(error) ?? error;
    }
  }
}

function innerOf(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TranslatingConnection ? connection.inner : connection;
}

/**
 * Wraps a driver so every statement, and every COMMIT (where PostgreSQL may report a
 * serialization failure), throws `WriteConflictError` for a lost race. The driver gets its own
 * connection objects back, since it may rely on their private state.
 */
function translatingDriver(driver: Driver): Driver {
  const wrapped: Driver = {
    init: () => driver.init(),
    acquireConnection: async () => new TranslatingConnection(await driver.acquireConnection()),
    beginTransaction: (connection: DatabaseConnection, settings: TransactionSettings) =>
      translated(() => driver.beginTransaction(innerOf(connection), settings)),
    commitTransaction: (connection: DatabaseConnection) =>
      translated(() => driver.commitTransaction(innerOf(connection))),
    rollbackTransaction: (connection: DatabaseConnection) =>
      translated(() => driver.rollbackTransaction(innerOf(connection))),
    releaseConnection: (connection: DatabaseConnection) => driver.releaseConnection(innerOf(connection)),
    destroy: () => driver.destroy(),
  };
  const { savepoint, rollbackToSavepoint, releaseSavepoint } = driver;
  return {
    ...wrapped,
    ...(savepoint && {
      savepoint: (connection, name, compile) =>
        translated(() => savepoint.call(driver, innerOf(connection), name, compile)),
    }),
    ...(rollbackToSavepoint && {
      rollbackToSavepoint: (connection, name, compile) =>
        translated(() => rollbackToSavepoint.call(driver, innerOf(connection), name, compile)),
    }),
    ...(releaseSavepoint && {
      releaseSavepoint: (connection, name, compile) =>
        translated(() => releaseSavepoint.call(driver, innerOf(connection), name, compile)),
    }),
  };
}

/** `dialect`, with its driver's write-conflict errors translated into `WriteConflictError`. */
export function withWriteConflicts(dialect: Dialect): Dialect {
  return {
    createDriver: () => translatingDriver(dialect.createDriver()),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
