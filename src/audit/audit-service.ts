import type { Kysely } from 'kysely';
import { v7 as timeOrderedUuid } from 'uuid';
import { recordEvents } from '../event-log/event-log-service.js';
import type { Database, DirectoryAuditRow } from '../platform/db/schema.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { ListRequest } from '../platform/odata/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { type AuditActivityName, type AuditTargetType, auditActivities } from './audit-activities.js';
import { auditEventOf } from './audit-events.js';
import { type DirectoryAuditListPage, findAuditById, insertAuditRow, listAuditsPage } from './audit-store.js';

/*
 * The directory audit log as the other features use it: every feature records its audit rows
 * through recordAudit (inside its own transaction), and the log API and the export read them
 * through listAudits and findAudit. What a row says about an activity comes from the catalog in
 * audit-activities.ts; who did it comes from the request context.
 */

export type { DirectoryAuditListPage } from './audit-store.js';

/** One changed property, as Graph's `modifiedProperty`; never a secret value. */
export interface ModifiedProperty {
  readonly displayName: string;
  readonly oldValue: string | null;
  readonly newValue: string | null;
}

/**
 * One object an audit event is about. Its Graph `type` is not given here: it is the activity's
 * `targetType` in the catalog.
 */
export interface AuditTarget {
  readonly id: string;
  readonly displayName: string | null;
  readonly userPrincipalName: string | null;
  readonly modifiedProperties?: readonly ModifiedProperty[];
}

/** A target as it is stored and shown: Graph's `targetResource`. */
export interface AuditTargetResource {
  readonly id: string;
  readonly displayName: string | null;
  readonly type: AuditTargetType;
  readonly userPrincipalName: string | null;
  readonly modifiedProperties: readonly ModifiedProperty[];
}

/** A directory audit event about to be written (Graph's `directoryAudit`). */
export interface AuditEntry {
  /** What happened; its display name, category, operation type and service come from the catalog. */
  readonly activity: AuditActivityName;
  readonly result: 'success' | 'failure' | 'timeout';
  readonly resultReason?: string;
  readonly targets: readonly AuditTarget[];
  readonly additionalDetails?: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** `target` as a row of `activity` stores it, with the activity's target type. */
export function auditTargetResource(activity: AuditActivityName, target: AuditTarget): AuditTargetResource {
  return {
    id: target.id,
    displayName: target.displayName,
    type: auditActivities[activity].targetType,
    userPrincipalName: target.userPrincipalName,
    modifiedProperties: target.modifiedProperties ?? [],
  };
}

/**
 * Records one audit event, attributed to the context's actor (or to Rekey itself), with one
 * target row per distinct target id, and its event-log entry (audit-events.ts). Pass the
 * transaction of the change it records, so that they commit together; given the database, the
 * event is written in a transaction of its own.
 * Returns the event's id.
 */
export async function recordAudit(
  db: Kysely<Database>,
  tenantId: string,
  context: RequestContext,
  entry: AuditEntry,
  at: string,
): Promise<string> {
  // Time-ordered (UUIDv7): each new row lands at the end of the primary-key index instead of
  // at a random page, which keeps writes cheap at millions of rows.
  const id = timeOrderedUuid();
  const actor = context.actor;
  const initiatedBy = actor
    ? {
        user: {
          id: actor.userId,
          displayName: actor.displayName,
          userPrincipalName: actor.userPrincipalName,
          ipAddress: context.ipAddress,
        },
        app: { appId: actor.appId, displayName: actor.appDisplayName },
      }
    : { user: null, app: { appId: null, displayName: 'Rekey' } };
  const activity = auditActivities[entry.activity];
  const row: DirectoryAuditRow = {
    id,
    tenant_id: tenantId,
    activity_at: at,
    activity_display_name: activity.displayName,
    category: activity.category,
    correlation_id: context.correlationId,
    logged_by_service: activity.loggedByService,
    operation_type: activity.operationType,
    result: entry.result,
    result_reason: entry.resultReason ?? '',
    initiated_by_user_id: actor?.userId ?? null,
    initiated_by_upn: actor?.userPrincipalName ?? null,
    initiated_by_app_id: actor?.appId ?? null,
    initiated_by: JSON.stringify(initiatedBy),
    target_resources: JSON.stringify(
      entry.targets.map((target) => auditTargetResource(entry.activity, target)),
    ),
    additional_details: JSON.stringify(entry.additionalDetails ?? []),
  };
  // The event log's entry for it commits with the row (see audit-events.ts).
  const event = auditEventOf(context, entry, at);
  const write = async (trx: Kysely<Database>) => {
    await insertAuditRow(trx, row, [...new Set(entry.targets.map((target) => target.id))]);
    if (event) await recordEvents(trx, tenantId, [event]);
  };
  if (db.isTransaction) await write(db);
  else await db.transaction().execute(write);
  return id;
}

/** The `resultReason` of a failed or refused action: the code and message its caller was given. */
export function failureReason(error: { readonly code: number; readonly message: string }): string {
  return `AADSTS${error.code}: ${error.message}`;
}

/** What {@link auditRefusals} needs to audit a refused action. */
export interface RefusalAudit {
  readonly db: Kysely<Database>;
  readonly tenantId: string;
  readonly context: RequestContext;
  /** The catalog codes by which the directory's own rules refuse the action. */
  readonly codes: ReadonlySet<number>;
  /**
   * The failure's audit entry (`resultReason` is {@link failureReason} of the refusal), or
   * undefined when the refusal concerns no directory object and there is nothing to audit.
   */
  readonly entry: (refusal: RekeyError) => AuditEntry | undefined | Promise<AuditEntry | undefined>;
  readonly now: () => string;
}

/**
 * Runs an administrative action. When the directory's own rules refuse it (a code in
 * `audit.codes`), the attempt is audited as a failure before the error reaches the caller:
 * those refusals are what an auditor looks for. The row is written outside the action's
 * transaction, which the refusal rolls back; other errors pass through unaudited.
 */
export async function auditRefusals<T>(audit: RefusalAudit, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof RekeyError && audit.codes.has(error.code)) {
      const entry = await audit.entry(error);
      if (entry) await recordAudit(audit.db, audit.tenantId, audit.context, entry, audit.now());
    }
    throw error;
  }
}

/**
 * One keyset page of the tenant's audit log for a checked OData query (from
 * `directoryAuditsResource`), newest first unless the query orders otherwise.
 */
export function listAudits(
  db: Kysely<Database>,
  tenantId: string,
  request: ListRequest,
): Promise<DirectoryAuditListPage> {
  return listAuditsPage(db, tenantId, request);
}

/** One audit event of the tenant by id, or undefined. */
export function findAudit(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<DirectoryAuditRow | undefined> {
  return findAuditById(db, tenantId, id);
}
