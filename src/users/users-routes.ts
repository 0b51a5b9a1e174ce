import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { type AuthGuard, contextOf, principalOf } from '../auth/guard.js';
import type { LicenseService } from '../licenses/license-service.js';
import type { PasswordService } from '../passwords/password-service.js';
import type { UserRow } from '../platform/db/schema.js';
import type { RekeyApp } from '../platform/http/app.js';
import { odataQueryOf } from '../platform/http/read-only-collection.js';
import { graphErrorResponses, noContent } from '../platform/http/response-schemas.js';
import {
  parseQueryOptions,
  type QueryOptions,
  type ResourceDescription,
  type Selection,
} from '../platform/odata/index.js';
import {
  assertMayReadUser,
  directoryReaderRoles,
  rolesThatMay,
  userAdministrationRoles,
  userCreationRoles,
} from './authorization.js';
import {
  type LicensesByUser,
  selectsLicenses,
  toCreatedUserEntity,
  toDeletedUserEntity,
  toRestoredUserEntity,
  toUserCollection,
  toUserEntity,
} from './user-mapper.js';
import { deletedUsersResource, usersResource } from './user-query.js';
import {
  createUserBody,
  deletedUserEntitySchema,
  idParams,
  revokeSignInSessionsResponseSchema,
  toCreateUserInput,
  toUserChanges,
  updateUserBody,
  userCollectionSchema,
  userEntitySchema,
} from './user-schemas.js';
import type { UserService } from './user-service.js';

/*
 * Graph's directory API for users: /v1.0/users, /v1.0/me and /v1.0/directory/deletedItems.
 *
 * `$count=true` on /users is answered whether or not the client sends `ConsistencyLevel:
 * eventual`. Graph insists on the header because its directory index is eventually consistent;
 * Rekey counts in the same database query that lists, so the header changes nothing and refusing
 * requests without it would only break scripts that forgot it.
 */

export interface UsersRoutesDeps {
  readonly guard: AuthGuard;
  readonly users: UserService;
  readonly passwords: PasswordService;
  /** The users' licences, read when a `$select` shows them. */
  readonly licenses: Pick<LicenseService, 'licensesOf'>;
  readonly publicUrl: string;
}

