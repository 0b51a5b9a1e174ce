import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import type { Database } from '../platform/db/schema.js';

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

/** Keeps trace records (the client's own records: nothing in them is secret). */
export async function insertConnectorTrace(
  db: Kysely<Database>,
  tenantId: string,
  records: readonly DirectoryTraceRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await db
    .insertInto('connector_operations')
    .values(
      records.map((record) => ({
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
      })),
    )
    .execute();
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
  }));
}
