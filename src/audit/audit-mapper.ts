import type { DirectoryAuditRow } from '../platform/db/schema.js';
import type { DirectoryAudit } from './audit-schemas.js';

/** Graph's `directoryAudit` shape of a stored row. */
export function toGraphDirectoryAudit(row: DirectoryAuditRow): DirectoryAudit {
  return {
    id: row.id,
    category: row.category,
    correlationId: row.correlation_id,
    result: row.result,
    resultReason: row.result_reason,
    activityDisplayName: row.activity_display_name,
    activityDateTime: row.activity_at,
    loggedByService: row.logged_by_service,
    operationType: row.operation_type,
    initiatedBy: JSON.parse(row.initiated_by),
    targetResources: JSON.parse(row.target_resources),
    additionalDetails: JSON.parse(row.additional_details),
  };
}
