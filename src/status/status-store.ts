import { type Kysely, sql } from 'kysely';
import type { Database, ServiceIncidentsTable } from '../platform/db/schema.js';

/*
 * What service status reads and writes: the worker queue's depth and lag, the connector trace's
 * recent results, how many users and requests an error code hit in a window, and the incidents
 * with their posts. Every read is one index range (password_operations_due, the log tables'
 * (tenant, code, time) indexes, connector_operations_connector).
 */

export type IncidentRow = ServiceIncidentsTable;

export interface QueueStats {
  /** Operations a worker could claim now. */
  readonly due: number;
  /** When the oldest of them became due; null when none is. */
  readonly oldestDueAt: string | null;
}

/** The operations that are due now (for every tenant: one queue serves them all). */
export async function readQueueStats(db: Kysely<Database>, now: string): Promise<QueueStats> {
  const row = await db
    .selectFrom('password_operations')
    .select((eb) => [eb.fn.countAll<number | string>().as('due'), eb.fn.min('next_attempt_at').as('oldest')])
    .where('state', 'in', ['notStarted', 'retryScheduled', 'running'])
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
    .executeTakeFirst();
  return { due: Number(row?.due ?? 0), oldestDueAt: (row?.oldest as string | null | undefined) ?? null };
}

/** What one connector's calls since a time came to. */
export interface ConnectorCallCounts {
  readonly connectorId: string;
  readonly calls: number;
  /** Calls that got no LDAP answer at all (network failure, timeout). */
  readonly unreachable: number;
  readonly lastAt: string;
}

