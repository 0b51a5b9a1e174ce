import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { domainAdministrationRoles } from '../users/authorization.js';
import { type DomainContext, toDomainCollection, toDomainEntity } from './domain-mapper.js';
import { domainCollectionSchema, domainEntitySchema } from './domain-schemas.js';
import type { DomainService } from './domain-service.js';

const nameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) });

const addDomainBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 253 }),
    authenticationType: Type.Optional(Type.Union([Type.Literal('Managed'), Type.Literal('Federated')])),
    passwordChangeUrl: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()])),
  },
  { additionalProperties: false },
);

/**
 * Graph's /v1.0/domains: any signed-in user may read the tenant's domains (as Entra's default
 * user permissions allow); only a Global Administrator may add one.
 */
export function domainRoutes(deps: {
  readonly guard: AuthGuard;
  readonly domains: DomainService;
  /** The tenant password policy's maximum age in days (null: never expires), every domain's validity. */
  readonly passwordMaximumAgeDays: () => Promise<number | null>;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  const { guard, domains, publicUrl } = deps;

  async function domainContext(): Promise<DomainContext> {
    return {
      tenantDomains: await domains.listTenantDomains(),
      passwordMaximumAgeDays: await deps.passwordMaximumAgeDays(),
    };
  }

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(
      '/v1.0/domains',
      {
        preHandler: guard.authenticate,
        schema: { response: { 200: domainCollectionSchema, ...graphErrorResponses } },
      },
      async () => toDomainCollection(await domainContext(), publicUrl),
    );

    app.get(
      '/v1.0/domains/:name',
      {
        preHandler: guard.authenticate,
        schema: { params: nameParams, response: { 200: domainEntitySchema, ...graphErrorResponses } },
      },
      async (request) => {
        const row = await domains.getDomain(request.params.name);
        return toDomainEntity(row, await domainContext(), publicUrl);
      },
    );

    app.post(
      '/v1.0/domains',
      {
        preHandler: guard.requireRole(domainAdministrationRoles),
        schema: { body: addDomainBody, response: { 201: domainEntitySchema, ...graphErrorResponses } },
      },
      async (request, reply) => {
        const row = await domains.addDomain(contextOf(request), request.body);
        reply.status(201).header('location', `${publicUrl}/v1.0/domains/${row.name}`);
        return toDomainEntity(row, await domainContext(), publicUrl);
      },
    );
  };
}
