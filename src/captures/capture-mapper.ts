import type { CaptureView } from './capture-schemas.js';
import type { CaptureRecord } from './capture-service.js';

/** A capture as the API and the CLI show it; `now` decides whether it is still recording. */
export function toCaptureView(capture: CaptureRecord, now: Date): CaptureView {
  const recording = capture.stopped_at === null && capture.ends_at > now.toISOString();
  return {
    id: capture.id,
    createdDateTime: capture.created_at,
    createdBy:
      capture.created_by_user_id === null
        ? null
        : { id: capture.created_by_user_id, userPrincipalName: capture.created_by_upn ?? '' },
    target: capture.target,
    userPrincipalName: capture.user_principal_name,
    userId: capture.user_id,
    correlationId: capture.correlation_id,
    endDateTime: capture.ends_at,
    stoppedDateTime: capture.stopped_at,
    status: recording ? 'recording' : 'ended',
    maxEntries: capture.max_entries,
    entryCount: capture.entry_count,
    droppedCount: capture.dropped_count,
  };
}
