import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import {
  type CheckedComparison,
  type CheckedFilter,
  type CheckedStringFunction,
  encodeSkipToken,
  type FilterableProperty,
  type QueryOptions,
  type ResourceDescription,
  type ScalarValue,
  type SortValue,
} from '../platform/odata/index.js';

/*
 * The OData options of the role-management lists. Both lists are small and computed (the role
 * table in code, the assignments from `users.roles`), so options are validated by the shared
 * OData parser and then applied in memory, with the same rules the SQL compiler follows: text
 * compares ignoring case, GUIDs in lower case, keyset paging by the sort key and `id`.
 */

const guid: FilterableProperty = { type: 'guid', operators: ['eq', 'ne', 'in'] };
const flag: FilterableProperty = { type: 'boolean', operators: ['eq', 'ne'] };

/** `roleManagement/directory/roleDefinitions`. */
export const roleDefinitionsResource: ResourceDescription = {
  name: 'roleDefinitions',
  properties: {
    id: 'default',
    description: 'default',
    displayName: 'default',
    isBuiltIn: 'default',
    isEnabled: 'default',
    templateId: 'default',
    resourceScopes: 'default',
    version: 'default',
    rolePermissions: 'default',
  },
  filter: {
    properties: {
      id: guid,
      templateId: guid,
      displayName: { type: 'string', operators: ['eq', 'ne', 'startswith', 'in'] },
      isBuiltIn: flag,
      isEnabled: flag,
    },
  },
  orderBy: ['displayName'],
  defaultOrderBy: [{ property: 'displayName', direction: 'asc' }],
  key: 'id',
  top: { default: 999, max: 999 },
  count: true,
};

/** `roleManagement/directory/roleAssignments`. */
export const roleAssignmentsResource: ResourceDescription = {
  name: 'roleAssignments',
  properties: {
    id: 'default',
    principalId: 'default',
    roleDefinitionId: 'default',
    directoryScopeId: 'default',
    appScopeId: 'default',
    condition: 'default',
  },
  filter: {
    properties: {
      id: { type: 'string', operators: ['eq', 'in'] },
      principalId: guid,
      roleDefinitionId: guid,
      directoryScopeId: { type: 'string', operators: ['eq'] },
    },
  },
  orderBy: [],
  defaultOrderBy: [{ property: 'id', direction: 'asc' }],
  key: 'id',
  top: { default: 100, max: 999 },
  count: true,
};

type Item = Readonly<Record<string, unknown>>;

/**
 * Paths whose text compares exactly rather than ignoring case, such as an assignment's id
 * (base64url, where case is part of the value).
 */
type ExactPaths = ReadonlySet<string>;

/** A property's value as the filter sees it: text in lower case (compares ignore case), else as is. */
function propertyValue(item: Item, path: string, exact: ExactPaths): ScalarValue | null {
  const value = item[path];
  if (typeof value === 'string') return exact.has(path) ? value : value.toLowerCase();
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return null;
}

function normalised(value: ScalarValue | null, path: string, exact: ExactPaths): ScalarValue | null {
  return typeof value === 'string' && !exact.has(path) ? value.toLowerCase() : value;
}

function compare(condition: CheckedComparison, item: Item, exact: ExactPaths): boolean {
  const left = propertyValue(item, condition.field.path, exact);
  const right = normalised(condition.value, condition.field.path, exact);
  switch (condition.operator) {
    case 'eq':
      return left === right;
    case 'ne':
      return left !== right;
    case 'gt':
      return left !== null && right !== null && left > right;
    case 'ge':
      return left !== null && right !== null && left >= right;
    case 'lt':
      return left !== null && right !== null && left < right;
    case 'le':
      return left !== null && right !== null && left <= right;
    default: {
      const unknown: never = condition.operator;
      throw new RekeyError(Codes.InvalidQueryOption, { details: { operator: unknown } });
    }
  }
}

