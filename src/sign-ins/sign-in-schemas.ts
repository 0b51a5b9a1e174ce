import { type Static, Type } from 'typebox';
import type { GraphCollection } from '../platform/http/graph-envelope.js';
import {
  graphCollectionSchema,
  graphEntitySchema,
  nullable,
  openObject,
  responseArray,
  responseObject,
  selectableSchema,
} from '../platform/http/response-schemas.js';

/*
 * Graph's `signIn` as `GET /v1.0/auditLogs/signIns` answers it (see sign-in-mapper.ts), and the
 * entity and collection envelopes around it; the static types are for the portal.
 */

/** Graph's `signIn`: every property, in output order. */
export const signInSchema = responseObject(
  {
    id: Type.String(),
    createdDateTime: Type.String(),
    userDisplayName: nullable(Type.String()),
    userPrincipalName: Type.String(),
    userId: nullable(Type.String()),
    appId: Type.String(),
    appDisplayName: nullable(Type.String()),
    ipAddress: Type.String(),
    clientAppUsed: Type.String(),
    userAgent: nullable(Type.String()),
    correlationId: Type.String(),
    conditionalAccessStatus: Type.String(),
    isInteractive: Type.Boolean(),
    riskDetail: Type.String(),
    riskLevelAggregated: Type.String(),
    riskLevelDuringSignIn: Type.String(),
    riskState: Type.String(),
    riskEventTypes_v2: responseArray(Type.String()),
    resourceDisplayName: Type.String(),
    resourceId: Type.String(),
    status: responseObject({
      /** 0 for a success, else the catalog code (see /error?code=N). */
      errorCode: Type.Integer(),
      failureReason: nullable(Type.String()),
      additionalDetails: nullable(Type.String()),
    }),
    deviceDetail: responseObject({
      deviceId: Type.String(),
      displayName: Type.String(),
      operatingSystem: Type.String(),
      browser: Type.String(),
      isCompliant: Type.Boolean(),
      isManaged: Type.Boolean(),
      trustType: Type.String(),
    }),
    location: responseObject({
      city: nullable(Type.String()),
      state: nullable(Type.String()),
      countryOrRegion: nullable(Type.String()),
      geoCoordinates: nullable(openObject),
    }),
    appliedConditionalAccessPolicies: responseArray(openObject),
  },
  "Graph's signIn",
);
export type SignIn = Static<typeof signInSchema>;

/** A sign-in as `$select` leaves it. */
export const selectedSignInSchema = selectableSchema(
  signInSchema,
  "Graph's signIn, with the selected properties",
);
export type SelectedSignIn = Static<typeof selectedSignInSchema>;

/** `GET /v1.0/auditLogs/signIns/{id}`. */
export const signInEntitySchema = graphEntitySchema(selectedSignInSchema);
export type SignInEntity = Static<typeof signInEntitySchema>;

/** `GET /v1.0/auditLogs/signIns`: one page. */
export const signInCollectionSchema = graphCollectionSchema(selectedSignInSchema, 'A page of sign-ins');
export type SignInCollection = GraphCollection<SelectedSignIn>;
