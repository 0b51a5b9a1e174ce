import type { Kysely } from 'kysely';
import type {
  Database,
  DirectoryAuditRow,
  PasswordOperationRow,
  SignInRow,
  UserRow,
} from '../platform/db/schema.js';

/*
 * The troubleshooter's reads: read-only, each bounded by a time window and a row limit, each on
 * an index that exists (checked with EXPLAIN on SQLite and PostgreSQL in evidence-store.test.ts):
 *
 *   sign-ins by user          sign_ins_upn            (tenant_id, upn_key, created_at, id)
 *   sign-ins by request       sign_ins_correlation    (tenant_id, correlation_id, created_at, id)
 *   sign-ins by code          sign_ins_error          (tenant_id, error_code, created_at, id)
 *   audit rows by request     directory_audits_correlation (tenant_id, correlation_id, activity_at, id)
 *   audit rows about a user   directory_audit_targets_target (tenant_id, target_id, activity_at)
 *   audit rows in the window  directory_audits_time   (tenant_id, activity_at, id)
 *   operations of a user      password_operations_user (user_id, created_at)
 *   operations of a request   password_operations_correlation (correlation_id)
 *   operations in the window  password_operations_tenant_time (tenant_id, created_at, id)
 *   events of an operation    password_operation_events_operation (operation_id, id)
 *   connector calls           connector_operations_operation / _connector
 *
 * The tables belong to other features; this module reads them only, with explicit columns and
 * never a secret column (no password hash, no sealed secret, no bind password).
 */

const signInColumns = [
  'id',
  'created_at',
  'user_id',
  'user_principal_name',
  'app_id',
  'app_display_name',
  'ip_address',
  'correlation_id',
  'error_code',
  'failure_reason',
  'additional_details',
] as const;

/** A sign-in row as the troubleshooter reads it. */
export type SignInEvidence = Pick<SignInRow, (typeof signInColumns)[number]>;

const auditColumns = [
  'directory_audits.id',
  'directory_audits.activity_at',
  'directory_audits.activity_display_name',
  'directory_audits.category',
  'directory_audits.correlation_id',
  'directory_audits.result',
  'directory_audits.result_reason',
  'directory_audits.initiated_by_upn',
  'directory_audits.target_resources',
  'directory_audits.additional_details',
] as const;

/** An audit row as the troubleshooter reads it. */
export type AuditEvidence = Pick<
  DirectoryAuditRow,
  | 'id'
  | 'activity_at'
  | 'activity_display_name'
  | 'category'
  | 'correlation_id'
  | 'result'
  | 'result_reason'
  | 'initiated_by_upn'
  | 'target_resources'
  | 'additional_details'
>;

const operationColumns = [
  'id',
  'user_id',
  'kind',
  'correlation_id',
  'state',
  'step',
  'attempts',
  'error_code',
  'error_retryable',
  'error_detail',
  'created_at',
  'updated_at',
  'completed_at',
] as const;

/** A password operation without its sealed secret. */
export type OperationEvidence = Pick<PasswordOperationRow, (typeof operationColumns)[number]>;

export interface OperationEventEvidence {
  readonly operation_id: string;
  readonly at: string;
  readonly state: string;
  readonly step: string;
  readonly detail: string | null;
  readonly code: number | null;
  readonly retryable: number | null;
}

export interface ConnectorCallEvidence {
  readonly connector_id: string | null;
  readonly operation_id: string | null;
  readonly operation: string;
  readonly dn: string | null;
  readonly ldap_result_code: number | null;
  readonly ppolicy_error: string | null;
  readonly diagnostic: string | null;
  readonly latency_ms: number;
  readonly correlation_id: string;
  readonly at: string;
}

/** A user by user principal name, deleted or not (the name is unique in the tenant, deleted users included). */
export async function findUserAnyStateByUpn(
  db: Kysely<Database>,
  tenantId: string,
  upn: string,
): Promise<UserRow | undefined> {
  return (await findUsersAnyStateByUpns(db, tenantId, [upn]))[0];
}

/** Users by user principal name, deleted or not, in one statement. */
export async function findUsersAnyStateByUpns(
  db: Kysely<Database>,
  tenantId: string,
  upns: readonly string[],
): Promise<UserRow[]> {
  if (upns.length === 0) return [];
  return db
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('upn_key', 'in', [...new Set(upns.map((upn) => upn.toLowerCase()))])
    .execute();
}

