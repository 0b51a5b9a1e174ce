import { type EventId, eventCatalog } from './event-catalog.js';
import type { EventLogEntryView } from './event-log-schemas.js';
import type { EventLogRow } from './event-log-service.js';

/** An entry as the API and `rekey logs events --json` show it. */
export function toEventLogEntry(row: EventLogRow): EventLogEntryView {
  const definition = eventCatalog[row.event_id as EventId] as { readonly name: string } | undefined;
  let details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.details);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      details = parsed as Record<string, unknown>;
  } catch {
    // Written by recordEvents as JSON; anything else shows as no details.
  }
  return {
    id: row.id,
    createdDateTime: row.created_at,
    channel: row.channel,
    level: row.level,
    eventId: row.event_id,
    eventName: definition?.name ?? 'Unknown',
    source: row.source,
    message: row.message,
    correlationId: row.correlation_id,
    userId: row.user_id,
    details,
  };
}