/** The tenant's connector calls since `since`, per connector. */
export async function countConnectorCalls(
  db: Kysely<Database>,
  tenantId: string,
  since: string,
): Promise<ConnectorCallCounts[]> {
  const rows = await db
    .selectFrom('connector_operations')
    .select((eb) => [
      'connector_id',
      eb.fn.countAll<number | string>().as('calls'),
      eb.fn.sum<number | string>(sql`case when ldap_result_code is null then 1 else 0 end`).as('unreachable'),
      eb.fn.max('at').as('last_at'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('at', '>=', since)
    .where('connector_id', 'is not', null)
    .groupBy('connector_id')
    .execute();
  return rows.map((row) => ({
    connectorId: row.connector_id ?? '',
    calls: Number(row.calls),
    unreachable: Number(row.unreachable ?? 0),
    lastAt: String(row.last_at),
  }));
}

/** How many requests and distinct users `codes` hit since `since`: operations and sign-ins together. */
export async function countCodeHits(
  db: Kysely<Database>,
  tenantId: string,
  codes: readonly number[],
  since: string,
): Promise<{ readonly requests: number; readonly users: number }> {
  const [operations, signIns] = await Promise.all([
    db
      .selectFrom('password_operations')
      .select(['user_id as who'])
      .where('tenant_id', '=', tenantId)
      .where('error_code', 'in', [...codes])
      .where('updated_at', '>=', since)
      .execute(),
    db
      .selectFrom('sign_ins')
      .select(['upn_key as who', 'user_id'])
      .where('tenant_id', '=', tenantId)
      .where('error_code', 'in', [...codes])
      .where('created_at', '>=', since)
      .execute(),
  ]);
  const users = new Set<string>([
    ...operations.map((row) => row.who),
    ...signIns.map((row) => row.user_id ?? `upn:${row.who}`),
  ]);
  return { requests: operations.length + signIns.length, users: users.size };
}

/** How many operations ended terminated since `since`, and of how many distinct users. */
export async function countTerminatedOperations(
  db: Kysely<Database>,
  tenantId: string,
  since: string,
): Promise<{ readonly requests: number; readonly users: number }> {
  const row = await db
    .selectFrom('password_operations')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('requests'),
      eb.fn.count<number | string>('user_id').distinct().as('users'),
    ])
    .where('state', '=', 'terminated')
    .where('tenant_id', '=', tenantId)
    .where('completed_at', '>=', since)
    .executeTakeFirst();
  return { requests: Number(row?.requests ?? 0), users: Number(row?.users ?? 0) };
}

/** The open incident of a rule for a service, if any. */
export function findOpenIncident(
  db: Kysely<Database>,
  tenantId: string,
  rule: string,
  service: string,
): Promise<IncidentRow | undefined> {
  return db
    .selectFrom('service_incidents')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('is_resolved', '=', 0)
    .where('rule', '=', rule)
    .where('service', '=', service)
    .executeTakeFirst();
}

export async function insertIncident(db: Kysely<Database>, row: IncidentRow, post: string): Promise<void> {
  await db.insertInto('service_incidents').values(row).execute();
  await addIncidentPost(db, row.id, row.start_at, post);
}

export async function addIncidentPost(
  db: Kysely<Database>,
  incidentId: string,
  at: string,
  description: string,
): Promise<void> {
  await db
    .insertInto('service_incident_posts')
    .values({ incident_id: incidentId, created_at: at, post_type: 'regular', description })
    .execute();
}

/** Updates an open incident's figures (and resolves it when `resolvedAt` is given). */
export async function updateIncident(
  db: Kysely<Database>,
  id: string,
  change: {
    readonly at: string;
    readonly usersAffected: number;
    readonly requestsAffected: number;
    readonly impactDescription: string;
    readonly resolvedAt?: string | undefined;
  },
): Promise<boolean> {
  const result = await db
    .updateTable('service_incidents')
    .set({
      users_affected: change.usersAffected,
      requests_affected: change.requestsAffected,
      impact_description: change.impactDescription,
      last_modified_at: change.at,
      ...(change.resolvedAt ? { is_resolved: 1, status: 'serviceRestored', end_at: change.resolvedAt } : {}),
    })
    .where('id', '=', id)
    .where('is_resolved', '=', 0)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The tenant's incidents that started or were still open since `since`, newest first. */
export function listIncidents(db: Kysely<Database>, tenantId: string, since: string): Promise<IncidentRow[]> {
  return db
    .selectFrom('service_incidents')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb.or([eb('start_at', '>=', since), eb('is_resolved', '=', 0), eb('end_at', '>=', since)]))
    .orderBy('start_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

export function findIncident(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<IncidentRow | undefined> {
  return db
    .selectFrom('service_incidents')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The posts of some incidents, oldest first. */
export async function listIncidentPosts(
  db: Kysely<Database>,
  incidentIds: readonly string[],
): Promise<Array<{ incident_id: string; created_at: string; post_type: string; description: string }>> {
  if (incidentIds.length === 0) return [];
  return db
    .selectFrom('service_incident_posts')
    .select(['incident_id', 'created_at', 'post_type', 'description'])
    .where('incident_id', 'in', [...incidentIds])
    .orderBy('id')
    .execute();
}

/** Deletes resolved incidents that ended before `cutoff`, with their posts; returns how many. */
export async function deleteResolvedIncidentsBefore(
  db: Kysely<Database>,
  tenantId: string,
  cutoff: string,
): Promise<number> {
  const old = await db
    .selectFrom('service_incidents')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('is_resolved', '=', 1)
    .where('end_at', '<', cutoff)
    .execute();
  if (old.length === 0) return 0;
  const ids = old.map((row) => row.id);
  await db.deleteFrom('service_incident_posts').where('incident_id', 'in', ids).execute();
  await db.deleteFrom('service_incidents').where('id', 'in', ids).execute();
  return ids.length;
}

/**
 * Claims the next evaluation of the tenant's incident rules for `owner` until `until`: a
 * conditional update, so of several processes polling at once exactly one wins each interval.
 */
export async function claimStatusEvaluation(
  db: Kysely<Database>,
  tenantId: string,
  owner: string,
  now: string,
  until: string,
): Promise<boolean> {
  await db
    .insertInto('status_evaluations')
    .values({ tenant_id: tenantId, owner: null, claimed_until: null, evaluated_at: null })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  const result = await db
    .updateTable('status_evaluations')
    .set({ owner, claimed_until: until, evaluated_at: now })
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
