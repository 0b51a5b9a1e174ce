import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditActivityName } from '../audit/audit-activities.js';
import { type ModifiedProperty, recordAudit } from '../audit/audit-service.js';
import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import { recordEvents } from '../event-log/event-log-service.js';
import type { Clock } from '../platform/clock.js';
import type { SecretBox } from '../platform/crypto/secret-box.js';
import type { Db } from '../platform/db/database.js';
import type { Database } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import type { RequestContext } from '../platform/request-context.js';
import { type ConnectorSettings, checkConnectorInput } from './connector-config.js';
import { connectorEventOf } from './connector-events.js';
import { toHealthBody, toSyncReport, toTestReport } from './connector-mapper.js';
import type {
  ConnectorHealthBody,
  ConnectorSyncReportBody,
  ConnectorTestReportBody,
} from './connector-schemas.js';
import {
  type ConnectorRecord,
  claimConnectorSync,
  connectorNameTaken,
  deleteConnector,
  findConnector,
  findConnectorWithSealedPassword,
  getSealedBindPassword,
  insertConnector,
  listConnectors,
  recordConnectorSync,
  recordConnectorTest,
  updateConnectorSettings,
} from './connector-store.js';
import {
  type ConnectorTraceEntry,
  connectorCallStats,
  insertConnectorTrace,
  listConnectorTraceOfCorrelations,
  listOperationConnectorTrace,
} from './connector-trace-store.js';
import { createTraceWriter } from './connector-trace-writer.js';
import type { ConnectorConfig, DirectoryProbe, DirectorySync, SyncProgress } from './directory-ports.js';

/*
 * Directory connectors: create, read, change and remove them; test one and sync one through the
 * directory ports (directory-ports.ts). Who may call this is decided by the route guard
 * (connectorAdministrationRoles); the CLI, which holds the database, calls it without an actor.
 *
 * The bind password is sealed with the secret key before it is stored, opened only to hand a
 * ConnectorConfig to a directory client, and never returned, logged or audited: an audit row
 * names `bindPassword` among the changed properties without a value.
 */

export interface ConnectorServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly secretBox: SecretBox;
  readonly logger: Logger;
  /** The connection test; without it, test answers 7700801. */
  readonly probe?: DirectoryProbe;
  /** The sync; without it, sync answers 7700801. */
  readonly sync?: DirectorySync;
}

export type ConnectorService = ReturnType<typeof createConnectorService>;

/** The settings an audit row shows, as text: the CA certificates by their SHA-256 fingerprint. */
function auditValues(settings: ConnectorSettings): Record<string, string> {
  const { caCertificate, ...rest } = settings;
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(rest)) values[key] = JSON.stringify(value);
  values['caCertificate'] =
    caCertificate === null
      ? 'null'
      : JSON.stringify(`sha256:${createHash('sha256').update(caCertificate).digest('hex')}`);
  return values;
}

/** The properties that differ between `before` and `after` (all of `after` on a create). */
function modifiedProperties(
  before: ConnectorSettings | undefined,
  after: ConnectorSettings,
  passwordChanged: boolean,
): ModifiedProperty[] {
  const old = before ? auditValues(before) : {};
  const changed: ModifiedProperty[] = Object.entries(auditValues(after))
    .filter(([key, value]) => old[key] !== value)
    .map(([key, value]) => ({ displayName: key, oldValue: old[key] ?? null, newValue: value }));
  // Named so the change is on record; its values are never written anywhere.
  if (passwordChanged) changed.push({ displayName: 'bindPassword', oldValue: null, newValue: null });
  return changed;
}

/**
 * Whether the connector a synced user came from writes passwords back, with its name; undefined
 * when the connector is gone. For the password rules that depend on writeback (federation,
 * licences), which must not open the connector's bind password to learn it.
 */
export async function findConnectorWriteback(
  db: Kysely<Database>,
  tenantId: string,
  connectorId: string,
): Promise<{ readonly displayName: string; readonly writeback: boolean } | undefined> {
  const record = await findConnector(db, tenantId, connectorId);
  return record && { displayName: record.settings.displayName, writeback: record.settings.writeback };
}

