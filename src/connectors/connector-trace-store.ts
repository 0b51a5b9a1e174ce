import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUserRefusal } from '../directories/directory-outcome.js';
import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import type { ConnectorCallOutcome, Database } from '../platform/db/schema.js';

/** One LDAP operation of the connector trace, as stored: never a password or bind secret. */
export interface ConnectorTraceEntry {
  readonly connectorId: string | null;
  readonly operationId: string | null;
  readonly operation: string;
  readonly dn: string | null;
  readonly ldapResultCode: number | null;
  readonly ppolicyError: string | null;
  readonly diagnostic: string | null;
  readonly latencyMs: number;
  readonly correlationId: string;
  readonly at: string;
  readonly outcome: ConnectorCallOutcome | null;
  readonly reason: string | null;
  readonly code: number | null;
}

let sequence = 0;

/**
 * A row id that sorts in the order rows were written by this process (wall time, then a counter),
 * so records made in the same millisecond of the operation clock keep their order.
 */
function orderedId(): string {
  sequence = (sequence + 1) % 1_000_000;
  const head = `${Date.now().toString().padStart(15, '0')}${sequence.toString().padStart(6, '0')}`;
  return `${head}-${randomUUID().slice(0, 36 - head.length - 1)}`;
}

/** How connector health counts a record: see ConnectorCallOutcome. */
export function callOutcome(record: DirectoryTraceRecord): ConnectorCallOutcome {
  if (record.failure) return isUserRefusal(record.failure.reason) ? 'refused' : 'error';
  if (record.resultCode === 0) return 'success';
  // A client that does not classify its failures: a refused user bind is still the user's.
  return record.operation === 'userBind' && record.resultCode === 49 ? 'refused' : 'error';
}

/** Rows per insert: well under SQLite's limit of bound values for a sync's many pages. */
const insertBatch = 500;

/** Keeps trace records (the client's own records: nothing in them is secret). */
export async function insertConnectorTrace(
  db: Kysely<Database>,
  tenantId: string,
  records: readonly DirectoryTraceRecord[],
): Promise<void> {
  for (let start = 0; start < records.length; start += insertBatch) {
    await db
      .insertInto('connector_operations')
      .values(
        records.slice(start, start + insertBatch).map((record) => ({
          id: orderedId(),
          tenant_id: tenantId,
          connector_id: record.connectorId ?? null,
          operation_id: record.operationId ?? null,
          operation: record.operation,
          dn: record.dn ?? null,
          ldap_result_code: record.resultCode ?? null,
          ppolicy_error: record.ppolicy?.error ?? null,
          diagnostic: record.diagnostic?.slice(0, 1000) ?? null,
          latency_ms: Math.round(record.latencyMs),
          correlation_id: record.correlationId,
          at: record.startedAt.toISOString(),
          outcome: callOutcome(record),
          failure_reason: record.failure?.reason ?? null,
          code: record.failure?.code ?? null,
        })),
      )
      .execute();
  }
}

/** The connector calls one password operation made, oldest first. */
export async function listOperationConnectorTrace(
  db: Kysely<Database>,
  tenantId: string,
  operationId: string,
): Promise<ConnectorTraceEntry[]> {
  const rows = await db
    .selectFrom('connector_operations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('operation_id', '=', operationId)
    .orderBy('at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    connectorId: row.connector_id,
    operationId: row.operation_id,
    operation: row.operation,
    dn: row.dn,
    ldapResultCode: row.ldap_result_code,
    ppolicyError: row.ppolicy_error,
    diagnostic: row.diagnostic,
    latencyMs: row.latency_ms,
    correlationId: row.correlation_id,
    at: row.at,
    outcome: row.outcome,
    reason: row.failure_reason,
    code: row.code,
  }));
}

/**
 * The connector calls made under these correlation IDs (operations, sign-ins, tests, syncs),
 * oldest first, at most `limit` (index connector_operations_correlation, migration 0020).
 */
