import { applySelect, buildNextLink, type Selection, selectContextSuffix } from '../odata/index.js';

/*
 * Graph's envelopes, shared by the feature mappers: the `@odata.context` URL, the collection
 * page (`@odata.count` on the first page only, `@odata.nextLink` while more rows follow) and the
 * `$select` projection of an entity. The shapes match graphCollectionSchema and
 * graphEntitySchema in response-schemas.ts.
 */

/** One page of rows as a store or an in-memory query returns it. */
export interface GraphPage<Row> {
  readonly rows: readonly Row[];
  readonly nextSkipToken: string | undefined;
  /** The total, when the request asked for it and this is the first page. */
  readonly count: number | undefined;
}

/** Graph's collection envelope of one page. */
export interface GraphCollection<Entity> {
  readonly '@odata.context': string;
  readonly '@odata.count'?: number;
  readonly '@odata.nextLink'?: string;
  readonly value: readonly Entity[];
}

/** `<publicUrl>/v1.0/$metadata#<fragment>`, Graph's `@odata.context`. */
export function metadataUrl(publicUrl: string, fragment: string): string {
  return `${publicUrl}/v1.0/$metadata#${fragment}`;
}

/** The `@odata.context` of a list or an entity read with `selection`: `users(id,displayName)`. */
export function selectedContext(
  publicUrl: string,
  entitySet: string,
  selection: Selection,
  suffix = '',
): string {
  return metadataUrl(publicUrl, `${entitySet}${selectContextSuffix(selection)}${suffix}`);
}

/**
 * `entity` with only the selected properties (and always `id`), in the entity's own order. A
 * projection keeps the entity's types: every property but `id` may be missing.
 */
export function selectProperties<Entity extends { readonly id: string }>(
  entity: Entity,
  selection: Selection,
): Pick<Entity, 'id'> & Partial<Entity> {
  return applySelect(entity, selection.properties) as Pick<Entity, 'id'> & Partial<Entity>;
}

/**
 * Graph's collection envelope of `page`: `@odata.count` when the page carries a count, and
 * `@odata.nextLink` (the request's own absolute URL with the next `$skiptoken`) when more follow.
 */
export function toGraphCollection<Row, Entity>(
  page: GraphPage<Row>,
  options: {
    readonly context: string;
    /** The request's absolute URL, e.g. `${publicUrl}${request.url}`. */
    readonly requestUrl: string;
    readonly toEntity: (row: Row) => Entity;
  },
): GraphCollection<Entity> {
  return {
    '@odata.context': options.context,
    ...(page.count === undefined ? {} : { '@odata.count': page.count }),
    ...(page.nextSkipToken === undefined
      ? {}
      : { '@odata.nextLink': buildNextLink(options.requestUrl, page.nextSkipToken) }),
    value: page.rows.map(options.toEntity),
  };
}
