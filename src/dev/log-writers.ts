import SQLite from 'better-sqlite3';
import pg from 'pg';
import { auditColumns } from '../audit/audit-store.js';
import type {
  DirectoryAuditRow,
  EventLogTable,
  PasswordOperationsTable,
  SignInRow,
  UsersTable,
} from '../platform/db/schema.js';
import { signInColumns } from '../sign-ins/sign-in-store.js';
import type { GeneratedAudit, GeneratedEvent, GeneratedOperationEvent } from './log-generator.js';

/*
 * Bulk writers for generated log rows: the fastest way each database accepts ten million rows
 * while the product's own indexes stay in place. Dialect-specific SQL for the generator lives
 * here and nowhere else. The column lists are the stores' own (signInColumns, auditColumns), so
 * a column the product adds is a compile error here rather than a silently missing value.
 */

/** Where generated rows go. Batches arrive in time order; call `finish` once at the end. */
export interface LogWriter {
  /**
   * Drops the log tables' secondary indexes, to be rebuilt by `finish`: building an index from
   * sorted rows is many times faster than maintaining it row by row (random GUIDs and user
   * keys would touch a different page per row), and leaves it compact.
   */
  dropIndexes(): Promise<void>;
  /** Adds the users that are not there yet (by id or user name); the rest are left as they are. */
  writeUsers(rows: readonly UsersTable[]): Promise<void>;
  /** Sign-in rows and the event-log entries written with them. */
  writeSignIns(rows: readonly SignInRow[], events: readonly GeneratedEvent[]): Promise<void>;
  /** Audit rows with their targets, event-log entries and operations (with their history). */
  writeAudits(audits: readonly GeneratedAudit[]): Promise<void>;
  /** Commits what is pending, rebuilds any dropped index and refreshes the planner's statistics. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

const targetColumns = ['audit_id', 'target_id', 'tenant_id', 'activity_at'] as const;

/*
 * Every column of the other tables the generator writes, as a record over the table's type: a
 * column the product adds is a compile error here until the generator writes it too.
 */
const userColumnSet: Record<keyof UsersTable, true> = {
  id: true,
  tenant_id: true,
  user_principal_name: true,
  upn_key: true,
  display_name: true,
  given_name: true,
  surname: true,
  mail: true,
  mail_nickname: true,
  job_title: true,
  usage_location: true,
  account_enabled: true,
  password_policies: true,
  force_change_password_next_sign_in: true,
  force_change_password_next_sign_in_with_mfa: true,
  last_password_change_at: true,
  user_type: true,
  roles: true,
  session_version: true,
  sign_in_sessions_valid_from: true,
  on_premises_sync_enabled: true,
  on_premises_immutable_id: true,
  on_premises_distinguished_name: true,
  on_premises_sam_account_name: true,
  on_premises_last_sync_at: true,
  on_premises_connector_id: true,
  created_at: true,
  updated_at: true,
  deleted_at: true,
};
const operationColumnSet: Record<keyof PasswordOperationsTable, true> = {
  id: true,
  tenant_id: true,
  user_id: true,
  kind: true,
  requested_by_user_id: true,
  requested_by_app_id: true,
  correlation_id: true,
  idempotency_key: true,
  idempotency_fingerprint: true,
  state: true,
  step: true,
  attempts: true,
  next_attempt_at: true,
  deadline_at: true,
  lease_owner: true,
  lease_expires_at: true,
  error_code: true,
  error_retryable: true,
  error_detail: true,
  secret_ciphertext: true,
  force_change: true,
  created_at: true,
  updated_at: true,
  completed_at: true,
};
/** The history's id is the database's own (autoincrement / identity). */
const operationEventColumnSet: Record<keyof GeneratedOperationEvent, true> = {
  operation_id: true,
  at: true,
  state: true,
  step: true,
  detail: true,
  code: true,
  retryable: true,
};
const eventColumnSet: Record<keyof EventLogTable, true> = {
  id: true,
  tenant_id: true,
  created_at: true,
  channel: true,
  level: true,
  event_id: true,
  source: true,
  message: true,
  correlation_id: true,
  user_id: true,
  details: true,
};
const userColumns = Object.keys(userColumnSet);
const operationColumns = Object.keys(operationColumnSet);
const operationEventColumns = Object.keys(operationEventColumnSet);
const eventColumns = Object.keys(eventColumnSet);

/** The tables the generator writes rows into by the million; only their indexes are dropped and rebuilt. */
export const logTables = [
  'sign_ins',
  'directory_audits',
  'directory_audit_targets',
  'event_log',
  'password_operations',
  'password_operation_events',
] as const;

/** What goes with a batch of audits: their operations, the operations' history and the event-log rows. */
function auditCompanions(audits: readonly GeneratedAudit[]): {
  operations: object[];
  operationEvents: object[];
  events: object[];
} {
  const operations: object[] = [];
  const operationEvents: object[] = [];
  const events: object[] = [];
  for (const audit of audits) {
    if (audit.event) events.push(audit.event);
    if (audit.operation) {
      operations.push(audit.operation.row);
      operationEvents.push(...audit.operation.events);
    }
  }
  return { operations, operationEvents, events };
}

/** A secondary index as its database describes it, to be created again with the same statement. */
export interface IndexDefinition {
  readonly name: string;
  readonly sql: string;
}

type Row = Readonly<Record<string, unknown>>;

/** A generated row read by column name (the tables' row interfaces have no index signature). */
function columnValue(row: object, column: string): unknown {
  return (row as Row)[column];
}

/** Rows per multi-row INSERT on SQLite: 17 columns x 500 = 8,500 parameters, under SQLite's 32,766. */
const sqliteRowsPerStatement = 500;
/** Rows per SQLite transaction: big enough that commits cost nothing, small enough to show progress. */
const sqliteRowsPerTransaction = 50_000;

/**
 * Writes into a SQLite file through better-sqlite3 directly (Kysely would build and prepare SQL
 * per batch): one prepared multi-row INSERT per table, run in large transactions, with a 1 GiB
 * page cache while loading so the five sign-in indexes stay in memory. `synchronous = OFF` for
 * the load only: a crash mid-seed loses generated rows, which are simply generated again.
 */
export function createSqliteLogWriter(file: string): LogWriter {
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = OFF');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -1048576');
  sqlite.pragma('temp_store = MEMORY');

