import type { PasswordOperationRow } from '../platform/db/schema.js';
import { findCatalogEntry } from '../platform/errors/catalog.js';
import type { ListedOperationRow, OperationEventRow } from './operation-engine.js';
import type { OperationEventView, OperationView, OperationWithHistoryView } from './operation-schemas.js';

/**
 * The `statusDetail` text of an operation: for a terminated one, 120008 and the underlying cause;
 * for one waiting for a retry, when and why. Graph's longRunningOperation shows the same text.
 */
export function describeOperationStatus(row: PasswordOperationRow): string | null {
  if (row.state === 'terminated' && row.error_code !== null) {
    const cause = findCatalogEntry(row.error_code);
    return `AADSTS120008 PasswordChangeAsyncJobStateTerminated; cause AADSTS${row.error_code} ${cause?.name ?? ''}: ${row.error_detail ?? cause?.message ?? ''}`.trim();
  }
  if (row.state === 'retryScheduled' && row.error_code !== null) {
    return `retry ${row.attempts} scheduled for ${row.next_attempt_at} after AADSTS${row.error_code}: ${row.error_detail ?? ''}`;
  }
  return null;
}

/** An operation as Rekey's API shows it. Named fields only: the sealed password never leaves. */
export function toOperationView(row: ListedOperationRow): OperationView {
  const pending = row.state === 'notStarted' || row.state === 'retryScheduled';
  return {
    id: row.id,
    userId: row.user_id,
    userPrincipalName: row.user_principal_name,
    kind: row.kind,
    state: row.state,
    step: row.step,
    attempts: row.attempts,
    correlationId: row.correlation_id,
    requestedByUserId: row.requested_by_user_id,
    requestedByAppId: row.requested_by_app_id,
    createdDateTime: row.created_at,
    lastActionDateTime: row.updated_at,
    completedDateTime: row.completed_at,
    nextAttemptDateTime: pending ? row.next_attempt_at : null,
    deadlineDateTime: row.deadline_at,
    error:
      row.error_code === null
        ? null
        : {
            code: row.error_code,
            name: findCatalogEntry(row.error_code)?.name ?? '',
            retryable: row.error_retryable === 1,
            detail: row.error_detail,
          },
    statusDetail: describeOperationStatus(row),
  };
}

/** One history entry as the API shows it. */
export function toOperationEventView(event: OperationEventRow): OperationEventView {
  return {
    at: event.at,
    state: event.state,
    step: event.step,
    detail: event.detail,
    code: event.code,
    retryable: event.retryable === null ? null : event.retryable === 1,
  };
}

/** An operation with its history. */
export function toOperationWithHistory(
  row: ListedOperationRow,
  events: readonly OperationEventRow[],
): OperationWithHistoryView {
  return { ...toOperationView(row), history: events.map(toOperationEventView) };
}
