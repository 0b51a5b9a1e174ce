import type { Kysely } from 'kysely';
import { preparedQuery, rowOfParameters } from '../platform/db/prepared-query.js';
import type { Database, EventLogTable } from '../platform/db/schema.js';

/** An event-log row as stored. */
export type EventLogRow = EventLogTable;

const columns = [
  'id',
  'tenant_id',
  'created_at',
  'channel',
  'level',
  'event_id',
  'source',
  'message',
  'correlation_id',
  'user_id',
  'details',
] as const satisfies ReadonlyArray<keyof EventLogTable>;

/** The insert of one entry, every column given: prepared once, as every change writes one. */
const entryInsert = preparedQuery((db, p: EventLogRow) =>
  db.insertInto('event_log').values(rowOfParameters(p, columns)),
);

/** Writes entries; in the caller's transaction when it passes one, so they commit with what they record. */
export async function insertEventLogRows(db: Kysely<Database>, rows: readonly EventLogRow[]): Promise<void> {
  const [only, ...more] = rows;
  if (only === undefined) return;
  if (more.length === 0) {
    await entryInsert(db, only);
    return;
  }
  await db
    .insertInto('event_log')
    .values([...rows])
    .execute();
}

/** What a page of the event log may be narrowed to; every filter is optional. */
export interface EventLogFilter {
  readonly channel?: EventLogRow['channel'] | undefined;
  readonly level?: EventLogRow['level'] | undefined;
  readonly eventId?: number | undefined;
  readonly source?: string | undefined;
  readonly correlationId?: string | undefined;
  /** At or after (ISO 8601, stored form). */
  readonly since?: string | undefined;
  /** Before (ISO 8601, stored form). */
  readonly until?: string | undefined;
}

/** Where a page starts: after the last row of the page before, newest first. */
export interface EventLogCursor {
  readonly createdAt: string;
  readonly id: string;
}

/**
 * A page of the tenant's event log, newest first: keyset paging on (created_at, id). The
 * correlation, event-id and channel filters each have an index that starts with them after the
 * tenant; level and source narrow the rows of that range.
 */
export async function listEventLogRows(
  db: Kysely<Database>,
  tenantId: string,
  filter: EventLogFilter,
  page: { readonly after?: EventLogCursor | undefined; readonly limit: number },
): Promise<EventLogRow[]> {
  let query = db.selectFrom('event_log').select(columns).where('tenant_id', '=', tenantId);
  if (filter.correlationId !== undefined) query = query.where('correlation_id', '=', filter.correlationId);
  if (filter.eventId !== undefined) query = query.where('event_id', '=', filter.eventId);
  if (filter.channel !== undefined) query = query.where('channel', '=', filter.channel);
  if (filter.level !== undefined) query = query.where('level', '=', filter.level);
  if (filter.source !== undefined) query = query.where('source', '=', filter.source);
  if (filter.since !== undefined) query = query.where('created_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('created_at', '<', filter.until);
  const after = page.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
      ]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
}
