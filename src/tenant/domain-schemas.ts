import { type Static, Type } from 'typebox';
import type { GraphCollection } from '../platform/http/graph-envelope.js';
import {
  graphCollectionSchema,
  graphEntitySchema,
  nullable,
  openObject,
  responseArray,
  responseObject,
} from '../platform/http/response-schemas.js';

/*
 * Graph's `domain` as `/v1.0/domains` answers it (see domain-mapper.ts), with its entity and
 * collection envelopes; the static types are for the portal.
 */

/** Graph's `domain`, in output order. */
export const domainSchema = responseObject(
  {
    id: Type.String(),
    authenticationType: Type.Union([Type.Literal('Managed'), Type.Literal('Federated')]),
    availabilityStatus: nullable(Type.String()),
    isAdminManaged: Type.Boolean(),
    isDefault: Type.Boolean(),
    isInitial: Type.Boolean(),
    isRoot: Type.Boolean(),
    isVerified: Type.Boolean(),
    passwordNotificationWindowInDays: Type.Integer(),
    /** 2147483647 means the password never expires. */
    passwordValidityPeriodInDays: Type.Integer(),
    supportedServices: responseArray(Type.String()),
    state: nullable(openObject),
    /** Rekey's extension, on federated domains only: the external identity provider's change page. */
    passwordChangeUrl: Type.Optional(nullable(Type.String())),
  },
  "Graph's domain",
);
export type GraphDomain = Static<typeof domainSchema>;

/** One domain, read or added. */
export const domainEntitySchema = graphEntitySchema(domainSchema);
export type DomainEntity = Static<typeof domainEntitySchema>;

/** `GET /v1.0/domains`: every domain of the tenant. */
export const domainCollectionSchema = graphCollectionSchema(domainSchema, "The tenant's domains");
export type DomainCollection = GraphCollection<GraphDomain>;
