import { metadataUrl } from '../platform/http/graph-envelope.js';
import type { ApplicationCollection, ApplicationEntity, GraphApplication } from './application-schemas.js';
import type { ApplicationView } from './application-service.js';

/** Graph's `application` of one of the tenant's applications. */
export function toGraphApplication(app: ApplicationView): GraphApplication {
  return {
    id: app.appId,
    appId: app.appId,
    displayName: app.displayName,
    spa: { redirectUris: app.redirectUris.spa },
    web: { redirectUris: app.redirectUris.web },
    publicClient: { redirectUris: app.redirectUris.publicClient },
  };
}

export function toApplicationEntity(app: ApplicationView, publicUrl: string): ApplicationEntity {
  return { '@odata.context': metadataUrl(publicUrl, 'applications/$entity'), ...toGraphApplication(app) };
}

export function toApplicationCollection(
  apps: readonly ApplicationView[],
  publicUrl: string,
): ApplicationCollection {
  return { '@odata.context': metadataUrl(publicUrl, 'applications'), value: apps.map(toGraphApplication) };
}
