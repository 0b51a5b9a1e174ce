import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { Codes } from '../errors/catalog.js';
import { RekeyError } from '../errors/rekey-error.js';
import { parseQueryOptions, type QueryOptions, type ResourceDescription } from '../odata/index.js';
import type { RekeyApp } from './app.js';
import { type GraphPage, selectedContext, selectProperties, toGraphCollection } from './graph-envelope.js';
import { graphErrorResponses } from './response-schemas.js';

/*
 * A read-only Graph collection such as `auditLogs/signIns`: `GET <path>` lists with the OData
 * options of its resource description, and `GET <path>/{id}` reads one entity. The feature
 * supplies how to list, find and shape its rows, and the schemas of its entity and page; the
 * envelope (`@odata.context`, `@odata.count` on the first page only, `@odata.nextLink`) is the
 * same for every collection.
 */

export type CollectionPage<Row> = GraphPage<Row>;

export interface ReadOnlyCollection<Row, Entity extends { readonly id: string }> {
  /** The route, e.g. `/v1.0/auditLogs/signIns`. */
  readonly path: string;
  /** The entity set in `@odata.context`, e.g. `auditLogs/signIns`. */
  readonly contextPath: string;
  readonly resource: ResourceDescription;
  /** Who may read: the guard's pre-handler. */
  readonly preHandler: (request: FastifyRequest) => Promise<void>;
  /** The response schemas: one entity (`graphEntitySchema`) and one page (`graphCollectionSchema`). */
  readonly schemas: { readonly entity: TSchema; readonly collection: TSchema };
  list(options: QueryOptions, count: boolean): Promise<CollectionPage<Row>>;
  /** The entity with this id (lower-cased, as ids are stored), if any. */
  find(id: string): Promise<Row | undefined>;
  toGraph(row: Row): Entity;
}

const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Fastify's parsed query string (a plain object), for the OData option parser. */
export function odataQueryOf(request: FastifyRequest): Readonly<Record<string, unknown>> {
  const query: unknown = request.query;
  return typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
}

/** The two GET routes of a read-only Graph collection. */
export function readOnlyCollectionRoutes<Row, Entity extends { readonly id: string }>(
  collection: ReadOnlyCollection<Row, Entity>,
  publicUrl: string,
): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    app.get(
      collection.path,
      {
        preHandler: collection.preHandler,
        schema: { response: { 200: collection.schemas.collection, ...graphErrorResponses } },
      },
      async (request) => {
        const options = parseQueryOptions(odataQueryOf(request), collection.resource);
        // `@odata.count` belongs to the first page only, as in Graph.
        const page = await collection.list(options, options.count && options.cursor === undefined);
        return toGraphCollection(page, {
          context: selectedContext(publicUrl, collection.contextPath, options.select),
          requestUrl: `${publicUrl}${request.url}`,
          toEntity: (row) => selectProperties(collection.toGraph(row), options.select),
        });
      },
    );
    app.get(
      `${collection.path}/:id`,
      {
        preHandler: collection.preHandler,
        schema: { params: idParams, response: { 200: collection.schemas.entity, ...graphErrorResponses } },
      },
      async (request) => {
        const options = parseQueryOptions(odataQueryOf(request), collection.resource);
        const row = await collection.find(request.params.id.toLowerCase());
        if (!row) throw new RekeyError(Codes.ResourceNotFound, { details: { id: request.params.id } });
        return {
          '@odata.context': selectedContext(publicUrl, collection.contextPath, options.select, '/$entity'),
          ...selectProperties(collection.toGraph(row), options.select),
        };
      },
    );
  };
}
