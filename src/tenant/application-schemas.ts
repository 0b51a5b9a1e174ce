import { type Static, Type } from 'typebox';
import type { GraphCollection } from '../platform/http/graph-envelope.js';
import {
  graphCollectionSchema,
  graphEntitySchema,
  responseArray,
  responseObject,
} from '../platform/http/response-schemas.js';
import { maxRedirectUriLength } from './redirect-uris.js';

/*
 * Graph's `application`, the parts Rekey has: its ids, name and redirect URIs by platform. Rekey
 * has no separate object id, so `id` is the application (client) id, and the path takes it.
 */

const redirectUrisObject = (description: string) =>
  responseObject({ redirectUris: responseArray(Type.String()) }, description);

/** Graph's `application`, in output order. */
export const applicationSchema = responseObject(
  {
    id: Type.String(),
    appId: Type.String(),
    displayName: Type.String(),
    spa: redirectUrisObject('Redirect URIs of single-page apps (a path is on Rekey’s own origin)'),
    web: redirectUrisObject('Redirect URIs of web apps'),
    publicClient: redirectUrisObject('Redirect URIs of native clients (http://localhost matches any port)'),
  },
  "Graph's application",
);
export type GraphApplication = Static<typeof applicationSchema>;

export const applicationEntitySchema = graphEntitySchema(applicationSchema);
export type ApplicationEntity = Static<typeof applicationEntitySchema>;

export const applicationCollectionSchema = graphCollectionSchema(
  applicationSchema,
  "The tenant's applications",
);
export type ApplicationCollection = GraphCollection<GraphApplication>;

const redirectUrisBody = Type.Object(
  {
    redirectUris: Type.Array(Type.String({ minLength: 1, maxLength: maxRedirectUriLength }), {
      maxItems: 256,
    }),
  },
  { additionalProperties: false },
);

/** `PATCH /v1.0/applications/{appId}`: each platform named replaces its redirect URIs. */
export const updateApplicationBody = Type.Object(
  {
    spa: Type.Optional(redirectUrisBody),
    web: Type.Optional(redirectUrisBody),
    publicClient: Type.Optional(redirectUrisBody),
  },
  { additionalProperties: false },
);
export type UpdateApplicationBody = Static<typeof updateApplicationBody>;
