import { sql } from 'kysely';
import type { FieldMap, FilterableProperty, ResourceDescription } from '../platform/odata/index.js';

/*
 * What `GET /v1.0/auditLogs/directoryAudits` (and `rekey logs export audits --filter`) accept,
 * and how each property reaches the `directory_audits` table. Filterable properties and
 * operators follow Graph's documentation of directoryAudit.
 */

/** Every property of Rekey's Graph `directoryAudit`, in output order (see toGraphDirectoryAudit). */
const auditProperties = [
  'id',
  'category',
  'correlationId',
  'result',
  'resultReason',
  'activityDisplayName',
  'activityDateTime',
  'loggedByService',
  'operationType',
  'initiatedBy',
  'targetResources',
  'additionalDetails',
] as const;

const eqText: FilterableProperty = { type: 'string', operators: ['eq'] };
const text: FilterableProperty = { type: 'string', operators: ['eq', 'startswith'] };

/** Newest first unless `$orderby=activityDateTime asc`; `$top` at most 1000. */
export const directoryAuditsResource: ResourceDescription = {
  name: 'directoryAudits',
  properties: Object.fromEntries(auditProperties.map((name) => [name, 'default'])),
  filter: {
    properties: {
      // Audit ids are GUIDs (time-ordered): compared in lower case, as GET by id and sign-ins do.
      id: { type: 'guid', operators: ['eq'] },
      activityDateTime: { type: 'datetime', operators: ['eq', 'ge', 'le', 'gt', 'lt'] },
      activityDisplayName: text,
      category: eqText,
      correlationId: eqText,
      loggedByService: eqText,
      operationType: eqText,
      result: eqText,
      'initiatedBy/user/id': { type: 'guid', operators: ['eq'], nullable: true },
      'initiatedBy/user/userPrincipalName': { ...text, nullable: true },
      'initiatedBy/app/appId': { type: 'guid', operators: ['eq'], nullable: true },
    },
    collections: {
      targetResources: { properties: { id: { type: 'string', operators: ['eq'] } } },
    },
  },
  orderBy: ['activityDateTime'],
  defaultOrderBy: [{ property: 'activityDateTime', direction: 'desc' }],
  key: 'id',
  top: { default: 1000, max: 1000 },
  count: true,
};

/** How each filterable or sortable audit property maps to SQL. */
export const directoryAuditFields: FieldMap = {
  fields: {
    id: { column: 'directory_audits.id' },
    activityDateTime: { column: 'directory_audits.activity_at' },
    activityDisplayName: { column: 'directory_audits.activity_display_name', caseInsensitive: true },
    category: { column: 'directory_audits.category', caseInsensitive: true },
    correlationId: { column: 'directory_audits.correlation_id' },
    loggedByService: { column: 'directory_audits.logged_by_service', caseInsensitive: true },
    operationType: { column: 'directory_audits.operation_type', caseInsensitive: true },
    result: { column: 'directory_audits.result', caseInsensitive: true },
    'initiatedBy/user/id': { column: 'directory_audits.initiated_by_user_id', nullable: true },
    'initiatedBy/user/userPrincipalName': {
      column: 'directory_audits.initiated_by_upn',
      caseInsensitive: true,
      nullable: true,
    },
    'initiatedBy/app/appId': { column: 'directory_audits.initiated_by_app_id', nullable: true },
  },
  lambdas: {
    // One row per target in directory_audit_targets, indexed by target id. An uncorrelated IN
    // lets both databases find the matching targets once through that index and then fetch their
    // audits, where a correlated EXISTS would probe the targets once per audit row scanned.
    targetResources: (node, context) =>
      sql`directory_audits.id in (select audit_target.audit_id from directory_audit_targets as audit_target where ${context.compile(
        node.predicate,
        { fields: { id: { column: 'audit_target.target_id' } } },
      )})`,
  },
};
