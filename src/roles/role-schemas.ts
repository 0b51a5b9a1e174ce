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
 * Graph's `unifiedRoleDefinition` and `unifiedRoleAssignment` as
 * `/v1.0/roleManagement/directory/...` answers them, with their entity and collection envelopes;
 * the static types are for the portal.
 */

/** Graph's `unifiedRoleDefinition` of a built-in directory role. */
export const roleDefinitionSchema = responseObject(
  {
    id: Type.String(),
    description: Type.String(),
    displayName: Type.String(),
    isBuiltIn: Type.Boolean(),
    isEnabled: Type.Boolean(),
    templateId: Type.String(),
    resourceScopes: responseArray(Type.String()),
    version: nullable(Type.String()),
    rolePermissions: responseArray(openObject),
  },
  "Graph's unifiedRoleDefinition",
);
export type RoleDefinitionBody = Static<typeof roleDefinitionSchema>;

/** Graph's `unifiedRoleAssignment` (tenant-wide: `directoryScopeId` is `/`). */
export const roleAssignmentSchema = responseObject(
  {
    id: Type.String(),
    principalId: Type.String(),
    roleDefinitionId: Type.String(),
    directoryScopeId: Type.String(),
    appScopeId: nullable(Type.String()),
    condition: nullable(Type.String()),
  },
  "Graph's unifiedRoleAssignment",
);
export type RoleAssignmentBody = Static<typeof roleAssignmentSchema>;

const selectedRoleDefinitionSchema = selectableSchema(roleDefinitionSchema);
const selectedRoleAssignmentSchema = selectableSchema(roleAssignmentSchema);
export type SelectedRoleDefinition = Static<typeof selectedRoleDefinitionSchema>;
export type SelectedRoleAssignment = Static<typeof selectedRoleAssignmentSchema>;

/** `GET .../roleDefinitions/{id}`. */
export const roleDefinitionEntitySchema = graphEntitySchema(selectedRoleDefinitionSchema);
/** `GET .../roleDefinitions`: one page. */
export const roleDefinitionCollectionSchema = graphCollectionSchema(
  selectedRoleDefinitionSchema,
  'A page of role definitions',
);
export type RoleDefinitionCollection = GraphCollection<SelectedRoleDefinition>;

/** `GET .../roleAssignments/{id}` and the 201 of `POST .../roleAssignments`. */
export const roleAssignmentEntitySchema = graphEntitySchema(selectedRoleAssignmentSchema);
export type RoleAssignmentEntity = Static<typeof roleAssignmentEntitySchema>;
/** `GET .../roleAssignments`: one page. */
export const roleAssignmentCollectionSchema = graphCollectionSchema(
  selectedRoleAssignmentSchema,
  'A page of role assignments',
);
export type RoleAssignmentCollection = GraphCollection<SelectedRoleAssignment>;