/** A user's sign-ins by user name (the log keeps the name typed, also for unknown users), newest first. */
export function listSignInsOfUser(
  db: Kysely<Database>,
  tenantId: string,
  upn: string,
  since: string,
  limit: number,
): Promise<SignInEvidence[]> {
  return db
    .selectFrom('sign_ins')
    .select(signInColumns)
    .where('tenant_id', '=', tenantId)
    .where('upn_key', '=', upn.toLowerCase())
    .where('created_at', '>=', since)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** The sign-ins of one request, oldest first. */
export function listSignInsOfCorrelation(
  db: Kysely<Database>,
  tenantId: string,
  correlationId: string,
  limit: number,
): Promise<SignInEvidence[]> {
  return db
    .selectFrom('sign_ins')
    .select(signInColumns)
    .where('tenant_id', '=', tenantId)
    .where('correlation_id', '=', correlationId)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Sign-ins that ended with `code` in the window, newest first. */
export function listSignInsWithCode(
  db: Kysely<Database>,
  tenantId: string,
  code: number,
  since: string,
  limit: number,
): Promise<SignInEvidence[]> {
  return db
    .selectFrom('sign_ins')
    .select(signInColumns)
    .where('tenant_id', '=', tenantId)
    .where('error_code', '=', code)
    .where('created_at', '>=', since)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** How many sign-ins ended with `code` in the window, and from how many user names. */
export async function countSignInsWithCode(
  db: Kysely<Database>,
  tenantId: string,
  code: number,
  since: string,
): Promise<{ requests: number; users: number; firstSeen: string | null; lastSeen: string | null }> {
  const row = await db
    .selectFrom('sign_ins')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('requests'),
      eb.fn.count<number | string>('upn_key').distinct().as('users'),
      eb.fn.min('created_at').as('first_seen'),
      eb.fn.max('created_at').as('last_seen'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('error_code', '=', code)
    .where('created_at', '>=', since)
    .executeTakeFirst();
  return {
    requests: Number(row?.requests ?? 0),
    users: Number(row?.users ?? 0),
    firstSeen: row?.first_seen ?? null,
    lastSeen: row?.last_seen ?? null,
  };
}

/** The users with the most sign-ins ending with `code` in the window. */
export async function topUsersWithSignInCode(
  db: Kysely<Database>,
  tenantId: string,
  code: number,
  since: string,
  limit: number,
): Promise<Array<{ userPrincipalName: string; requests: number }>> {
  const rows = await db
    .selectFrom('sign_ins')
    .select((eb) => ['upn_key', eb.fn.countAll<number | string>().as('requests')])
    .where('tenant_id', '=', tenantId)
    .where('error_code', '=', code)
    .where('created_at', '>=', since)
    .groupBy('upn_key')
    .orderBy('requests', 'desc')
    .orderBy('upn_key')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ userPrincipalName: row.upn_key, requests: Number(row.requests) }));
}

/** The audit rows of one request, oldest first. */
export function listAuditsOfCorrelation(
  db: Kysely<Database>,
  tenantId: string,
  correlationId: string,
  limit: number,
): Promise<AuditEvidence[]> {
  return db
    .selectFrom('directory_audits')
    .select(auditColumns)
    .where('directory_audits.tenant_id', '=', tenantId)
    .where('directory_audits.correlation_id', '=', correlationId)
    .orderBy('directory_audits.activity_at')
    .orderBy('directory_audits.id')
    .limit(limit)
    .execute();
}

/** The audit rows about one user (as a target) in the window, newest first. */
export function listAuditsAboutUser(
  db: Kysely<Database>,
  tenantId: string,
  userId: string,
  since: string,
  limit: number,
): Promise<AuditEvidence[]> {
  return db
    .selectFrom('directory_audit_targets')
    .innerJoin('directory_audits', 'directory_audits.id', 'directory_audit_targets.audit_id')
    .select(auditColumns)
    .where('directory_audit_targets.tenant_id', '=', tenantId)
    .where('directory_audit_targets.target_id', '=', userId)
    .where('directory_audit_targets.activity_at', '>=', since)
    .orderBy('directory_audit_targets.activity_at', 'desc')
    .limit(limit)
    .execute();
}

/** Audit rows of the given activities in the window (configuration changes), oldest first. */
export function listAuditsOfActivities(
  db: Kysely<Database>,
  tenantId: string,
  activities: readonly string[],
  since: string,
  limit: number,
): Promise<AuditEvidence[]> {
  if (activities.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('directory_audits')
    .select(auditColumns)
    .where('directory_audits.tenant_id', '=', tenantId)
    .where('directory_audits.activity_at', '>=', since)
    .where('directory_audits.activity_display_name', 'in', activities)
    .orderBy('directory_audits.activity_at')
    .orderBy('directory_audits.id')
    .limit(limit)
    .execute();
}

/** Failed audit rows of the given activities in the window whose reason starts with `AADSTS<code>:`. */
export function listFailedAuditsWithCode(
  db: Kysely<Database>,
  tenantId: string,
  activities: readonly string[],
  code: number,
  since: string,
  limit: number,
): Promise<AuditEvidence[]> {
  return db
    .selectFrom('directory_audits')
    .select(auditColumns)
    .where('directory_audits.tenant_id', '=', tenantId)
    .where('directory_audits.activity_at', '>=', since)
    .where('directory_audits.activity_display_name', 'in', activities)
    .where('directory_audits.result', '=', 'failure')
    .where('directory_audits.result_reason', 'like', `AADSTS${code}:%`)
    .orderBy('directory_audits.activity_at', 'desc')
    .orderBy('directory_audits.id', 'desc')
    .limit(limit)
    .execute();
}

/** A user's password operations in the window, newest first. */
export function listOperationsOfUser(
  db: Kysely<Database>,
  userId: string,
  since: string,
  limit: number,
): Promise<OperationEvidence[]> {
  return db
    .selectFrom('password_operations')
    .select(operationColumns)
    .where('user_id', '=', userId)
    .where('created_at', '>=', since)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/** The password operations of one request. */
export async function listOperationsOfCorrelation(
  db: Kysely<Database>,
  tenantId: string,
  correlationId: string,
  limit: number,
): Promise<OperationEvidence[]> {
  // The index is on the correlation ID alone: the tenant is checked on the few rows it finds, so
  // the planner is not tempted by the tenant's time index (a scan of every operation).
  const rows = await db
    .selectFrom('password_operations')
    .select([...operationColumns, 'tenant_id'])
    .where('correlation_id', '=', correlationId)
    .limit(limit)
    .execute();
  return rows
    .filter((row) => row.tenant_id === tenantId)
    .map(({ tenant_id: _tenant, ...row }) => row)
    .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
}

/**
 * The tenant's operations in the window that failed with `code`, newest first: for 120008 (what
 * the caller of an ended operation sees) every terminated one, whatever its cause; for another
 * code those whose last failure has it.
 */
export function listFailedOperations(
  db: Kysely<Database>,
  tenantId: string,
  code: number,
  since: string,
  limit: number,
): Promise<OperationEvidence[]> {
  const query = db
    .selectFrom('password_operations')
    .select(operationColumns)
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', since);
  return (code === 120008 ? query.where('state', '=', 'terminated') : query.where('error_code', '=', code))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** The state changes and steps of some operations, oldest first. */
export function listOperationEvents(
  db: Kysely<Database>,
  operationIds: readonly string[],
): Promise<OperationEventEvidence[]> {
  if (operationIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('password_operation_events')
    .select(['operation_id', 'at', 'state', 'step', 'detail', 'code', 'retryable'])
    .where('operation_id', 'in', operationIds)
    .orderBy('operation_id')
    .orderBy('id')
    .execute();
}

const connectorCallColumns = [
  'connector_id',
  'operation_id',
  'operation',
  'dn',
  'ldap_result_code',
  'ppolicy_error',
  'diagnostic',
  'latency_ms',
  'correlation_id',
  'at',
] as const;

/** The connector calls some operations made, oldest first. */
export function listConnectorCallsOfOperations(
  db: Kysely<Database>,
  tenantId: string,
  operationIds: readonly string[],
): Promise<ConnectorCallEvidence[]> {
  if (operationIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('connector_operations')
    .select(connectorCallColumns)
    .where('tenant_id', '=', tenantId)
    .where('operation_id', 'in', operationIds)
    .orderBy('at')
    .orderBy('id')
    .execute();
}

/** A connector's most recent calls in the window, newest first. */
export function listRecentConnectorCalls(
  db: Kysely<Database>,
  tenantId: string,
  connectorId: string,
  since: string,
  limit: number,
): Promise<ConnectorCallEvidence[]> {
  return db
    .selectFrom('connector_operations')
    .select(connectorCallColumns)
    .where('tenant_id', '=', tenantId)
    .where('connector_id', '=', connectorId)
    .where('at', '>=', since)
    .orderBy('at', 'desc')
    .limit(limit)
    .execute();
}
