import { type Static, Type } from 'typebox';
import { responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * The portal's charts: `GET /rekey/v1/reports/signInActivity` (sign-ins per hour or day, by
 * result and by error code) and `GET /rekey/v1/reports/operationOutcomes` (password operations per
 * hour or day, by state). Counted by the database, so a chart of a million sign-ins sends a few
 * hundred numbers, never the rows. The static types are for the portal.
 */

const intervalSchema = Type.Union([Type.Literal('hour'), Type.Literal('day')]);
export type ReportInterval = Static<typeof intervalSchema>;

/** The query of both reports. */
export const reportQuery = Type.Object(
  {
    /** The window's start: an ISO 8601 date-time, or a duration back from now (24h, 7d, 30m); 24h unless given. */
    since: Type.Optional(Type.String({ minLength: 2, maxLength: 40 })),
    /** The window's end, in the same forms; now unless given. */
    until: Type.Optional(Type.String({ minLength: 2, maxLength: 40 })),
    /** One bucket per hour (at most 31 days) or per day (at most 366 days); hour unless given. */
    interval: Type.Optional(intervalSchema),
  },
  { additionalProperties: false },
);
export type ReportQuery = Static<typeof reportQuery>;

const codeCount = responseObject({
  /** 0 for a success, else the catalog code (see /error?code=N). */
  errorCode: Type.Integer(),
  count: Type.Integer(),
});

const window = {
  /** The first bucket's start (the window's start, rounded down to the interval). */
  sinceDateTime: Type.String(),
  /** The window's end (exclusive). */
  untilDateTime: Type.String(),
  interval: intervalSchema,
};

/** `GET /rekey/v1/reports/signInActivity`. */
export const signInActivitySchema = responseObject(
  {
    ...window,
    /** Every bucket of the window, oldest first, empty ones included. */
    buckets: responseArray(
      responseObject({
        startDateTime: Type.String(),
        succeeded: Type.Integer(),
        failed: Type.Integer(),
        /** The failures by code, most frequent first. */
        errorCodes: responseArray(codeCount),
      }),
    ),
    /** The window's failures by code, most frequent first, with the catalog name of each. */
    errorCodes: responseArray(
      responseObject({ errorCode: Type.Integer(), name: Type.String(), count: Type.Integer() }),
    ),
  },
  'Sign-ins per hour or day, by result and by error code',
);
export type SignInActivity = Static<typeof signInActivitySchema>;

/** `GET /rekey/v1/reports/operationOutcomes`. */
export const operationOutcomesSchema = responseObject(
  {
    ...window,
    /** Every bucket of the window (by the operation's creation), oldest first, empty ones included. */
    buckets: responseArray(
      responseObject({
        startDateTime: Type.String(),
        succeeded: Type.Integer(),
        terminated: Type.Integer(),
        /** Not started, running or waiting for a retry when the report was made. */
        inProgress: Type.Integer(),
      }),
    ),
    /** The window's terminated operations by the code they ended with, most frequent first. */
    terminatedCodes: responseArray(
      responseObject({ errorCode: Type.Integer(), name: Type.String(), count: Type.Integer() }),
    ),
  },
  'Password operations per hour or day, by outcome',
);
export type OperationOutcomes = Static<typeof operationOutcomesSchema>;