  const prepared = new Map<string, SQLite.Statement>();
  const statementFor = (table: string, columns: readonly string[], rows: number): SQLite.Statement => {
    const key = `${table}:${rows}`;
    let statement = prepared.get(key);
    if (!statement) {
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      statement = sqlite.prepare(
        `insert into ${table} (${columns.join(', ')}) values ${Array.from({ length: rows }, () => tuple).join(', ')}`,
      );
      prepared.set(key, statement);
    }
    return statement;
  };
  const insertRows = (table: string, columns: readonly string[], rows: readonly object[]): void => {
    for (let start = 0; start < rows.length; start += sqliteRowsPerStatement) {
      const chunk = rows.slice(start, start + sqliteRowsPerStatement);
      const values: unknown[] = new Array(chunk.length * columns.length);
      let at = 0;
      for (const row of chunk) for (const column of columns) values[at++] = columnValue(row, column);
      statementFor(table, columns, chunk.length).run(values);
    }
  };
  const insertUser = sqlite.prepare(
    `insert into users (${userColumns.join(', ')}) values (${userColumns.map(() => '?').join(', ')}) on conflict do nothing`,
  );

  let dropped: IndexDefinition[] = [];
  let pendingRows = 0;
  const writeInTransaction = (rows: number, write: () => void): void => {
    if (!sqlite.inTransaction) sqlite.exec('begin');
    write();
    pendingRows += rows;
    if (pendingRows >= sqliteRowsPerTransaction) {
      sqlite.exec('commit');
      pendingRows = 0;
    }
  };

  return {
    async dropIndexes() {
      // Primary keys and unique constraints (autoindexes) have no SQL and stay.
      dropped = sqlite
        .prepare(
          `select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${logTables.map(() => '?').join(', ')}) order by name`,
        )
        .all(...logTables) as IndexDefinition[];
      for (const index of dropped) sqlite.exec(`drop index ${index.name}`);
    },
    async writeUsers(rows) {
      writeInTransaction(rows.length, () => {
        for (const row of rows) insertUser.run(userColumns.map((column) => columnValue(row, column)));
      });
    },
    async writeSignIns(rows, events) {
      writeInTransaction(rows.length, () => {
        insertRows('sign_ins', signInColumns, rows);
        insertRows('event_log', eventColumns, events);
      });
    },
    async writeAudits(audits) {
      writeInTransaction(audits.length, () => {
        insertRows(
          'directory_audits',
          auditColumns,
          audits.map((audit) => audit.row),
        );
        insertRows('directory_audit_targets', targetColumns, targetRows(audits));
        const { operations, operationEvents, events } = auditCompanions(audits);
        insertRows('password_operations', operationColumns, operations);
        insertRows('password_operation_events', operationEventColumns, operationEvents);
        insertRows('event_log', eventColumns, events);
      });
    },
    async finish() {
      if (sqlite.inTransaction) sqlite.exec('commit');
      pendingRows = 0;
      for (const index of dropped) sqlite.exec(index.sql);
      dropped = [];
      sqlite.exec('analyze');
      // Fold the WAL back into the database file, so its size on disk is the database's.
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
    },
    async close() {
      if (sqlite.inTransaction) sqlite.exec('rollback');
      sqlite.close();
    },
  };
}

