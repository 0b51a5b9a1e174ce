import { DEFAULT_FILTER_LIMITS, type FilterLimits, parseFilter } from './filter-parser.js';
import { type CheckedFilter, checkFilter } from './filter-validate.js';
import { parseOrderBy } from './order-by.js';
import { completeSort, decodeSkipToken, type SortValue } from './paging.js';
import { invalidQuery, listForMessage, type QueryOptionName } from './query-error.js';
import type { OrderByItem, ResourceDescription } from './resource.js';
import { parseSelect, type Selection } from './select.js';

/** Everything a list endpoint needs from its query string, validated against its resource. */
export interface QueryOptions {
  readonly select: Selection;
  readonly filter: CheckedFilter | undefined;
  /** The order asked for (or the resource's default). */
  readonly orderBy: readonly OrderByItem[];
  /** `orderBy` plus the resource's unique key: the order rows are actually returned in. */
  readonly sort: readonly OrderByItem[];
  readonly top: number;
  /** `$count=true`: the response carries `@odata.count`. */
  readonly count: boolean;
  /** The decoded `$skiptoken`: the sort key of the previous page's last row. */
  readonly cursor: readonly SortValue[] | undefined;
}

/** A query string as Fastify parses it (values may be arrays when repeated), or URLSearchParams. */
export type QueryInput = Readonly<Record<string, unknown>> | URLSearchParams;

const SUPPORTED: readonly QueryOptionName[] = [
  '$select',
  '$filter',
  '$top',
  '$orderby',
  '$count',
  '$skiptoken',
];

/** OData options Rekey knows but does not offer, with what to do instead. */
const NOT_OFFERED: Readonly<Record<string, string>> = {
  $search: "The $search query option is not supported; use $filter, e.g. startswith(displayName,'text').",
  $skip: 'The $skip query option is not supported; follow @odata.nextLink, which carries a $skiptoken.',
  $expand: 'The $expand query option is not supported on this resource.',
  $format: 'The $format query option is not supported; responses are always JSON.',
  $apply: 'The $apply query option is not supported.',
  $compute: 'The $compute query option is not supported.',
  $deltatoken: 'Delta queries are not supported.',
  $levels: 'The $levels query option is not supported.',
  $index: 'The $index query option is not supported.',
  $schemaversion: 'The $schemaversion query option is not supported.',
  $id: 'The $id query option is not supported.',
};

/**
 * Collects the `$` options by lower-cased name (OData 4.01 treats option names
 * case-insensitively). Other parameters belong to the route and are left alone.
 */
function collectOptions(query: QueryInput): Map<string, string> {
  const pairs: [string, unknown][] =
    query instanceof URLSearchParams ? [...query.entries()] : Object.entries(query);
  const options = new Map<string, string>();
  for (const [name, raw] of pairs) {
    if (!name.startsWith('$') || raw === undefined) continue;
    const key = name.toLowerCase();
    const values = Array.isArray(raw) ? raw : [raw];
    if (options.has(key) || values.length > 1) {
      throw invalidQuery(name, `The ${name} query option is given more than once.`);
    }
    const value: unknown = values[0];
    if (typeof value !== 'string')
      throw invalidQuery(name, `The ${name} query option must be a single text value.`);
    options.set(key, value);
  }
  return options;
}

function rejectUnsupported(options: ReadonlyMap<string, string>): void {
  for (const name of options.keys()) {
    if ((SUPPORTED as readonly string[]).includes(name)) continue;
    const message =
      NOT_OFFERED[name] ??
      `${name} is not a supported query option. Supported options: ${listForMessage(SUPPORTED)}.`;
    throw invalidQuery(name, message, { supportedOptions: SUPPORTED });
  }
}

function parseTop(raw: string | undefined, resource: ResourceDescription): number {
  if (raw === undefined) return resource.top.default;
  const value = /^\d{1,9}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!(value >= 1 && value <= resource.top.max)) {
    throw invalidQuery(
      '$top',
      `The $top value '${raw}' is not valid on ${resource.name}: use a whole number from 1 to ${resource.top.max}.`,
      { maxTop: resource.top.max },
    );
  }
  return value;
}

function parseCount(raw: string | undefined, resource: ResourceDescription): boolean {
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (value !== 'true' && value !== 'false') {
    throw invalidQuery('$count', `The $count value '${raw}' is not valid: use true or false.`);
  }
  if (value === 'true' && !resource.count) {
    throw invalidQuery('$count', `$count is not supported on ${resource.name}.`);
  }
  return value === 'true';
}

/**
 * Parses and validates a list request's OData query options against `resource`:
 * `$select`, `$filter`, `$top`, `$orderby`, `$count` and `$skiptoken`. `$search`, `$skip`,
 * `$expand` and any unknown `$` option are rejected. Every problem is a RekeyError 7700007
 * whose message says what is wrong (and where, for syntax) and whose details name what the
 * resource supports.
 */
export function parseQueryOptions(
  query: QueryInput,
  resource: ResourceDescription,
  limits: FilterLimits = DEFAULT_FILTER_LIMITS,
): QueryOptions {
  const options = collectOptions(query);
  rejectUnsupported(options);
  const select = parseSelect(options.get('$select'), resource);
  const rawFilter = options.get('$filter');
  const filter = rawFilter === undefined ? undefined : checkFilter(parseFilter(rawFilter, limits), resource);
  const orderBy = parseOrderBy(options.get('$orderby'), resource);
  const sort = completeSort(orderBy, resource.key);
  const top = parseTop(options.get('$top'), resource);
  const count = parseCount(options.get('$count'), resource);
  const rawToken = options.get('$skiptoken');
  const cursor = rawToken === undefined ? undefined : decodeSkipToken(rawToken, sort);
  return { select, filter, orderBy, sort, top, count, cursor };
}