function stringFunction(condition: CheckedStringFunction, item: Item, exact: ExactPaths): boolean {
  const value = propertyValue(item, condition.field.path, exact);
  if (typeof value !== 'string') return false;
  const wanted = exact.has(condition.field.path) ? condition.value : condition.value.toLowerCase();
  return condition.name === 'startswith' ? value.startsWith(wanted) : value.endsWith(wanted);
}

/** True when `item` (a Graph object) satisfies a filter checked against its resource. */
export function matchesFilter(filter: CheckedFilter, item: Item, exact: ExactPaths = new Set()): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.operands.every((operand) => matchesFilter(operand, item, exact));
    case 'or':
      return filter.operands.some((operand) => matchesFilter(operand, item, exact));
    case 'not':
      return !matchesFilter(filter.operand, item, exact);
    case 'constant':
      return filter.value;
    case 'compare':
      return compare(filter, item, exact);
    case 'in': {
      const value = propertyValue(item, filter.field.path, exact);
      return filter.values.some((candidate) => normalised(candidate, filter.field.path, exact) === value);
    }
    case 'function':
      return stringFunction(filter, item, exact);
    case 'any':
      // The resources above declare no collections, so the validator never lets a lambda through.
      throw new RekeyError(Codes.InvalidQueryOption, {
        message: 'Lambda operators are not supported on this resource.',
      });
    default: {
      const unknown: never = filter;
      throw new RekeyError(Codes.InvalidQueryOption, { details: { filter: unknown } });
    }
  }
}

function sortValueOf(item: Item, path: string): SortValue {
  const value = item[path];
  return typeof value === 'string' || typeof value === 'number' ? value : null;
}

/** Orders two sort keys; nulls first, text ignoring case and then exactly, so the order is total. */
function compareKeys(
  a: readonly SortValue[],
  b: readonly SortValue[],
  options: Pick<QueryOptions, 'sort'>,
): number {
  for (const [i, item] of options.sort.entries()) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    let order = 0;
    if (x === null || y === null) order = x === y ? 0 : x === null ? -1 : 1;
    else if (typeof x === 'string' && typeof y === 'string') {
      const [lx, ly] = [x.toLowerCase(), y.toLowerCase()];
      order = lx < ly ? -1 : lx > ly ? 1 : x < y ? -1 : x > y ? 1 : 0;
    } else order = x < y ? -1 : x > y ? 1 : 0;
    if (order !== 0) return item.direction === 'asc' ? order : -order;
  }
  return 0;
}

/** One page of a computed list, as the SQL-backed lists return it. */
export interface InMemoryPage<T> {
  readonly rows: T[];
  readonly nextSkipToken: string | undefined;
  /** Every item the filter matched, on all pages (for `$count=true`). */
  readonly count: number;
}

/**
 * Applies validated OData options to a list of Graph objects: filter, sort, keyset paging from
 * the `$skiptoken` cursor and `$top`. Text compares ignoring case except on the `exact` paths.
 */
export function queryInMemory<T extends Item>(
  items: readonly T[],
  options: QueryOptions,
  exact: ExactPaths = new Set(),
): InMemoryPage<T> {
  const keyOf = (item: T) => options.sort.map((s) => sortValueOf(item, s.property));
  const matching = items
    .filter((item) => options.filter === undefined || matchesFilter(options.filter, item, exact))
    .sort((a, b) => compareKeys(keyOf(a), keyOf(b), options));
  const { cursor } = options;
  const after =
    cursor === undefined
      ? matching
      : matching.filter((item) => compareKeys(keyOf(item), cursor, options) > 0);
  const rows = after.slice(0, options.top);
  const last = rows[rows.length - 1];
  return {
    rows,
    nextSkipToken:
      after.length > rows.length && last !== undefined
        ? encodeSkipToken(options.sort, keyOf(last))
        : undefined,
    count: matching.length,
  };
}
