import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { Database } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { builtinRedirectUris, type RedirectPlatform } from './builtin-applications.js';
import { listRedirectUris, listTenantRedirectUris, replaceRedirectUris } from './redirect-uri-store.js';
import { matchRedirectUri, redirectUriProblem, redirectUrisOf } from './redirect-uris.js';
import { findApplication, listApplications } from './tenant-store.js';

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

/** An application as Graph's application resource shows it (the parts Rekey has). */
export interface ApplicationView {
  readonly appId: string;
  readonly displayName: string;
  readonly redirectUris: Record<RedirectPlatform, string[]>;
}

/** A PATCH of an application: each platform named replaces its list of redirect URIs. */
export type RedirectUriPatch = Partial<
  Record<RedirectPlatform, { readonly redirectUris: readonly string[] }>
>;

const platforms: readonly RedirectPlatform[] = ['spa', 'web', 'publicClient'];
/** Most redirect URIs one platform of an application may hold (Entra allows 256 in all). */
const maxRedirectUrisPerPlatform = 100;

export type ApplicationService = ReturnType<typeof createApplicationService>;

/** The tenant's applications and their redirect URIs, for GET and PATCH /v1.0/applications. */
export function createApplicationService(deps: {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
}) {
  const { db, tenantId } = deps;

  async function view(app: {
    readonly appId: string;
    readonly displayName: string;
  }): Promise<ApplicationView> {
    return {
      appId: app.appId,
      displayName: app.displayName,
      redirectUris: redirectUrisOf(app.appId, await listRedirectUris(db.kysely, tenantId, app.appId)),
    };
  }

  async function getApplication(appId: string): Promise<ApplicationView> {
    const app = await findApplication(db.kysely, tenantId, appId);
    if (!app) throw new RekeyError(Codes.ResourceNotFound, { details: { appId } });
    return view(app);
  }

  async function listAll(): Promise<ApplicationView[]> {
    return Promise.all((await listApplications(db.kysely, tenantId)).map(view));
  }

  /**
   * Replaces the redirect URIs of the platforms `patch` names. The built-in URIs stay whatever
   * the list says (they are not stored); every other URI is checked (7701507) and stored. One
   * audit row names each platform's old and new list.
   */
  async function updateRedirectUris(
    context: RequestContext,
    appId: string,
    patch: RedirectUriPatch,
  ): Promise<void> {
    const before = await getApplication(appId);
    const builtin = builtinRedirectUris[before.appId] ?? {};
    const changes: Array<{ platform: RedirectPlatform; stored: string[]; after: string[] }> = [];
    for (const platform of platforms) {
      const asked = patch[platform];
      if (asked === undefined) continue;
      const fixed = builtin[platform] ?? [];
      const stored = [...new Set(asked.redirectUris)].filter((uri) => !fixed.includes(uri));
      if (stored.length > maxRedirectUrisPerPlatform)
        throw new RekeyError(Codes.RedirectUriInvalid, {
          message: `An application holds at most ${maxRedirectUrisPerPlatform} ${platform} redirect URIs.`,
        });
      for (const uri of stored) {
        const problem = redirectUriProblem(platform, uri);
        if (problem)
          throw new RekeyError(Codes.RedirectUriInvalid, {
            message: `The ${platform} redirect URI ${JSON.stringify(uri.slice(0, 600))} ${problem}.`,
            details: { platform, uri: uri.slice(0, 600) },
          });
      }
      changes.push({ platform, stored, after: [...fixed, ...stored] });
    }
    if (changes.length === 0) return;
    const at = deps.clock.now().toISOString();
    await db.kysely.transaction().execute(async (trx) => {
      for (const change of changes)
        await replaceRedirectUris(trx, tenantId, before.appId, change.platform, change.stored, at);
      await recordAudit(
        trx,
        tenantId,
        context,
        {
          activity: 'updateApplication',
          result: 'success',
          targets: [
            {
              id: before.appId,
              displayName: before.displayName,
              userPrincipalName: null,
              modifiedProperties: changes.map((change) => ({
                displayName: `${change.platform}.redirectUris`,
                oldValue: JSON.stringify(before.redirectUris[change.platform]),
                newValue: JSON.stringify(change.after),
              })),
            },
          ],
        },
        at,
      );
    });
  }

  return { getApplication, listApplications: listAll, updateRedirectUris };
}