/** The tenant's directory connectors. */
export function createConnectorService(deps: ConnectorServiceDeps) {
  const { db, tenantId, clock, secretBox, logger } = deps;

  const notFound = (idOrName: string) =>
    new RekeyError(Codes.ResourceNotFound, {
      message: `No directory connector has the id or name ${JSON.stringify(idOrName)}.`,
      details: { connector: idOrName },
    });

  const nameTaken = (displayName: string) =>
    new RekeyError(Codes.ObjectConflict, {
      message: `Another directory connector is already called ${JSON.stringify(displayName)}; choose another displayName.`,
      details: { field: 'displayName', value: displayName },
    });

  async function audit(
    trx: Parameters<typeof recordAudit>[0],
    context: RequestContext,
    activity: AuditActivityName,
    record: { readonly id: string; readonly displayName: string },
    modified: readonly ModifiedProperty[],
    at: string,
  ): Promise<void> {
    await recordAudit(
      trx,
      tenantId,
      context,
      {
        activity,
        result: 'success',
        targets: [
          {
            id: record.id,
            displayName: record.displayName,
            userPrincipalName: null,
            modifiedProperties: modified,
          },
        ],
      },
      at,
    );
  }

  /** Every connector of the tenant, by display name. */
  function list(): Promise<ConnectorRecord[]> {
    return listConnectors(db.kysely, tenantId);
  }

  /** One connector by id or display name (any case), or 7700008. */
  async function get(idOrName: string): Promise<ConnectorRecord> {
    const record = await findConnector(db.kysely, tenantId, idOrName);
    if (!record) throw notFound(idOrName);
    return record;
  }

  /**
   * Creates a connector from a create body (see checkConnectorInput), audited as "Add directory
   * connector". Bad settings are one 7700001 naming every problem; a display name already used is
   * 7700010.
   */
  async function create(context: RequestContext, body: unknown): Promise<ConnectorRecord> {
    const now = clock.now();
    const { settings, bindPassword } = checkConnectorInput(body, undefined, now);
    if (bindPassword === undefined)
      throw new Error('checkConnectorInput let a create through without a password');
    if (await connectorNameTaken(db.kysely, tenantId, settings.displayName))
      throw nameTaken(settings.displayName);
    const id = randomUUID();
    const at = now.toISOString();
    try {
      await db.kysely.transaction().execute(async (trx) => {
        await insertConnector(trx, tenantId, {
          id,
          settings,
          sealedBindPassword: secretBox.seal(bindPassword),
          at,
        });
        await audit(
          trx,
          context,
          'addDirectoryConnector',
          { id, displayName: settings.displayName },
          modifiedProperties(undefined, settings, true),
          at,
        );
      });
    } catch (error) {
      if (isWriteConflict(error, 'uniqueViolation')) throw nameTaken(settings.displayName);
      throw error;
    }
    logger.info({ connectorId: id, correlationId: context.correlationId }, 'directory connector created');
    return get(id);
  }

  /**
   * Changes a connector with a PATCH body: fields left out keep their value, and the result is
   * checked whole (an https url with startTls, writeback over a plain connection...). Audited as
   * "Update directory connector" with the changed properties; a body that changes nothing is not.
   */
  async function update(context: RequestContext, idOrName: string, body: unknown): Promise<ConnectorRecord> {
    const now = clock.now();
    const at = now.toISOString();
    let id: string | undefined;
    try {
      await db.kysely.transaction().execute(async (trx) => {
        const current = await findConnector(trx, tenantId, idOrName, { lock: true });
        if (!current) throw notFound(idOrName);
        id = current.id;
        const { settings, bindPassword } = checkConnectorInput(body, current.settings, now);
        if (
          settings.displayName !== current.settings.displayName &&
          (await connectorNameTaken(trx, tenantId, settings.displayName, current.id))
        ) {
          throw nameTaken(settings.displayName);
        }
        const modified = modifiedProperties(current.settings, settings, bindPassword !== undefined);
        if (modified.length === 0) return;
        await updateConnectorSettings(trx, tenantId, current.id, {
          settings,
          sealedBindPassword: bindPassword === undefined ? undefined : secretBox.seal(bindPassword),
          at,
        });
        await audit(
          trx,
          context,
          'updateDirectoryConnector',
          { id: current.id, displayName: settings.displayName },
          modified,
          at,
        );
      });
    } catch (error) {
      if (isWriteConflict(error, 'uniqueViolation')) {
        const displayName = (body as { displayName?: unknown } | null)?.displayName;
        throw nameTaken(typeof displayName === 'string' ? displayName : idOrName);
      }
      throw error;
    }
    logger.info({ connectorId: id, correlationId: context.correlationId }, 'directory connector changed');
    return get(id ?? idOrName);
  }

  /** Removes a connector, audited as "Delete directory connector"; 7700008 when there is none. */
  async function remove(context: RequestContext, idOrName: string): Promise<ConnectorRecord> {
    const at = clock.now().toISOString();
    const removed = await db.kysely.transaction().execute(async (trx) => {
      const current = await findConnector(trx, tenantId, idOrName, { lock: true });
      if (!current || !(await deleteConnector(trx, tenantId, current.id))) throw notFound(idOrName);
      await audit(
        trx,
        context,
        'deleteDirectoryConnector',
        { id: current.id, displayName: current.settings.displayName },
        [],
        at,
      );
      return current;
    });
    logger.info(
      { connectorId: removed.id, correlationId: context.correlationId },
      'directory connector removed',
    );
    return removed;
  }

  /**
   * A connector as a directory client needs it, with its bind password opened: for the test, the
   * sync, and (later) pass-through sign-in and writeback. Keep the result only for the call.
   */
  async function openConnectorConfig(idOrName: string): Promise<ConnectorConfig> {
    // By id in one read (every directory call of a password names it so); by name in two.
    const byId = await findConnectorWithSealedPassword(db.kysely, tenantId, idOrName);
    if (byId) {
      const { record, sealedBindPassword } = byId;
      return { ...record.settings, id: record.id, bindPassword: secretBox.open(sealedBindPassword) };
    }
    const record = await get(idOrName);
    const sealed = await getSealedBindPassword(db.kysely, tenantId, record.id);
    if (sealed === undefined) throw notFound(idOrName);
    return { ...record.settings, id: record.id, bindPassword: secretBox.open(sealed) };
  }

  function unavailable(what: string): RekeyError {
    return new RekeyError(Codes.DirectoryClientUnavailable, {
      message: `This Rekey cannot ${what} a directory connector yet: no directory client is installed. The connector itself is saved.`,
    });
  }

  /**
   * Tests a connector: connect, StartTLS, bind and search, each step with its result, code and
   * latency. The report is kept on the connector (lastTestResult). A directory that fails a step
   * is a report with `success: false`, not an error; 7700801 when no directory client is installed.
   */
  async function test(context: RequestContext, idOrName: string): Promise<ConnectorTestReportBody> {
    const record = await get(idOrName);
    if (!deps.probe) throw unavailable('test');
    const config = await openConnectorConfig(record.id);
    const result = await deps.probe.test(config);
    await recordTrace(result.trace ?? []);
    const testedAt = clock.now().toISOString();
    const report = toTestReport(record.id, testedAt, result);
    await recordConnectorTest(db.kysely, tenantId, record.id, {
      at: testedAt,
      report: JSON.stringify(report),
    });
    logger.info(
      { connectorId: record.id, correlationId: context.correlationId, success: report.success },
      'directory connector tested',
    );
    return report;
  }

  /**
   * Runs one sync of a connector now: incremental from the last cursor, or full when asked or
   * when there is no cursor yet. The outcome is kept on the connector (lastSyncResult, and the
   * cursor for the next run); 7700801 when no directory client is installed.
   */
  async function sync(
    context: RequestContext,
    idOrName: string,
    options: { readonly full?: boolean; readonly onProgress?: (progress: SyncProgress) => void } = {},
  ): Promise<ConnectorSyncReportBody> {
    const record = await get(idOrName);
    if (!deps.sync) throw unavailable('synchronize');
    const config = await openConnectorConfig(record.id);
    const cursor = options.full ? null : record.lastSyncCursor;
    const outcome = await deps.sync.sync({
      tenantId,
      connector: config,
      mode: cursor === null ? 'full' : 'incremental',
      cursor,
      context,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const report = toSyncReport(record.id, outcome);
    await recordTrace(outcome.trace ?? []);
    await db.kysely.transaction().execute(async (trx) => {
      await recordConnectorSync(trx, tenantId, record.id, {
        at: outcome.finishedDateTime,
        cursor: outcome.result === 'success' ? outcome.cursor : null,
        outcome: JSON.stringify(report),
      });
      const { counts } = report;
      await recordAudit(
        trx,
        tenantId,
        context,
        {
          activity: 'synchronizeDirectoryConnector',
          result: report.result,
          ...(report.code === null ? {} : { resultReason: `${report.code}: ${report.message ?? ''}` }),
          targets: [
            {
              id: record.id,
              displayName: record.settings.displayName,
              userPrincipalName: null,
              modifiedProperties: [],
            },
          ],
          additionalDetails: [
            { key: 'Mode', value: report.mode },
            { key: 'Seen', value: String(counts.seen) },
            { key: 'Created', value: String(counts.created) },
            { key: 'Updated', value: String(counts.updated) },
            { key: 'Deleted', value: String(counts.deleted) },
            { key: 'Unchanged', value: String(counts.unchanged) },
            { key: 'Failed', value: String(counts.failed) },
          ],
        },
        outcome.finishedDateTime,
      );
    });
    logger.info(
      {
        connectorId: record.id,
        correlationId: context.correlationId,
        result: report.result,
        counts: report.counts,
      },
      'directory connector synchronized',
    );
    return report;
  }

  /** The connectors whose scheduled sync is due at `now` (an interval set, and never synced or synced that long ago). */
  async function listDueForSync(now: Date = clock.now()): Promise<ConnectorRecord[]> {
    return (await list()).filter((record) => {
      const interval = record.settings.syncIntervalSeconds;
      if (interval === null) return false;
      if (record.lastSyncAt === null) return true;
      return Date.parse(record.lastSyncAt) + interval * 1000 <= now.getTime();
    });
  }

  /**
   * Claims a due connector for this process's scheduled sync (see claimConnectorSync): true when
   * this process should run it now, false when another one took it since `record` was read.
   */
  function claimScheduledSync(record: ConnectorRecord, now: Date = clock.now()): Promise<boolean> {
    return claimConnectorSync(db.kysely, tenantId, record.id, {
      readLastSyncAt: record.lastSyncAt,
      at: now.toISOString(),
    });
  }

  /**
   * Keeps the trace of a connector's LDAP calls (the connector trace; records hold no secret), and
   * with it the event-log entries of the calls that were connector errors (connector-events.ts).
   */
  async function recordTrace(records: readonly DirectoryTraceRecord[]): Promise<void> {
    const events = records.map(connectorEventOf).filter((event) => event !== undefined);
    if (events.length === 0) {
      await insertConnectorTrace(db.kysely, tenantId, records);
      return;
    }
    await db.kysely.transaction().execute(async (trx) => {
      await insertConnectorTrace(trx, tenantId, records);
      await recordEvents(trx, tenantId, events);
    });
  }

  // Pass-through binds, written in batches (connector-trace-writer.ts).
  const checks = createTraceWriter({
    write: recordTrace,
    onError: (error, records) =>
      logger.error({ err: error, records }, 'could not keep the connector trace of pass-through binds'),
  });

  /**
   * Keeps the trace of pass-through binds (password checks that change nothing) with the next
   * batch, within a tenth of a second; every reader of the trace in this process flushes first.
   * A bind that failed for the connector's own reason is written at once, with its event.
   */
  async function queueCheckTrace(records: readonly DirectoryTraceRecord[]): Promise<void> {
    // A connector error is also an event-log entry: those are written at once, in order.
    if (records.some((record) => connectorEventOf(record) !== undefined)) {
      await checks.flush();
      await recordTrace(records);
      return;
    }
    checks.add(records);
  }

  /** The connector calls a password operation made, oldest first (empty for a cloud-only one). */
  async function operationTrace(operationId: string): Promise<ConnectorTraceEntry[]> {
    await checks.flush();
    return listOperationConnectorTrace(db.kysely, tenantId, operationId);
  }

  /** The connector calls of these requests (by correlation ID), oldest first, at most 5000. */
  async function correlationTrace(correlationIds: readonly string[]): Promise<ConnectorTraceEntry[]> {
    await checks.flush();
    return listConnectorTraceOfCorrelations(db.kysely, tenantId, correlationIds, 5000);
  }

  /**
   * A connector's health over the last hour and the last 24 hours, from the trace of its calls
   * (test, sync, pass-through sign-in, writeback): how many succeeded, were refused for the user's
   * own reason, or failed; the success rate; latency p50/p99; the last error and the last
   * success. 7700008 when there is no such connector. The trace ages out with the logs
   * (REKEY_LOG_RETENTION_DAYS), so a retention under a day shortens the 24-hour window.
   */
  async function health(idOrName: string): Promise<ConnectorHealthBody> {
    await checks.flush();
    const record = await get(idOrName);
    const now = clock.now();
    const window = async (ms: number) => {
      const since = new Date(now.getTime() - ms).toISOString();
      return { since, stats: await connectorCallStats(db.kysely, tenantId, record.id, since) };
    };
    return toHealthBody(record, now.toISOString(), {
      lastHour: await window(3_600_000),
      lastDay: await window(86_400_000),
    });
  }

  return {
    list,
    get,
    health,
    recordTrace,
    queueCheckTrace,
    /** Writes the queued trace of pass-through binds now (before a process stops). */
    flushTrace: () => checks.flush(),
    operationTrace,
    correlationTrace,
    create,
    update,
    remove,
    test,
    sync,
    openConnectorConfig,
    listDueForSync,
    claimScheduledSync,
  };
}
