import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import { listRedirectUris, listTenantRedirectUris } from './redirect-uri-store.js';
import { matchRedirectUri, redirectUrisOf } from './redirect-uris.js';

/*
 * The redirect URIs of the tenant's applications, as the authorize and sign-out endpoints need
 * them. `origins` are the origins a registered path (the portal's callbacks) may be on: the one
 * the request arrived on and REKEY_PUBLIC_URL's (see redirect-uris.ts).
 */

/** The redirect URI `requested` when it is registered for `appId` (any platform), else undefined. */
export async function findRegisteredRedirectUri(
  db: Kysely<Database>,
  tenantId: string,
  appId: string,
  requested: string,
  origins: readonly string[],
): Promise<string | undefined> {
  const uris = redirectUrisOf(appId, await listRedirectUris(db, tenantId, appId));
  return matchRedirectUri([...uris.spa, ...uris.web, ...uris.publicClient], requested, origins)
    ? requested
    : undefined;
}

/**
 * Whether `uri` is registered for any application of the tenant: a sign-out request names no
 * client, so its post_logout_redirect_uri is checked against them all.
 */
export async function isRegisteredForAnyApplication(
  db: Kysely<Database>,
  tenantId: string,
  appIds: readonly string[],
  uri: string,
  origins: readonly string[],
): Promise<boolean> {
  const stored = await listTenantRedirectUris(db, tenantId);
  const registered = [...new Set([...appIds, ...stored.map((entry) => entry.appId)])].flatMap((appId) => {
    const uris = redirectUrisOf(
      appId,
      stored.filter((entry) => entry.appId === appId),
    );
    return [...uris.spa, ...uris.web, ...uris.publicClient];
  });
  return matchRedirectUri(registered, uri, origins) !== undefined;
}
