import type { PasswordOperationRow } from '../platform/db/schema.js';
import { findCatalogEntry } from '../platform/errors/catalog.js';

/** Graph's `longRunningOperation` status of an operation state. */
export function graphOperationStatus(
  row: PasswordOperationRow,
): 'notStarted' | 'running' | 'succeeded' | 'failed' {
  switch (row.state) {
    case 'notStarted':
      return 'notStarted';
    case 'running':
    case 'retryScheduled':
      return 'running';
    case 'succeeded':
      return 'succeeded';
    case 'terminated':
      return 'failed';
    default: {
      const unreachable: never = row.state;
      return unreachable;
    }
  }
}

/** The `statusDetail` text: for a failure, the terminating code and the underlying cause. */
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
