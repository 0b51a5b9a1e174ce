import type { FilterOperator } from './filter-ast.js';

/*
 * What a list endpoint supports, described as data. The feature that owns an endpoint (users,
 * sign-in logs, audit logs) writes one `ResourceDescription`; the machinery here validates every
 * query option against it and names what IS supported when a request asks for something else.
 */

/**
 * How a property's values are typed in `$filter`, and how they are stored:
 * - `string`: text; `number`: integer or decimal;
 * - `boolean`: stored as 0/1 integers (SQLite has no boolean type);
 * - `datetime`: stored as ISO 8601 UTC text with milliseconds, compared as text;
 * - `guid`: stored lower-case; accepted unquoted (`8a3b...`) or quoted (`'8a3b...'`).
 */
export type ValueKind = 'string' | 'number' | 'boolean' | 'datetime' | 'guid';

export interface FilterableProperty {
  readonly type: ValueKind;
  /** The operators accepted on this property; anything else is rejected, naming these. */
  readonly operators: readonly FilterOperator[];
  /**
   * The property can be null. Enables `eq null` / `ne null`, and makes `ne 'x'` match rows where
   * the property is null, as OData defines (`null ne 'x'` is true).
   */
  readonly nullable?: boolean;
}

/** The filterable part of a type; also used for the element of a collection inside `any()`. */
export interface FilterSchema {
  /**
   * Filterable property paths, e.g. `displayName` or `status/errorCode`. Inside a lambda the
   * paths are relative to the range variable, and `$this` is the element itself (for collections
   * of strings or GUIDs).
   */
  readonly properties: Readonly<Record<string, FilterableProperty>>;
  /** Collections that accept `any` lambdas, e.g. `targetResources`, with the schema of one element. */
  readonly collections?: Readonly<Record<string, FilterSchema>>;
}

/**
 * How `$select` treats a property: returned by default, returned only when selected, or never
 * returned (it exists on the Graph type, so naming it says "not selectable" rather than "unknown").
 */
export type SelectMode = 'default' | 'optional' | 'never';

export type SortDirection = 'asc' | 'desc';

export interface OrderByItem {
  /** The canonical property path (as the resource spells it). */
  readonly property: string;
  readonly direction: SortDirection;
}

export interface ResourceDescription {
  /** The entity set, used in messages: `users`, `signIns`, `directoryAudits`. */
  readonly name: string;
  /** Every property of the type, in output order, with its `$select` treatment. */
  readonly properties: Readonly<Record<string, SelectMode>>;
  readonly filter: FilterSchema;
  /** Property paths accepted in `$orderby`. */
  readonly orderBy: readonly string[];
  /** The order when `$orderby` is absent. */
  readonly defaultOrderBy: readonly OrderByItem[];
  /**
   * The unique, never-null property that breaks ties in every order (normally `id`). Paging
   * appends it to the sort so that the `$skiptoken` names exactly one row.
   */
  readonly key: string;
  readonly top: { readonly default: number; readonly max: number };
  /** Whether `$count=true` is accepted. */
  readonly count: boolean;
}

/**
 * Looks a name up in a record the way Graph matches names: exactly first, then ignoring case.
 * Returns the canonical name with the value, so messages and SQL use the resource's spelling.
 */
export function lookupName<T>(
  record: Readonly<Record<string, T>> | undefined,
  name: string,
): { readonly name: string; readonly value: T } | undefined {
  if (record === undefined) return undefined;
  if (Object.hasOwn(record, name)) {
    const value = record[name];
    if (value !== undefined) return { name, value };
  }
  const wanted = name.toLowerCase();
  for (const [candidate, value] of Object.entries(record)) {
    if (candidate.toLowerCase() === wanted) return { name: candidate, value };
  }
  return undefined;
}

/** Finds an entry of a list of names ignoring case; returns the canonical spelling. */
export function lookupListedName(names: readonly string[], name: string): string | undefined {
  if (names.includes(name)) return name;
  const wanted = name.toLowerCase();
  return names.find((candidate) => candidate.toLowerCase() === wanted);
}

/** The properties `$select` may name, in output order. */
export function selectableProperties(resource: ResourceDescription): string[] {
  return Object.entries(resource.properties)
    .filter(([, mode]) => mode !== 'never')
    .map(([name]) => name);
}

/** The properties returned when there is no `$select`, in output order. */
export function defaultProperties(resource: ResourceDescription): string[] {
  return Object.entries(resource.properties)
    .filter(([, mode]) => mode === 'default')
    .map(([name]) => name);
}
