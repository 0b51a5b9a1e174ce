import { type DialectName, isDatabaseReady, openDatabase } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { findDirectoryTenant } from '../tenant/tenant-service.js';
import {
  buildLogModel,
  createSignInEventMapper,
  generateAudits,
  generateSignIns,
  generateUsers,
  type LogModel,
} from './log-generator.js';
import { createPostgresLogWriter, createSqliteLogWriter, type LogWriter } from './log-writers.js';

/** What `rekey dev seed-logs` generates. */
export interface SeedLogsOptions {
  readonly signIns: number;
  readonly audits: number;
  readonly days: number;
  readonly users: number;
  readonly seed: string;
  /** The end of the generated window; now unless given (give it to reproduce rows exactly). */
  readonly end?: Date;
  readonly onProgress?: (progress: SeedProgress) => void;
}

export interface SeedProgress {
  readonly phase: 'signIns' | 'audits' | 'indexes';
  readonly done: number;
  readonly total: number;
}

export interface SeedLogsResult {
  readonly dialect: DialectName;
  readonly tenantId: string;
  readonly tenantDomain: string;
  readonly signIns: number;
  readonly audits: number;
  readonly users: number;
  readonly seed: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  /** Rows written beside the sign-ins and audits: the people, the operations and the event log. */
  readonly companions: SeedCompanions;
  readonly seconds: { readonly signIns: number; readonly audits: number; readonly indexes: number };
}

/** Rows `writeModel` wrote besides the sign-ins and audits. */
export interface SeedCompanions {
  readonly userRows: number;
  readonly operations: number;
  readonly operationEvents: number;
  readonly eventLog: number;
}

/** Rows generated per batch; the writers split them further as their database prefers. */
const batchRows = 10_000;

/** The tenant and its default domain, from a database `rekey serve` has prepared. */
async function findSeedTarget(
  databaseUrl: string,
): Promise<{ tenantId: string; tenantDomain: string; existingSignIns: number }> {
  const db = openDatabase(databaseUrl, { poolSize: 1 });
  try {
    if (!(await isDatabaseReady(db))) {
      throw new RekeyError(Codes.DatabaseUnavailable, {
        message: 'The database is unreachable or its schema is not up to date; run `rekey migrate`.',
      });
    }
    const tenant = await findDirectoryTenant(db.kysely);
    const domain = tenant
      ? await db.kysely
          .selectFrom('domains')
          .select('name')
          .where('tenant_id', '=', tenant.id)
          .orderBy('is_default', 'desc')
          .orderBy('name')
          .executeTakeFirst()
      : undefined;
    if (!tenant || !domain) {
      throw new RekeyError(Codes.DatabaseUnavailable, {
        message: 'The database holds no tenant yet; start Rekey once with `rekey serve` to create it.',
      });
    }
    const existing = await db.kysely
      .selectFrom('sign_ins')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .executeTakeFirstOrThrow();
    return { tenantId: tenant.id, tenantDomain: domain.name, existingSignIns: Number(existing.count) };
  } finally {
    await db.close();
  }
}

/** Opens the bulk writer for `databaseUrl` (as accepted by openDatabase, but a file for SQLite). */
export function openLogWriter(databaseUrl: string): {
  readonly dialect: DialectName;
  readonly writer: LogWriter;
} {
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    if (file === ':memory:') {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: 'Generated logs need a database file; sqlite::memory: would vanish when the command ends.',
      });
    }
    return { dialect: 'sqlite', writer: createSqliteLogWriter(file) };
  }
  return { dialect: 'postgres', writer: createPostgresLogWriter(databaseUrl) };
}

/**
 * Writes `options.signIns` sign-in rows and `options.audits` audit rows (with their target
 * rows, the people as users, the operations of the password audits and the event-log entries of
 * both) of a deterministic, realistic tenant into the database at `databaseUrl`, then refreshes
 * the planner's statistics. The database must be one Rekey has prepared (migrated, with its
 * tenant); rows are added to whatever logs it already holds.
 */
export async function seedLogs(databaseUrl: string, options: SeedLogsOptions): Promise<SeedLogsResult> {
  const { tenantId, tenantDomain, existingSignIns } = await findSeedTarget(databaseUrl);
  const model = buildLogModel({
    tenantId,
    tenantDomain,
    users: options.users,
    days: options.days,
    end: options.end ?? new Date(),
    seed: options.seed,
  });
  const { dialect, writer } = openLogWriter(databaseUrl);
  try {
    // Rebuilding the indexes pays when the load at least doubles the log; adding a little to a
    // big log is cheaper row by row.
    const rebuildIndexes = options.signIns >= existingSignIns && options.signIns > 0;
    const { seconds, companions } = await writeModel(model, writer, { ...options, rebuildIndexes });
    return {
      dialect,
      tenantId,
      tenantDomain,
      signIns: options.signIns,
      audits: options.audits,
      users: options.users,
      seed: options.seed,
      windowStart: new Date(model.startMs).toISOString(),
      windowEnd: new Date(model.endMs).toISOString(),
      companions,
      seconds,
    };
  } finally {
    await writer.close();
  }
}

/**
 * Generates the model's rows into `writer`, reporting progress after every batch: the people
 * (with the sign-ins phase), the sign-ins with their event-log entries, the audits with theirs and
 * their operations. Returns the phases' seconds and the companion rows written.
 */
export async function writeModel(
  model: LogModel,
  writer: LogWriter,
  options: Pick<SeedLogsOptions, 'signIns' | 'audits' | 'onProgress'> & { readonly rebuildIndexes: boolean },
): Promise<{ seconds: SeedLogsResult['seconds']; companions: SeedCompanions }> {
  const report = options.onProgress ?? (() => {});
  const started = performance.now();
  if (options.rebuildIndexes) await writer.dropIndexes();
  let done = 0;
  report({ phase: 'signIns', done, total: options.signIns });
  const users = generateUsers(model);
  for (let start = 0; start < users.length; start += batchRows)
    await writer.writeUsers(users.slice(start, start + batchRows));
  const eventsOf = createSignInEventMapper(model);
  let eventLog = 0;
  for (const batch of generateSignIns(model, options.signIns, batchRows)) {
    const events = eventsOf(batch);
    await writer.writeSignIns(batch, events);
    eventLog += events.length;
    done += batch.length;
    report({ phase: 'signIns', done, total: options.signIns });
  }
  const signInsDone = performance.now();
  done = 0;
  let operations = 0;
  let operationEvents = 0;
  report({ phase: 'audits', done, total: options.audits });
  for (const batch of generateAudits(model, options.audits, batchRows)) {
    await writer.writeAudits(batch);
    for (const audit of batch) {
      if (audit.event) eventLog += 1;
      if (audit.operation) {
        operations += 1;
        operationEvents += audit.operation.events.length;
      }
    }
    done += batch.length;
    report({ phase: 'audits', done, total: options.audits });
  }
  const auditsDone = performance.now();
  report({ phase: 'indexes', done: 0, total: 1 });
  await writer.finish();
  report({ phase: 'indexes', done: 1, total: 1 });
  const finished = performance.now();
  return {
    seconds: {
      signIns: (signInsDone - started) / 1000,
      audits: (auditsDone - signInsDone) / 1000,
      indexes: (finished - auditsDone) / 1000,
    },
    companions: { userRows: users.length, operations, operationEvents, eventLog },
  };
}
