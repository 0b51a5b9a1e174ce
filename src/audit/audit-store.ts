import type { Kysely } from 'kysely';
import { preparedQuery, rowOfParameters } from '../platform/db/prepared-query.js';
import type { Database, DirectoryAuditRow } from '../platform/db/schema.js';
import {
  type CheckedFilter,
  type CountedPage,
  type FieldMap,
  fetchListPage,
  type ListRequest,
} from '../platform/odata/index.js';
import { directoryAuditFields } from './audit-query.js';

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
] as const satisfies ReadonlyArray<keyof DirectoryAuditRow>;

/** The insert of an audit row, every column given: prepared once, as every change writes one. */
const auditInsert = preparedQuery((db, p: DirectoryAuditRow) =>
  db.insertInto('directory_audits').values(rowOfParameters(p, auditColumns)),
);

/** The insert of an audit row's one target, the usual case; several targets are one statement built each time. */
const auditTargetInsert = preparedQuery(
  (db, p: { auditId: string; targetId: string; tenantId: string; activityAt: string }) =>
    db.insertInto('directory_audit_targets').values({
      audit_id: p.auditId,
      target_id: p.targetId,
      tenant_id: p.tenantId,
      activity_at: p.activityAt,
    }),
);

/**
 * Writes one audit row and one `directory_audit_targets` row per target id (the caller passes
 * each id once). Pass a transaction to make the event part of the change it records; otherwise the two inserts
 * run in a transaction of their own.
 */
export async function insertAuditRow(
  db: Kysely<Database>,
  row: DirectoryAuditRow,
  targetIds: readonly string[],
): Promise<void> {
  const write = async (trx: Kysely<Database>) => {
    await auditInsert(trx, row);
    const [only, ...more] = targetIds;
    if (only !== undefined && more.length === 0) {
      await auditTargetInsert(trx, {
        auditId: row.id,
        targetId: only,
        tenantId: row.tenant_id,
        activityAt: row.activity_at,
      });
    } else if (targetIds.length > 0) {
      await trx
        .insertInto('directory_audit_targets')
        .values(
          targetIds.map((targetId) => ({
            audit_id: row.id,
            target_id: targetId,
            tenant_id: row.tenant_id,
            activity_at: row.activity_at,
          })),
        )
        .execute();
    }
  };
  if (db.isTransaction) await write(db);
  else await db.transaction().execute(write);
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
