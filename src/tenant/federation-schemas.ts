import { type Static, Type } from 'typebox';
import type { GraphCollection } from '../platform/http/graph-envelope.js';
import {
  graphCollectionSchema,
  graphEntitySchema,
  nullable,
  openObject,
  responseObject,
} from '../platform/http/response-schemas.js';

/*
 * Graph's `internalDomainFederation` as `/v1.0/domains/{id}/federationConfiguration` answers it
 * (see federation-mapper.ts). The create and PATCH bodies are checked by the service
 * (checkFederationInput) so that one 7700001 names every problem; their schema is declared for
 * /openapi.json only.
 */

const text = nullable(Type.String());

/** Graph's `internalDomainFederation`, in output order. */
export const federationSchema = responseObject(
  {
    '@odata.type': Type.Literal('#microsoft.graph.internalDomainFederation'),
    id: Type.String(),
    displayName: Type.String(),
    issuerUri: text,
    metadataExchangeUri: text,
    passiveSignInUri: text,
    activeSignInUri: text,
    signOutUri: text,
    /** The federation's password page: where its users change and reset their password. */
    passwordResetUri: text,
    signingCertificate: text,
    nextSigningCertificate: text,
    preferredAuthenticationProtocol: Type.Union([Type.Literal('wsFed'), Type.Literal('saml')]),
    federatedIdpMfaBehavior: text,
    promptLoginBehavior: text,
    isSignedAuthenticationRequestRequired: Type.Boolean(),
  },
  "Graph's internalDomainFederation",
);
export type GraphFederation = Static<typeof federationSchema>;

export const federationEntitySchema = graphEntitySchema(federationSchema);
export type FederationEntity = Static<typeof federationEntitySchema>;

export const federationCollectionSchema = graphCollectionSchema(
  federationSchema,
  "The domain's federation configuration (none for a managed domain)",
);
export type FederationCollection = GraphCollection<GraphFederation>;

/** The create and PATCH body, for /openapi.json (the service checks it). */
export const federationInputSchema = openObject;
