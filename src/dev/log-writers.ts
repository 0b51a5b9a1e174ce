import SQLite from 'better-sqlite3';
import pg from 'pg';
import { auditColumns } from '../audit/audit-store.js';
import type { DirectoryAuditRow, SignInRow } from '../platform/db/schema.js';
import { signInColumns } from '../sign-ins/sign-in-store.js';
import type { GeneratedAudit } from './log-generator.js';

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
  writeSignIns(rows: readonly SignInRow[]): Promise<void>;
  writeAudits(audits: readonly GeneratedAudit[]): Promise<void>;
  /** Commits what is pending, rebuilds any dropped index and refreshes the planner's statistics. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

const targetColumns = ['audit_id', 'target_id', 'tenant_id', 'activity_at'] as const;

/** The tables the generator writes; only their indexes are dropped and rebuilt. */
export const logTables = ['sign_ins', 'directory_audits', 'directory_audit_targets'] as const;

/** A secondary index as its database describes it, to be created again with the same statement. */
export interface IndexDefinition {
  readonly name: string;
  readonly sql: string;
}

type Row = Readonly<Record<string, unknown>>;

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
  const insertRows = (table: string, columns: readonly string[], rows: readonly Row[]): void => {
    for (let start = 0; start < rows.length; start += sqliteRowsPerStatement) {
      const chunk = rows.slice(start, start + sqliteRowsPerStatement);
      const values: unknown[] = new Array(chunk.length * columns.length);
      let at = 0;
      for (const row of chunk) for (const column of columns) values[at++] = row[column];
      statementFor(table, columns, chunk.length).run(values);
    }
  };

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
    async writeSignIns(rows) {
      writeInTransaction(rows.length, () => insertRows('sign_ins', signInColumns, rows));
    },
    async writeAudits(audits) {
      writeInTransaction(audits.length, () => {
        insertRows(
          'directory_audits',
          auditColumns,
          audits.map((audit) => audit.row),
        );
        insertRows('directory_audit_targets', targetColumns, targetRows(audits));
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

/** PostgreSQL types of the integer columns; every other column is text (varchar). */
const integerColumns = new Set(['is_interactive', 'error_code']);

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

function columnArrays(columns: readonly string[], rows: readonly Row[]): unknown[][] {
  return columns.map((column) => rows.map((row) => row[column] ?? null));
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
    async writeSignIns(rows) {
      await ready();
      await client.query(signInSql, columnArrays(signInColumns, rows));
    },
    async writeAudits(audits) {
      await ready();
      const rows: DirectoryAuditRow[] = audits.map((audit) => audit.row);
      await client.query('begin');
      try {
        await client.query(auditSql, columnArrays(auditColumns, rows));
        await client.query(targetSql, columnArrays(targetColumns, targetRows(audits)));
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
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
      await client.query('vacuum analyze sign_ins');
      await client.query('vacuum analyze directory_audits');
      await client.query('vacuum analyze directory_audit_targets');
    },
    async close() {
      if (connected) await client.end();
    },
  };
}
