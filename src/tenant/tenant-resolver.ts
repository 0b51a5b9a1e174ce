import type { Db } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { findDomain, type TenantRecord } from './tenant-store.js';

/**
 * Checks the `{tenant}` segment of a path: the tenant id, one of its domains, or `organizations`
 * (and `common`, which Entra clients also send). Anything else is 90002.
 */
export async function assertTenantSegment(db: Db, tenant: TenantRecord, segment: string): Promise<void> {
  const lowered = segment.toLowerCase();
  if (lowered === tenant.id || lowered === 'organizations' || lowered === 'common') return;
  if (/^[a-z0-9.-]+\.[a-z]{2,}$/.test(lowered) && (await findDomain(db.kysely, tenant.id, lowered))) return;
  throw new RekeyError(Codes.InvalidTenantName, { details: { tenant: segment } });
}
