import type { Kysely } from 'kysely';
import { v7 as timeOrderedUuid } from 'uuid';
import type { Database } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { type EventId, eventCatalog } from './event-catalog.js';
import {
  type EventLogCursor,
  type EventLogFilter,
  type EventLogRow,
  insertEventLogRows,
  listEventLogRows,
} from './event-log-store.js';

/*
 * The event log as the other features use it. Entries are written where the things they record
 * are already recorded, never sprinkled elsewhere: the audit service (administrators' actions,
 * policy changes, ended operations, syncs), the sign-in log (failures, lockouts), the connector
 * trace (directory errors) and the incident evaluator (incidents opened and resolved). Each writer
 * passes its own transaction, so an entry commits with what it records or not at all.
 */

export type { EventLogFilter, EventLogRow } from './event-log-store.js';

/** An entry about to be written: its channel, level and source come from the catalog. */
export interface NewEvent {
  readonly eventId: EventId;
  readonly at: string;
  readonly message: string;
  readonly correlationId: string | null;
  readonly userId?: string | null | undefined;
  /** Particulars a reader filters or counts by (codes, ids): never a secret. */
  readonly details?: Readonly<Record<string, string | number | boolean | null>> | undefined;
}

/** Writes `events` in the caller's transaction (or in one of their own, given the database). */
export async function recordEvents(
  db: Kysely<Database>,
  tenantId: string,
  events: readonly NewEvent[],
): Promise<void> {
  await insertEventLogRows(
    db,
    events.map((event) => {
      const definition = eventCatalog[event.eventId];
      return {
        // Time-ordered (UUIDv7): new rows land at the end of the primary-key index.
        id: timeOrderedUuid(),
        tenant_id: tenantId,
        created_at: event.at,
        channel: definition.channel,
        level: definition.level,
        event_id: event.eventId,
        source: definition.source,
        message: event.message.slice(0, 4000),
        correlation_id: event.correlationId?.slice(0, 64) ?? null,
        user_id: event.userId ?? null,
        details: JSON.stringify(event.details ?? {}),
      };
    }),
  );
}

/**
 * A page of the tenant's event log, newest first, and the token of the next page when more
 * follow. A token this function did not make is refused with 7700007.
 */
export async function listEventLog(
  db: Kysely<Database>,
  tenantId: string,
  filter: EventLogFilter,
  page: { readonly top: number; readonly skiptoken?: string | undefined },
): Promise<{ readonly events: EventLogRow[]; readonly nextToken: string | undefined }> {
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until)
    throw new RekeyError(Codes.InvalidQueryOption, {
      message: 'since must be earlier than until.',
      details: { since: filter.since, until: filter.until },
    });
  const after = page.skiptoken === undefined ? undefined : decodeCursor(page.skiptoken);
  const rows = await listEventLogRows(db, tenantId, filter, { after, limit: page.top + 1 });
  const events = rows.slice(0, page.top);
  const last = events.at(-1);
  const nextToken =
    rows.length > page.top && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : undefined;
  return { events, nextToken };
}

function encodeCursor(cursor: EventLogCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), 'utf8').toString('base64url');
}

function decodeCursor(token: string): EventLogCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      typeof decoded[0] === 'string' &&
      typeof decoded[1] === 'string'
    )
      return { createdAt: decoded[0], id: decoded[1] };
  } catch {
    // Refused below, as any other malformed token.
  }
  throw new RekeyError(Codes.InvalidQueryOption, {
    message: 'The page token is not valid; follow the @odata.nextLink of the previous page as it is.',
    details: { option: 'skiptoken' },
  });
}
