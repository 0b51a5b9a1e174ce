import { type Static, Type } from 'typebox';
import { nullable, openObject, responseArray, responseObject } from '../platform/http/response-schemas.js';
import { eventChannels, eventLevels } from './event-catalog.js';

/*
 * `GET /rekey/v1/eventLog`: a filtered, keyset-paged list of event-log entries, newest first.
 * The static types are for the portal and the CLI.
 */

/** The query of the list: every filter optional, combined with AND. */
export const eventLogQuery = Type.Object(
  {
    channel: Type.Optional(Type.Union(eventChannels.map((c) => Type.Literal(c)))),
    level: Type.Optional(Type.Union(eventLevels.map((l) => Type.Literal(l)))),
    /** Rekey's event id (docs/event-log.md). */
    eventId: Type.Optional(Type.Integer({ minimum: 1, maximum: 99_999 })),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    correlationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** At or after this time (ISO 8601). */
    since: Type.Optional(Type.String({ format: 'date-time' })),
    /** Before this time (ISO 8601). */
    until: Type.Optional(Type.String({ format: 'date-time' })),
    /** Page size, 1 to 1000 (100 unless given). */
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    /** Where the page starts: the token of the previous page's `@odata.nextLink`. */
    skiptoken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type EventLogQuery = Static<typeof eventLogQuery>;

/** One entry of the event log. */
export const eventLogEntrySchema = responseObject(
  {
    id: Type.String(),
    createdDateTime: Type.String(),
    channel: Type.String(),
    level: Type.String(),
    eventId: Type.Integer(),
    /** The event id's name in the catalog. */
    eventName: Type.String(),
    source: Type.String(),
    message: Type.String(),
    correlationId: nullable(Type.String()),
    /** The user the entry is about, when there is one. */
    userId: nullable(Type.String()),
    details: openObject,
  },
  'One event-log entry',
);
export type EventLogEntryView = Static<typeof eventLogEntrySchema>;

/** A page of the list; `@odata.nextLink` when more follow. */
export const eventLogPageSchema = responseObject(
  {
    '@odata.nextLink': Type.Optional(Type.String()),
    // Optional in the schema only so that the serializer keeps the order (nextLink first).
    value: Type.Optional(responseArray(eventLogEntrySchema)),
  },
  'A page of event-log entries, newest first',
);
export type EventLogPage = Static<typeof eventLogPageSchema>;
