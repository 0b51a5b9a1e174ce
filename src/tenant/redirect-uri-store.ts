import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import type { RedirectPlatform } from './builtin-applications.js';

/** A redirect URI an administrator registered, with its platform. */
export interface StoredRedirectUri {
  readonly platform: RedirectPlatform;
  readonly uri: string;
}

/** The redirect URIs registered for one application, in the order they were added. */
export async function listRedirectUris(
  db: Kysely<Database>,
  tenantId: string,
  appId: string,
): Promise<StoredRedirectUri[]> {
  const rows = await db
    .selectFrom('application_redirect_uris')
    .select(['platform', 'uri'])
    .where('tenant_id', '=', tenantId)
    .where('app_id', '=', appId)
    .orderBy('created_at')
    .orderBy('uri')
    .execute();
  return rows.map((row) => ({ platform: row.platform as RedirectPlatform, uri: row.uri }));
}

/** Every registered redirect URI of the tenant (for post_logout_redirect_uri, which names no client). */
export async function listTenantRedirectUris(
  db: Kysely<Database>,
  tenantId: string,
): Promise<Array<StoredRedirectUri & { readonly appId: string }>> {
  const rows = await db
    .selectFrom('application_redirect_uris')
    .select(['app_id', 'platform', 'uri'])
    .where('tenant_id', '=', tenantId)
    .execute();
  return rows.map((row) => ({ appId: row.app_id, platform: row.platform as RedirectPlatform, uri: row.uri }));
}

/** Replaces one platform's redirect URIs of an application; run it in a transaction. */
export async function replaceRedirectUris(
  db: Kysely<Database>,
  tenantId: string,
  appId: string,
  platform: RedirectPlatform,
  uris: readonly string[],
  at: string,
): Promise<void> {
  await db
    .deleteFrom('application_redirect_uris')
    .where('tenant_id', '=', tenantId)
    .where('app_id', '=', appId)
    .where('platform', '=', platform)
    .execute();
  if (uris.length === 0) return;
  await db
    .insertInto('application_redirect_uris')
    .values(uris.map((uri) => ({ tenant_id: tenantId, app_id: appId, platform, uri, created_at: at })))
    .execute();
}
