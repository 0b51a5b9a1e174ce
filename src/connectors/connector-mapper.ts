import type { ConnectorBody, ConnectorSyncReportBody, ConnectorTestReportBody } from './connector-schemas.js';
import type { ConnectorRecord } from './connector-store.js';
import type { ProbeResult, SyncOutcome } from './directory-ports.js';

/*
 * The only way a connector leaves Rekey: the record the store reads holds no bind password (not
 * even sealed), and this mapper names each property it shows, so a column added later stays
 * hidden until someone decides to show it.
 */

function parsedOrNull(json: string | null): Record<string, unknown> | null {
  if (json === null) return null;
  const value: unknown = JSON.parse(json);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** A connector as the API and `rekey connectors show --json` give it. */
export function toConnectorBody(record: ConnectorRecord): ConnectorBody {
  const { settings } = record;
  return {
    id: record.id,
    displayName: settings.displayName,
    flavor: settings.flavor,
    url: settings.url,
    startTls: settings.startTls,
    allowInsecure: settings.allowInsecure,
    caCertificate: settings.caCertificate,
    bindDn: settings.bindDn,
    bindPasswordSet: true,
    baseDn: settings.baseDn,
    userFilter: settings.userFilter,
    attributes: { ...settings.attributes },
    writeback: settings.writeback,
    connectTimeoutMs: settings.connectTimeoutMs,
    operationTimeoutMs: settings.operationTimeoutMs,
    syncIntervalSeconds: settings.syncIntervalSeconds,
    createdDateTime: record.createdAt,
    lastModifiedDateTime: record.updatedAt,
    lastSyncDateTime: record.lastSyncAt,
    lastSyncResult: parsedOrNull(record.lastSyncResult),
    lastTestDateTime: record.lastTestAt,
    lastTestResult: parsedOrNull(record.lastTestResult),
  };
}

/** A connection test's report: the probe's steps, and whether they all went well. */
export function toTestReport(
  connectorId: string,
  testedAt: string,
  result: ProbeResult,
): ConnectorTestReportBody {
  return {
    connectorId,
    testedDateTime: testedAt,
    success: result.steps.length > 0 && result.steps.every((step) => step.result !== 'failure'),
    steps: result.steps.map((step) => ({
      step: step.step,
      result: step.result,
      code: step.code,
      message: step.message,
      latencyMs: step.latencyMs,
    })),
    usersFound: result.usersFound,
  };
}

/** A sync's outcome as the API shows it (the resume cursor stays inside Rekey). */
export function toSyncReport(connectorId: string, outcome: SyncOutcome): ConnectorSyncReportBody {
  return {
    connectorId,
    result: outcome.result,
    mode: outcome.mode,
    startedDateTime: outcome.startedDateTime,
    finishedDateTime: outcome.finishedDateTime,
    counts: {
      seen: outcome.counts.seen,
      created: outcome.counts.created,
      updated: outcome.counts.updated,
      deleted: outcome.counts.deleted,
      unchanged: outcome.counts.unchanged,
      failed: outcome.counts.failed,
    },
    code: outcome.code,
    message: outcome.message,
  };
}
