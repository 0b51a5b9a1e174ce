import { type Static, Type } from 'typebox';
import { nullable, responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * Rekey's operations API: `GET /rekey/v1/operations` (a filtered, keyset-paged list, newest
 * first) and `GET /rekey/v1/operations/{id}` (one operation with its history). The static types
 * are for the portal and the CLI.
 */

const states = ['notStarted', 'running', 'retryScheduled', 'succeeded', 'terminated'] as const;
const kinds = ['selfChange', 'expiredChange', 'adminReset', 'selfServiceReset'] as const;

/** The query of the list: every filter optional, combined with AND. */
export const operationListQuery = Type.Object(
  {
    /** The user the operations change: object id or user principal name. */
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 113 })),
    state: Type.Optional(Type.Union(states.map((s) => Type.Literal(s)))),
    /** The catalog code of the operation's last failure (its cause, for a terminated one). */
    code: Type.Optional(Type.Integer({ minimum: 0, maximum: 99_999_999 })),
    kind: Type.Optional(Type.Union(kinds.map((k) => Type.Literal(k)))),
    /** Accepted at or after this time (ISO 8601). */
    since: Type.Optional(Type.String({ format: 'date-time' })),
    /** Accepted before this time (ISO 8601). */
    until: Type.Optional(Type.String({ format: 'date-time' })),
    /** Page size, 1 to 200 (50 unless given). */
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    /** Where the page starts: the token of the previous page's `@odata.nextLink`. */
    skiptoken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type OperationListQuery = Static<typeof operationListQuery>;

const failure = responseObject({
  /** The catalog code (see /error?code=N). */
  code: Type.Integer(),
  name: Type.String(),
  retryable: Type.Boolean(),
  detail: nullable(Type.String()),
});

/** One operation, as the list and the single view show it. */
const operationProperties = {
  id: Type.String(),
  userId: Type.String(),
  /** The user's principal name as it is now (a deleted user's too). */
  userPrincipalName: nullable(Type.String()),
  kind: Type.String(),
  /** The engine's state: notStarted, running, retryScheduled, succeeded or terminated. */
  state: Type.String(),
  /** The step reached (the next to run, or `completed`). */
  step: Type.String(),
  attempts: Type.Integer(),
  correlationId: Type.String(),
  requestedByUserId: nullable(Type.String()),
  requestedByAppId: nullable(Type.String()),
  createdDateTime: Type.String(),
  lastActionDateTime: Type.String(),
  completedDateTime: nullable(Type.String()),
  nextAttemptDateTime: nullable(Type.String()),
  deadlineDateTime: Type.String(),
  /** The last failure; for a terminated operation, its cause. */
  error: nullable(failure),
  /** The same text Graph's longRunningOperation shows in statusDetail. */
  statusDetail: nullable(Type.String()),
};

export const operationSchema = responseObject(operationProperties, 'A password operation');
export type OperationView = Static<typeof operationSchema>;

/** One entry of an operation's history. */
export const operationEventSchema = responseObject({
  at: Type.String(),
  state: Type.String(),
  step: Type.String(),
  detail: nullable(Type.String()),
  /** The catalog code of the failure recorded here; null for a move without one. */
  code: nullable(Type.Integer()),
  retryable: nullable(Type.Boolean()),
});
export type OperationEventView = Static<typeof operationEventSchema>;

/** `GET /rekey/v1/operations/{id}`: the operation and its whole history, oldest first. */
export const operationWithHistorySchema = responseObject(
  { ...operationProperties, history: responseArray(operationEventSchema) },
  'A password operation with every state change and step it went through',
);
export type OperationWithHistoryView = Static<typeof operationWithHistorySchema>;

/** A page of the list; `@odata.nextLink` when more follow. */
export const operationPageSchema = responseObject(
  {
    '@odata.nextLink': Type.Optional(Type.String()),
    value: Type.Optional(responseArray(operationSchema)),
  },
  'A page of password operations, newest first',
);
export type OperationPage = Static<typeof operationPageSchema>;
