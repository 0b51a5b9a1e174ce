import { type Static, Type } from 'typebox';
import { nullable, openObject, responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * `/rekey/v1/captures`: start a capture, list them, read one, export its HAR, stop it. The static
 * types are for the portal and the CLI.
 */

/** The body of POST /rekey/v1/captures: exactly one of the three selectors (7701401 otherwise). */
export const captureInputSchema = Type.Object(
  {
    /** The user whose exchanges to record; a name nobody holds yet is accepted (their sign-in attempts). */
    userPrincipalName: Type.Optional(Type.String({ minLength: 3, maxLength: 256 })),
    /** The same, by object id (which must exist). */
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** The correlation ID (client-request-id) whose exchanges to record. */
    correlationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** How long to record, from now: 1 to 1440 minutes. */
    durationMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    /** The most exchanges to keep (1 to 1000, 1000 unless given); later ones are only counted. */
    maxEntries: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false, description: 'A capture to start' },
);
export type CaptureInputBody = Static<typeof captureInputSchema>;

/** One capture. */
export const captureSchema = responseObject(
  {
    id: Type.String(),
    createdDateTime: Type.String(),
    /** Who started it (null for the CLI's operator). */
    createdBy: nullable(responseObject({ id: Type.String(), userPrincipalName: Type.String() })),
    /** What it records: `user`, `correlationId`, or `header` (an administrator's marked requests). */
    target: Type.Union([Type.Literal('user'), Type.Literal('correlationId'), Type.Literal('header')]),
    userPrincipalName: nullable(Type.String()),
    userId: nullable(Type.String()),
    correlationId: nullable(Type.String()),
    /** When the window ends (or ended). */
    endDateTime: Type.String(),
    /** When it was stopped early, if it was. */
    stoppedDateTime: nullable(Type.String()),
    /** `recording` until the window ends or it is stopped, then `ended`. */
    status: Type.Union([Type.Literal('recording'), Type.Literal('ended')]),
    maxEntries: Type.Integer(),
    entryCount: Type.Integer(),
    /** Exchanges that matched after maxEntries was reached: counted, not kept. */
    droppedCount: Type.Integer(),
  },
  'An HTTP exchange capture',
);
export type CaptureView = Static<typeof captureSchema>;

export const captureListSchema = responseObject(
  { value: responseArray(captureSchema) },
  'The captures, newest first (at most 500)',
);

/** A HAR 1.2 document; its entries are HAR entries (free-form here, as the format defines them). */
export const harSchema = responseObject(
  {
    log: responseObject({
      version: Type.String(),
      creator: responseObject({ name: Type.String(), version: Type.String() }),
      comment: Type.String(),
      entries: responseArray(openObject),
    }),
  },
  'The capture as a HAR 1.2 document, secrets redacted',
);

export const captureIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
