import { type Static, Type } from 'typebox';
import { nullable, responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * What `/rekey/v1/users/{id}/lockout` and `.../unlock` answer: a user's smart lockout state per
 * kind of network, with the settings in effect (see lockout-service.ts); the static type is for
 * the portal.
 */

/** The lock state of one counter. */
export const networkLockoutSchema = responseObject({
  network: Type.Union([Type.Literal('familiar'), Type.Literal('unfamiliar')]),
  locked: Type.Boolean(),
  lockedUntil: nullable(Type.String()),
  failureCount: Type.Integer(),
  lockoutCount: Type.Integer(),
  lastFailureDateTime: nullable(Type.String()),
  lastLockoutDateTime: nullable(Type.String()),
  /** Why it is locked; null when it is not. */
  reason: nullable(Type.String()),
});

/** A user's smart lockout state, with the settings in effect. */
export const lockoutViewSchema = responseObject(
  {
    userId: Type.String(),
    userPrincipalName: Type.String(),
    /** True when either network is locked. */
    locked: Type.Boolean(),
    lockoutThreshold: Type.Integer(),
    lockoutDurationInSeconds: Type.Integer(),
    networks: responseArray(networkLockoutSchema),
  },
  "The user's smart lockout state",
);
export type LockoutViewBody = Static<typeof lockoutViewSchema>;
