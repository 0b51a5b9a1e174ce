import {
  metadataUrl,
  selectedContext,
  selectProperties,
  toGraphCollection,
} from '../platform/http/graph-envelope.js';
import type { Selection } from '../platform/odata/index.js';
import type { InMemoryPage } from './role-query.js';
import type { RoleAssignmentCollection, RoleAssignmentEntity } from './role-schemas.js';
import type { RoleAssignment } from './role-service.js';

/*
 * The Graph envelopes of role assignments. The definitions and assignments themselves are built
 * in Graph's shape by role-service.ts (toRoleDefinition, toRoleAssignment).
 */

const entitySet = 'roleManagement/directory/roleAssignments';

/**
 * One page of role assignments with `$select` applied; `@odata.count` only when `counted` (asked
 * for, and the first page).
 */
export function toRoleAssignmentCollection(
  page: InMemoryPage<RoleAssignment>,
  options: {
    readonly selection: Selection;
    readonly counted: boolean;
    readonly publicUrl: string;
    /** The request's URL as Fastify has it (path and query), for `@odata.nextLink`. */
    readonly requestUrl: string;
  },
): RoleAssignmentCollection {
  return toGraphCollection(
    { ...page, count: options.counted ? page.count : undefined },
    {
      context: selectedContext(options.publicUrl, entitySet, options.selection),
      requestUrl: `${options.publicUrl}${options.requestUrl}`,
      toEntity: (assignment) => selectProperties(assignment, options.selection),
    },
  );
}

/** One role assignment with `$select` applied. */
export function toRoleAssignmentEntity(
  assignment: RoleAssignment,
  selection: Selection,
  publicUrl: string,
): RoleAssignmentEntity {
  return {
    '@odata.context': selectedContext(publicUrl, entitySet, selection, '/$entity'),
    ...selectProperties(assignment, selection),
  };
}

/** A role assignment just created. */
export function toCreatedRoleAssignmentEntity(
  assignment: RoleAssignment,
  publicUrl: string,
): RoleAssignmentEntity {
  return { '@odata.context': metadataUrl(publicUrl, `${entitySet}/$entity`), ...assignment };
}