export async function listConnectorTraceOfCorrelations(
  db: Kysely<Database>,
  tenantId: string,
  correlationIds: readonly string[],
  limit: number,
): Promise<ConnectorTraceEntry[]> {
  if (correlationIds.length === 0) return [];
  const rows = await db
    .selectFrom('connector_operations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('correlation_id', 'in', [...correlationIds])
    .orderBy('at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    connectorId: row.connector_id,
    operationId: row.operation_id,
    operation: row.operation,
    dn: row.dn,
    ldapResultCode: row.ldap_result_code,
    ppolicyError: row.ppolicy_error,
    diagnostic: row.diagnostic,
    latencyMs: row.latency_ms,
    correlationId: row.correlation_id,
    at: row.at,
    outcome: row.outcome,
    reason: row.failure_reason,
    code: row.code,
  }));
}

/** One call of the trace as connector health names it: the last error or the last success. */
export interface ConnectorCallSummary {
  readonly at: string;
  readonly operation: string;
  readonly outcome: ConnectorCallOutcome | null;
  readonly code: number | null;
  readonly reason: string | null;
  readonly ldapResultCode: number | null;
  readonly ppolicyError: string | null;
  readonly diagnostic: string | null;
  readonly dn: string | null;
  readonly latencyMs: number;
  readonly correlationId: string;
  readonly operationId: string | null;
}

/** A connector's calls from `since` on (inclusive), as connector health reports them. */
export interface ConnectorCallStats {
  readonly calls: number;
  readonly succeeded: number;
  readonly refused: number;
  /** Calls that failed for the connector's or the directory's reason (and rows without an outcome). */
  readonly failed: number;
  /** Nearest-rank percentiles of the calls' latency, in whole milliseconds; null without calls. */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly lastError: ConnectorCallSummary | undefined;
  /** The latest call that succeeded. */
  readonly lastSuccess: ConnectorCallSummary | undefined;
}

/**
 * Counts, latency percentiles, and the last error and last success of a connector's calls from
 * `since` on. Every query walks the (tenant_id, connector_id, at) index over the window; the
 * percentiles are the value at rank ceil(p x n) in latency order, read with an offset, so the
 * same SQL serves both databases and no row leaves the database but the answer.
 */
export async function connectorCallStats(
  db: Kysely<Database>,
  tenantId: string,
  connectorId: string,
  since: string,
): Promise<ConnectorCallStats> {
  const inWindow = () =>
    db
      .selectFrom('connector_operations')
      .where('tenant_id', '=', tenantId)
      .where('connector_id', '=', connectorId)
      .where('at', '>=', since);
  const counts = await inWindow()
    .select((eb) => [
      eb.fn.countAll<number | string>().as('calls'),
      eb.fn.count<number | string>(eb.case().when('outcome', '=', 'success').then(1).end()).as('succeeded'),
      eb.fn.count<number | string>(eb.case().when('outcome', '=', 'refused').then(1).end()).as('refused'),
    ])
    .executeTakeFirst();
  const calls = Number(counts?.calls ?? 0);
  const succeeded = Number(counts?.succeeded ?? 0);
  const refused = Number(counts?.refused ?? 0);

  async function percentile(p: number): Promise<number | null> {
    if (calls === 0) return null;
    const rank = Math.max(1, Math.ceil(p * calls));
    const row = await inWindow()
      .select('latency_ms')
      .orderBy('latency_ms')
      .limit(1)
      .offset(rank - 1)
      .executeTakeFirst();
    return row?.latency_ms ?? null;
  }

  async function latest(failed: boolean): Promise<ConnectorCallSummary | undefined> {
    const row = await inWindow()
      .selectAll()
      .where((eb) =>
        failed
          ? eb.or([eb('outcome', '=', 'error'), eb('outcome', 'is', null)])
          : eb('outcome', '=', 'success'),
      )
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      at: row.at,
      operation: row.operation,
      outcome: row.outcome,
      code: row.code,
      reason: row.failure_reason,
      ldapResultCode: row.ldap_result_code,
      ppolicyError: row.ppolicy_error,
      diagnostic: row.diagnostic,
      dn: row.dn,
      latencyMs: row.latency_ms,
      correlationId: row.correlation_id,
      operationId: row.operation_id,
    };
  }

  const [latencyP50Ms, latencyP99Ms, lastError, lastSuccess] = await Promise.all([
    percentile(0.5),
    percentile(0.99),
    latest(true),
    latest(false),
  ]);
  return {
    calls,
    succeeded,
    refused,
    failed: calls - succeeded - refused,
    latencyP50Ms,
    latencyP99Ms,
    lastError,
    lastSuccess,
  };
}
