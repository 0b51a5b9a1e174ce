import { type Static, Type } from 'typebox';
import type { GraphCollection } from '../platform/http/graph-envelope.js';
import {
  graphCollectionSchema,
  graphEntitySchema,
  nullable,
  responseObject,
  selectableSchema,
} from '../platform/http/response-schemas.js';

/*
 * Graph's `directoryAudit` as `GET /v1.0/auditLogs/directoryAudits` answers it (see
 * audit-mapper.ts), and the entity and collection envelopes around it; the static types are for
 * the portal. `initiatedBy`, `targetResources` and `additionalDetails` are stored as JSON with the
 * row, so their schemas stay open to what older rows hold.
 */

const initiatedBy = responseObject({
  /** The signed-in user who acted; null when Rekey itself (or its CLI operator) acted. */
  user: nullable(
    responseObject({
      id: Type.String(),
      displayName: nullable(Type.String()),
      userPrincipalName: nullable(Type.String()),
      ipAddress: Type.Optional(nullable(Type.String())),
    }),
  ),
  app: nullable(responseObject({ appId: nullable(Type.String()), displayName: nullable(Type.String()) })),
});

const modifiedProperty = responseObject({
  displayName: Type.String(),
  oldValue: nullable(Type.String()),
  newValue: nullable(Type.String()),
});

const targetResource = responseObject({
  id: Type.String(),
  displayName: nullable(Type.String()),
  /** `User`, `Domain`, `Policy`, ... */
  type: Type.String(),
  userPrincipalName: nullable(Type.String()),
  modifiedProperties: Type.Array(modifiedProperty),
});

/** Graph's `directoryAudit`: every property, in output order. */
export const directoryAuditSchema = responseObject(
  {
    id: Type.String(),
    category: Type.String(),
    correlationId: Type.String(),
    result: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('timeout')]),
    resultReason: Type.String(),
    activityDisplayName: Type.String(),
    activityDateTime: Type.String(),
    loggedByService: Type.String(),
    operationType: Type.String(),
    initiatedBy,
    targetResources: Type.Array(targetResource),
    additionalDetails: Type.Array(responseObject({ key: Type.String(), value: Type.String() })),
  },
  "Graph's directoryAudit",
);
export type DirectoryAudit = Static<typeof directoryAuditSchema>;

/** An audit event as `$select` leaves it. */
export const selectedDirectoryAuditSchema = selectableSchema(
  directoryAuditSchema,
  "Graph's directoryAudit, with the selected properties",
);
export type SelectedDirectoryAudit = Static<typeof selectedDirectoryAuditSchema>;

/** `GET /v1.0/auditLogs/directoryAudits/{id}`. */
export const directoryAuditEntitySchema = graphEntitySchema(selectedDirectoryAuditSchema);
export type DirectoryAuditEntity = Static<typeof directoryAuditEntitySchema>;

/** `GET /v1.0/auditLogs/directoryAudits`: one page. */
export const directoryAuditCollectionSchema = graphCollectionSchema(
  selectedDirectoryAuditSchema,
  'A page of directory audit events',
);
export type DirectoryAuditCollection = GraphCollection<SelectedDirectoryAudit>;
