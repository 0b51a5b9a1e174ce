import { isGuid } from '../platform/odata/index.js';

/*
 * Role assignments have no table: `users.roles` is the store, and an assignment is the pair
 * (role, user). Its id is derived from that pair, in the form Entra gives the tenant-wide
 * assignments of built-in roles: base64url of the role's template id and the principal's id as
 * 16 bytes each (a GUID's bytes as .NET lays them out: the first three groups little-endian),
 * then `-1`. So the same assignment has the same id in every listing, after a remove and a
 * re-assign too, and an id copied from Entra's documentation means what it says here.
 */

/** The suffix Entra puts on assignments at the tenant scope (`directoryScopeId` '/'). */
const tenantScopeSuffix = '-1';
/** 32 bytes in base64url without padding. */
const encodedLength = 43;

/** A GUID's 16 bytes in .NET order; `guid` must be canonical (see isGuid). */
function guidToBytes(guid: string): Buffer {
  const bytes = Buffer.from(guid.replaceAll('-', ''), 'hex');
  return Buffer.concat([
    Buffer.from(bytes.subarray(0, 4)).reverse(),
    Buffer.from(bytes.subarray(4, 6)).reverse(),
    Buffer.from(bytes.subarray(6, 8)).reverse(),
    bytes.subarray(8),
  ]);
}

/** The lower-case GUID of 16 bytes in .NET order. */
function bytesToGuid(bytes: Buffer): string {
  const hex = Buffer.concat([
    Buffer.from(bytes.subarray(0, 4)).reverse(),
    Buffer.from(bytes.subarray(4, 6)).reverse(),
    Buffer.from(bytes.subarray(6, 8)).reverse(),
    bytes.subarray(8, 16),
  ]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The two GUIDs an assignment id is made of. */
export interface AssignmentKey {
  readonly roleTemplateId: string;
  readonly principalId: string;
}

/** The id of the tenant-wide assignment of the role `roleTemplateId` to `principalId`. */
export function encodeAssignmentId(key: AssignmentKey): string {
  if (!isGuid(key.roleTemplateId) || !isGuid(key.principalId)) {
    throw new TypeError('A role assignment id is made of two GUIDs.');
  }
  const bytes = Buffer.concat([guidToBytes(key.roleTemplateId), guidToBytes(key.principalId)]);
  return `${bytes.toString('base64url')}${tenantScopeSuffix}`;
}

/**
 * The role and principal an assignment id names (GUIDs in lower case), or undefined for anything
 * `encodeAssignmentId` does not produce (other scopes, other lengths, non-canonical base64url).
 */
export function decodeAssignmentId(id: string): AssignmentKey | undefined {
  if (id.length !== encodedLength + tenantScopeSuffix.length || !id.endsWith(tenantScopeSuffix)) {
    return undefined;
  }
  const encoded = id.slice(0, encodedLength);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, 'base64url');
  // Base64 has spare bits in its last character: only the canonical spelling names an assignment.
  if (bytes.length !== 32 || bytes.toString('base64url') !== encoded) return undefined;
  return { roleTemplateId: bytesToGuid(bytes.subarray(0, 16)), principalId: bytesToGuid(bytes.subarray(16)) };
}