/** /v1.0/users, /v1.0/me and the users under /v1.0/directory/deletedItems. */
export function usersRoutes(deps: UsersRoutesDeps): FastifyPluginAsync {
  const { guard, users, passwords, publicUrl } = deps;

  /** The licences of `rows` when `selection` shows them; none read otherwise. */
  async function licensesFor(rows: readonly UserRow[], selection: Selection): Promise<LicensesByUser> {
    return selectsLicenses(selection) ? deps.licenses.licensesOf(rows.map((row) => row.id)) : new Map();
  }

  /** Reads the OData options; `@odata.count` is only on the first page, as in Graph. */
  function listOptions(request: FastifyRequest, resource: ResourceDescription): QueryOptions {
    const options = parseQueryOptions(odataQueryOf(request), resource);
    return { ...options, count: options.count && options.cursor === undefined };
  }

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.post(
      '/v1.0/users',
      {
        preHandler: guard.requireRole(userCreationRoles),
        schema: { body: createUserBody, response: { 201: userEntitySchema, ...graphErrorResponses } },
      },
      async (request, reply) => {
        const row = await users.createUser(contextOf(request), toCreateUserInput(request.body));
        reply.status(201).header('location', `${publicUrl}/v1.0/users/${row.id}`);
        return toCreatedUserEntity(row, publicUrl);
      },
    );

    app.get(
      '/v1.0/users',
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { response: { 200: userCollectionSchema, ...graphErrorResponses } },
      },
      async (request) => {
        const options = listOptions(request, usersResource);
        const page = await users.listUsers(options);
        return toUserCollection(page, {
          entitySet: 'users',
          selection: options.select,
          publicUrl,
          requestUrl: request.url,
          licenses: await licensesFor(page.rows, options.select),
        });
      },
    );

    app.get(
      '/v1.0/users/:id',
      {
        preHandler: guard.authenticate,
        schema: { params: idParams, response: { 200: userEntitySchema, ...graphErrorResponses } },
      },
      async (request) => {
        const id = request.params.id;
        assertMayReadUser(principalOf(request).actor, id);
        const options = parseQueryOptions(odataQueryOf(request), usersResource);
        const row = await users.getUser(id);
        return toUserEntity(row, options.select, publicUrl, await licensesFor([row], options.select));
      },
    );

    app.patch(
      '/v1.0/users/:id',
      {
        preHandler: guard.requireRole(userAdministrationRoles, 'updateUser'),
        schema: {
          params: idParams,
          body: updateUserBody,
          response: { 204: noContent, ...graphErrorResponses },
        },
      },
      async (request, reply) => {
        const context = contextOf(request);
        const profile = request.body.passwordProfile;
        const password = profile?.password;
        await users.updateUser(
          context,
          request.params.id,
          toUserChanges(request.body),
          password === undefined
            ? {}
            : {
                resetPassword: async (target) => {
                  // Graph: a password set this way must be changed at the next sign-in, unless the
                  // administrator says otherwise in the same passwordProfile.
                  await passwords.resetPasswordNow(context, target.id, {
                    newPassword: password,
                    forceChange: profile?.forceChangePasswordNextSignIn ?? true,
                  });
                },
              },
        );
        return reply.status(204).send();
      },
    );

    app.delete(
      '/v1.0/users/:id',
      {
        preHandler: guard.requireRole(userAdministrationRoles, 'deleteUser'),
        schema: { params: idParams, response: { 204: noContent, ...graphErrorResponses } },
      },
      async (request, reply) => {
        await users.deleteUser(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.post(
      '/v1.0/users/:id/revokeSignInSessions',
      {
        preHandler: guard.requireRole(rolesThatMay('revokeSessions'), 'revokeSignInSessions'),
        schema: {
          params: idParams,
          response: { 200: revokeSignInSessionsResponseSchema, ...graphErrorResponses },
        },
      },
      async (request) => {
        await users.revokeSignInSessions(contextOf(request), request.params.id);
        return { '@odata.context': `${publicUrl}/v1.0/$metadata#Edm.Boolean`, value: true };
      },
    );

    app.get(
      '/v1.0/me',
      {
        preHandler: guard.authenticate,
        schema: { response: { 200: userEntitySchema, ...graphErrorResponses } },
      },
      async (request) => {
        const options = parseQueryOptions(odataQueryOf(request), usersResource);
        const me = principalOf(request).user;
        return toUserEntity(me, options.select, publicUrl, await licensesFor([me], options.select));
      },
    );

    app.get(
      '/v1.0/directory/deletedItems/microsoft.graph.user',
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { response: { 200: userCollectionSchema, ...graphErrorResponses } },
      },
      async (request) => {
        const options = listOptions(request, deletedUsersResource);
        const page = await users.listUsers(options, { deleted: true });
        return toUserCollection(page, {
          entitySet: 'directory/deletedItems/microsoft.graph.user',
          selection: options.select,
          publicUrl,
          requestUrl: request.url,
          licenses: await licensesFor(page.rows, options.select),
        });
      },
    );

    app.get(
      '/v1.0/directory/deletedItems/:id',
      {
        preHandler: guard.requireRole(directoryReaderRoles),
        schema: { params: idParams, response: { 200: deletedUserEntitySchema, ...graphErrorResponses } },
      },
      async (request) => {
        const options = parseQueryOptions(odataQueryOf(request), deletedUsersResource);
        const row = await users.getDeletedUser(request.params.id);
        return toDeletedUserEntity(row, options.select, publicUrl, await licensesFor([row], options.select));
      },
    );

    app.post(
      '/v1.0/directory/deletedItems/:id/restore',
      {
        preHandler: guard.requireRole(userAdministrationRoles, 'restoreUser'),
        schema: { params: idParams, response: { 200: deletedUserEntitySchema, ...graphErrorResponses } },
      },
      async (request) => {
        const row = await users.restoreUser(contextOf(request), request.params.id);
        return toRestoredUserEntity(row, publicUrl);
      },
    );

    app.delete(
      '/v1.0/directory/deletedItems/:id',
      {
        preHandler: guard.requireRole(rolesThatMay('purge'), 'hardDeleteUser'),
        schema: { params: idParams, response: { 204: noContent, ...graphErrorResponses } },
      },
      async (request, reply) => {
        await users.purgeUser(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
