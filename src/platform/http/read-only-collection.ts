import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { RekeyError } from '../errors/rekey-error.js';
import {
  applySelect,
  buildNextLink,
  parseQueryOptions,
  type QueryOptions,
  type ResourceDescription,
  selectContextSuffix,
} from '../odata/index.js';
import type { RekeyApp } from './app.js';

/*
 * A read-only Graph collection such as `auditLogs/signIns`: `GET <path>` lists with the OData
 * options of its resource description, and `GET <path>/{id}` reads one entity. The feature
 * supplies how to list, find and shape its rows; the envelope (`@odata.context`, `@odata.count`
 * on the first page only, `@odata.nextLink`) is the same for every collection.
 */

export interface CollectionPage<Row> {
  readonly rows: readonly Row[];
  readonly nextSkipToken: string | undefined;
  readonly count: number | undefined;
}

export interface ReadOnlyCollection<Row> {
  /** The route, e.g. `/v1.0/auditLogs/signIns`. */
  readonly path: string;
  /** The entity set in `@odata.context`, e.g. `auditLogs/signIns`. */
  readonly contextPath: string;
  readonly resource: ResourceDescription;
  /** Who may read: the guard's pre-handler. */
  readonly preHandler: (request: FastifyRequest) => Promise<void>;
  list(options: QueryOptions, count: boolean): Promise<CollectionPage<Row>>;
  /** The entity with this id (lower-cased, as ids are stored), if any. */
  find(id: string): Promise<Row | undefined>;
  toGraph(row: Row): Record<string, unknown>;
}

const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Fastify's parsed query string (a plain object), for the OData option parser. */
export function odataQueryOf(request: FastifyRequest): Readonly<Record<string, unknown>> {
  const query: unknown = request.query;
  return typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
}

/** The two GET routes of a read-only Graph collection. */
export function readOnlyCollectionRoutes<Row>(
  collection: ReadOnlyCollection<Row>,
  publicUrl: string,
): FastifyPluginAsync {
  const context = (options: QueryOptions) =>
    `${publicUrl}/v1.0/$metadata#${collection.contextPath}${selectContextSuffix(options.select)}`;
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.get(collection.path, { preHandler: collection.preHandler }, async (request) => {
      const options = parseQueryOptions(odataQueryOf(request), collection.resource);
      // `@odata.count` belongs to the first page only, as in Graph.
      const page = await collection.list(options, options.count && options.cursor === undefined);
      return {
        '@odata.context': context(options),
        ...(page.count === undefined ? {} : { '@odata.count': page.count }),
        ...(page.nextSkipToken === undefined
          ? {}
          : { '@odata.nextLink': buildNextLink(`${publicUrl}${request.url}`, page.nextSkipToken) }),
        value: page.rows.map((row) => applySelect(collection.toGraph(row), options.select.properties)),
      };
    });

    app.get(
      `${collection.path}/:id`,
      { preHandler: collection.preHandler, schema: { params: idParams } },
      async (request) => {
        const options = parseQueryOptions(odataQueryOf(request), collection.resource);
        const row = await collection.find(request.params.id.toLowerCase());
        if (!row) throw new RekeyError(7700008, { details: { id: request.params.id } });
        return {
          '@odata.context': `${context(options)}/$entity`,
          ...applySelect(collection.toGraph(row), options.select.properties),
        };
      },
    );
  };
}
