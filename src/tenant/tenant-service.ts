import type { Kysely } from 'kysely';
import type { Database, DomainRow } from '../platform/db/schema.js';
import {
  type ApplicationRecord,
  findApplication,
  findDomain,
  findTenant,
  listVerifiedDomainNames,
  type TenantRecord,
} from './tenant-store.js';

/*
 * The tenant as the other features need it: which tenant a database holds, the application a
 * client id names, and the domain of a user principal name. Creating the tenant is bootstrap.ts;
 * managing domains is domain-service.ts.
 */

export type { ApplicationRecord, TenantRecord } from './tenant-store.js';

/**
 * The tenant this database holds (Rekey keeps one per database), or undefined before the first
 * `rekey serve` created it: what commands that open the database directly act on.
 */
export function findDirectoryTenant(db: Kysely<Database>): Promise<TenantRecord | undefined> {
  return findTenant(db);
}

/** The tenant's application registered under a client id (case-insensitive), or undefined. */
export function findClientApplication(
  db: Kysely<Database>,
  tenantId: string,
  appId: string,
): Promise<ApplicationRecord | undefined> {
  return findApplication(db, tenantId, appId);
}

/** The tenant's domain of this name (case-insensitive), verified or not, or undefined. */
export function findTenantDomain(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
): Promise<DomainRow | undefined> {
  return findDomain(db, tenantId, name);
}

/**
 * The names (lower case) of the tenant's verified domains, for checking many UPNs with one read (a
 * directory sync run checks every entry's).
 */
export function listVerifiedTenantDomains(db: Kysely<Database>, tenantId: string): Promise<Set<string>> {
  return listVerifiedDomainNames(db, tenantId);
}
