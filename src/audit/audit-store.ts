import type { Kysely } from 'kysely';
import { v7 as timeOrderedUuid } from 'uuid';
import type { Database, DirectoryAuditRow } from '../platform/db/schema.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import {
  type CheckedFilter,
  type CountedPage,
  type FieldMap,
  fetchListPage,
  type ListRequest,
} from '../platform/odata/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { type AuditActivityName, type AuditTargetType, auditActivities } from './audit-activities.js';
import { directoryAuditFields } from './audit-query.js';

// The Graph shape of a row lives in audit-mapper.ts; re-exported for the tests that import it from here.
export { toGraphDirectoryAudit } from './audit-mapper.js';

export const auditColumns = [
  'id',
  'tenant_id',
  'activity_at',
  'activity_display_name',
  'category',
  'correlation_id',
  'logged_by_service',
  'operation_type',
  'result',
  'result_reason',
  'initiated_by_user_id',
  'initiated_by_upn',
  'initiated_by_app_id',
  'initiated_by',
  'target_resources',
  'additional_details',
] as const;

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
 * Writes one audit event, attributed to the context's actor (or to Rekey itself), with one
 * `directory_audit_targets` row per distinct target id. Pass a transaction to make the event part
 * of the change it records; otherwise the two inserts run in a transaction of their own.
 */
export async function insertAudit(
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
  const targetIds = [...new Set(entry.targets.map((target) => target.id))];
  const write = async (trx: Kysely<Database>) => {
    await trx
      .insertInto('directory_audits')
      .values({
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
      })
      .execute();
    if (targetIds.length > 0) {
      await trx
        .insertInto('directory_audit_targets')
        .values(
          targetIds.map((targetId) => ({
            audit_id: id,
            target_id: targetId,
            tenant_id: tenantId,
            activity_at: at,
          })),
        )
        .execute();
    }
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
      if (entry) await insertAudit(audit.db, audit.tenantId, audit.context, entry, audit.now());
    }
    throw error;
  }
}

export type DirectoryAuditListPage = CountedPage<DirectoryAuditRow>;

/** A filter that asks for one target's audits, split into the target and the rest of the filter. */
interface SingleTargetFilter {
  readonly targetId: string;
  readonly rest: CheckedFilter | undefined;
}

/** `targetResources/any(t: t/id eq 'x')`'s target id, or undefined for any other condition. */
function targetIdOf(filter: CheckedFilter): string | undefined {
  if (filter.kind !== 'any' || filter.collection !== 'targetResources') return undefined;
  const predicate = filter.predicate;
  if (predicate.kind !== 'compare' || predicate.operator !== 'eq' || predicate.field.path !== 'id') {
    return undefined;
  }
  return typeof predicate.value === 'string' ? predicate.value : undefined;
}

/**
 * Recognises the audit history of one target: the lambda alone, or as one operand of a top-level
 * `and` (the other operands stay as the rest). Anything else, `or` included, is undefined.
 */
export function singleTargetFilter(filter: CheckedFilter | undefined): SingleTargetFilter | undefined {
  if (filter === undefined) return undefined;
  const targetId = targetIdOf(filter);
  if (targetId !== undefined) return { targetId, rest: undefined };
  if (filter.kind !== 'and') return undefined;
  const index = filter.operands.findIndex((operand) => targetIdOf(operand) !== undefined);
  const operand = filter.operands[index];
  const id = operand && targetIdOf(operand);
  if (id === undefined) return undefined;
  const others = filter.operands.filter((_, i) => i !== index);
  return { targetId: id, rest: others.length === 1 ? others[0] : { kind: 'and', operands: others } };
}

/**
 * The audit fields with the keyset order (and time conditions) read from the target rows, which
 * carry their audit's time and id: the page is then read in the order of
 * `directory_audit_targets_target` (tenant, target, time, audit id).
 */
const targetOrderedAuditFields: FieldMap = {
  ...directoryAuditFields,
  fields: {
    ...directoryAuditFields.fields,
    id: { column: 'audit_target.audit_id' },
    activityDateTime: { column: 'audit_target.activity_at' },
  },
};

const qualifiedAuditColumns = auditColumns.map((column) => `directory_audits.${column}` as const);

/**
 * One keyset page of the audit log matching a checked OData filter (from `directoryAuditsResource`).
 *
 * One target's history (`targetResources/any(t: t/id eq 'x')`, the portal's "what happened to this
 * user") is read from the target rows in index order and joined to 51 audits by key. Through the
 * general path both databases would fetch every audit of the target and sort them for the page,
 * a cost that grows with the target's whole history. The target rows are written with their
 * audit (one per distinct target, in the same transaction), so the join yields each audit once.
 */
export async function listAuditsPage(
  db: Kysely<Database>,
  tenantId: string,
  query: ListRequest,
): Promise<DirectoryAuditListPage> {
  const single = singleTargetFilter(query.filter);
  if (single !== undefined) {
    const scoped = db
      .selectFrom('directory_audit_targets as audit_target')
      .innerJoin('directory_audits', 'directory_audits.id', 'audit_target.audit_id')
      .select(qualifiedAuditColumns)
      .where('audit_target.tenant_id', '=', tenantId)
      .where('audit_target.target_id', '=', single.targetId)
      .where('directory_audits.tenant_id', '=', tenantId);
    return fetchListPage(scoped, { ...query, filter: single.rest }, targetOrderedAuditFields);
  }
  const scoped = db
    .selectFrom('directory_audits')
    .select(auditColumns)
    .where('directory_audits.tenant_id', '=', tenantId);
  return fetchListPage(scoped, query, directoryAuditFields);
}

/** One audit event of the tenant by id, or undefined. */
export async function findAuditById(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<DirectoryAuditRow | undefined> {
  return db
    .selectFrom('directory_audits')
    .select(auditColumns)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The audit events of one correlation ID, oldest first (for tests and the troubleshooter). */
export async function listAuditsByCorrelation(
  db: Kysely<Database>,
  tenantId: string,
  correlationId: string,
): Promise<DirectoryAuditRow[]> {
  return db
    .selectFrom('directory_audits')
    .select(auditColumns)
    .where('tenant_id', '=', tenantId)
    .where('correlation_id', '=', correlationId)
    .orderBy('activity_at')
    .orderBy('id')
    .execute();
}
