import type {
  ConnectorBody,
  ConnectorHealthBody,
  ConnectorHealthWindowBody,
  ConnectorSyncReportBody,
  ConnectorTestReportBody,
} from './connector-schemas.js';
import type { ConnectorRecord } from './connector-store.js';
import type { ConnectorCallStats, ConnectorCallSummary } from './connector-trace-store.js';
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

function toHealthCall(call: ConnectorCallSummary | undefined): ConnectorHealthWindowBody['lastError'] {
  if (!call) return null;
  return {
    dateTime: call.at,
    operation: call.operation,
    outcome: call.outcome,
    code: call.code,
    reason: call.reason,
    ldapResultCode: call.ldapResultCode,
    ppolicyError: call.ppolicyError,
    diagnostic: call.diagnostic,
    dn: call.dn,
    latencyMs: call.latencyMs,
    correlationId: call.correlationId,
    operationId: call.operationId,
  };
}

function toHealthWindow(since: string, stats: ConnectorCallStats): ConnectorHealthWindowBody {
  return {
    sinceDateTime: since,
    calls: stats.calls,
    succeeded: stats.succeeded,
    refused: stats.refused,
    failed: stats.failed,
    successRate:
      stats.calls === 0
        ? null
        : Math.round(((stats.succeeded + stats.refused) / stats.calls) * 10_000) / 10_000,
    latencyMs: { p50: stats.latencyP50Ms, p99: stats.latencyP99Ms },
    lastError: toHealthCall(stats.lastError),
    lastSuccess: toHealthCall(stats.lastSuccess),
  };
}

/** A connector's health as the API and `rekey connectors health --json` give it. */
export function toHealthBody(
  record: ConnectorRecord,
  generatedAt: string,
  windows: {
    readonly lastHour: { readonly since: string; readonly stats: ConnectorCallStats };
    readonly lastDay: { readonly since: string; readonly stats: ConnectorCallStats };
  },
): ConnectorHealthBody {
  return {
    connectorId: record.id,
    displayName: record.settings.displayName,
    generatedDateTime: generatedAt,
    lastHour: toHealthWindow(windows.lastHour.since, windows.lastHour.stats),
    lastDay: toHealthWindow(windows.lastDay.since, windows.lastDay.stats),
  };
}