function targetRows(audits: readonly GeneratedAudit[]): Row[] {
  const rows: Row[] = [];
  for (const audit of audits) {
    for (const targetId of audit.targetIds) {
      rows.push({
        audit_id: audit.row.id,
        target_id: targetId,
        tenant_id: audit.row.tenant_id,
        activity_at: audit.row.activity_at,
      });
    }
  }
  return rows;
}

/** PostgreSQL types of the integer columns (of every table written); every other column is text (varchar). */
const integerColumns = new Set([
  'is_interactive',
  'error_code',
  'account_enabled',
  'force_change_password_next_sign_in',
  'force_change_password_next_sign_in_with_mfa',
  'session_version',
  'on_premises_sync_enabled',
  'attempts',
  'error_retryable',
  'force_change',
  'code',
  'retryable',
  'event_id',
]);

/**
 * `insert ... select * from unnest($1::text[], ...)`: one array parameter per column, so a batch
 * of any size is one statement with a fixed text that the server plans once.
 */
function unnestInsert(table: string, columns: readonly string[]): string {
  const arrays = columns.map(
    (column, index) => `$${index + 1}::${integerColumns.has(column) ? 'integer' : 'text'}[]`,
  );
  return `insert into ${table} (${columns.join(', ')}) select * from unnest(${arrays.join(', ')})`;
}

function columnArrays(columns: readonly string[], rows: readonly object[]): unknown[][] {
  return columns.map((column) => rows.map((row) => columnValue(row, column) ?? null));
}

/**
 * Writes into PostgreSQL with unnest batches over one connection. `synchronous_commit = off`
 * for this session only: the load does not wait for each commit's WAL flush, and a crash loses
 * at most the last batches, which are generated again. VACUUM ANALYZE at the end sets the
 * visibility map, without which the count by error code could not be an index-only scan.
 */
export function createPostgresLogWriter(url: string): LogWriter {
  const client = new pg.Client({ connectionString: url });
  let connected: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    connected ??= client.connect().then(async () => {
      await client.query('set synchronous_commit = off');
    });
    return connected;
  };
  let dropped: IndexDefinition[] = [];
  const signInSql = unnestInsert('sign_ins', signInColumns);
  const auditSql = unnestInsert('directory_audits', auditColumns);
  const targetSql = unnestInsert('directory_audit_targets', targetColumns);
  const userSql = `${unnestInsert('users', userColumns)} on conflict do nothing`;
  const operationSql = unnestInsert('password_operations', operationColumns);
  const operationEventSql = unnestInsert('password_operation_events', operationEventColumns);
  const eventSql = unnestInsert('event_log', eventColumns);
  const inTransaction = async (work: () => Promise<void>): Promise<void> => {
    await client.query('begin');
    try {
      await work();
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    }
  };
  return {
    async dropIndexes() {
      await ready();
      // Indexes behind a constraint (primary keys) stay; pg_get_indexdef gives back the exact DDL.
      const result = await client.query<IndexDefinition>(
        `select i.relname as name, pg_get_indexdef(i.oid) as sql
           from pg_index x
           join pg_class i on i.oid = x.indexrelid
           join pg_class t on t.oid = x.indrelid
          where t.relname = any($1::text[])
            and t.relnamespace = to_regnamespace(current_schema())
            and not exists (select 1 from pg_constraint c where c.conindid = i.oid)
          order by i.relname`,
        [[...logTables]],
      );
      dropped = result.rows;
      for (const index of dropped) await client.query(`drop index ${index.name}`);
    },
    async writeUsers(rows) {
      await ready();
      await client.query(userSql, columnArrays(userColumns, rows));
    },
    async writeSignIns(rows, events) {
      await ready();
      await inTransaction(async () => {
        await client.query(signInSql, columnArrays(signInColumns, rows));
        if (events.length > 0) await client.query(eventSql, columnArrays(eventColumns, events));
      });
    },
    async writeAudits(audits) {
      await ready();
      const rows: DirectoryAuditRow[] = audits.map((audit) => audit.row);
      const { operations, operationEvents, events } = auditCompanions(audits);
      await inTransaction(async () => {
        await client.query(auditSql, columnArrays(auditColumns, rows));
        await client.query(targetSql, columnArrays(targetColumns, targetRows(audits)));
        if (operations.length > 0) {
          await client.query(operationSql, columnArrays(operationColumns, operations));
          await client.query(operationEventSql, columnArrays(operationEventColumns, operationEvents));
        }
        if (events.length > 0) await client.query(eventSql, columnArrays(eventColumns, events));
      });
    },
    async finish() {
      await ready();
      if (dropped.length > 0) {
        // Sorting for an index build happens in memory up to this limit; the default 64 MB
        // would spill ten million keys to disk in many runs.
        await client.query("set maintenance_work_mem = '512MB'");
        for (const index of dropped) await client.query(index.sql);
        dropped = [];
      }
      for (const table of [...logTables, 'users']) await client.query(`vacuum analyze ${table}`);
    },
    async close() {
      if (connected) await client.end();
    },
  };
}
