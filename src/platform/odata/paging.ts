import { type Expression, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import type { CheckedFilter } from './filter-validate.js';
import { type FieldMap, sortExpression, whereFilter } from './kysely-compile.js';
import { invalidQuery } from './query-error.js';
import { lookupName, type OrderByItem, type SortDirection } from './resource.js';

/*
 * Keyset paging. A page ends with the sort key of its last row; the next page asks for rows that
 * sort strictly after that key. Unlike an offset this stays correct while rows are inserted or
 * deleted between requests, and costs the same on page 1000 as on page 1. The sort always ends
 * with the resource's unique key, so "strictly after" never skips or repeats a row.
 *
 * Nulls sort as the smallest value: first ascending, last descending, written explicitly because
 * the two databases disagree on the default.
 */

/** One value of a sort key, as the database returns it. */
export type SortValue = string | number | null;

/** What `fetchPage` needs; `QueryOptions` from `parseQueryOptions` has exactly these fields. */
export interface PageRequest {
  /** The full sort, ending with the unique key (see `completeSort`). */
  readonly sort: readonly OrderByItem[];
  /** The decoded `$skiptoken`, or undefined for the first page. */
  readonly cursor: readonly SortValue[] | undefined;
  readonly top: number;
}

export interface Page<O> {
  readonly rows: O[];
  /** The `$skiptoken` of the next page; undefined on the last page. */
  readonly nextSkipToken: string | undefined;
}

const TOKEN_VERSION = 1;
/** Generous for any real sort key, small enough that a token cannot be used to smuggle bulk data. */
const MAX_TOKEN_LENGTH = 4096;
const MAX_TOKEN_STRING = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const KEY_ALIAS = '__rekey_sort_';

/**
 * Appends the unique key unless the order already includes it, in the direction of the last sort
 * item (ascending when there is none): `createdDateTime desc, id desc` can be read as one index
 * scanned backwards, where a mixed `desc, asc` would need a sort of every tie.
 */
export function completeSort(orderBy: readonly OrderByItem[], key: string): OrderByItem[] {
  const hasKey = orderBy.some((item) => item.property === key);
  const direction = orderBy[orderBy.length - 1]?.direction ?? 'asc';
  return hasKey ? [...orderBy] : [...orderBy, { property: key, direction }];
}

/** Identifies a sort, so that a token made for one order is never read under another. */
function sortSignature(sort: readonly OrderByItem[]): string {
  return sort.map((item) => `${item.property} ${item.direction}`).join(',');
}

/**
 * Encodes the sort key of a page's last row as an opaque `$skiptoken`: base64url of
 * `{"v":1,"s":"<sort>","k":[...values]}`. It is not secret: a client who edits it can only move
 * its own position within results it may already read.
 */
export function encodeSkipToken(sort: readonly OrderByItem[], values: readonly SortValue[]): string {
  const payload = { v: TOKEN_VERSION, s: sortSignature(sort), k: values };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function badToken(problem: string): Error {
  return invalidQuery(
    '$skiptoken',
    `The $skiptoken ${problem}. Follow the @odata.nextLink of the previous page without changing it.`,
  );
}

function isSortValue(value: unknown): value is SortValue {
  if (value === null) return true;
  if (typeof value === 'number') return Number.isFinite(value);
  // No stored value holds U+0000 (requests carrying one are refused), and PostgreSQL would fail
  // the statement on it rather than compare.
  return typeof value === 'string' && value.length <= MAX_TOKEN_STRING && !value.includes('\u0000');
}

function parsePayload(token: string): unknown {
  if (token.length > MAX_TOKEN_LENGTH || !BASE64URL.test(token)) throw badToken('is not valid');
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badToken('is not valid');
  }
}

/**
 * Decodes a `$skiptoken` made by `encodeSkipToken` for the same sort. Garbage, a tampered
 * structure, another version or a token from a different `$orderby` is a 7700007.
 */
export function decodeSkipToken(token: string, sort: readonly OrderByItem[]): SortValue[] {
  const payload = parsePayload(token);
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw badToken('is not valid');
  const version: unknown = Reflect.get(payload, 'v');
  const signature: unknown = Reflect.get(payload, 's');
  const values: unknown = Reflect.get(payload, 'k');
  if (version !== TOKEN_VERSION) throw badToken('is not valid or comes from another version of Rekey');
  if (signature !== sortSignature(sort)) throw badToken('belongs to a different $orderby');
  if (!Array.isArray(values) || values.length !== sort.length || !values.every(isSortValue)) {
    throw badToken('is not valid');
  }
  return values;
}

/** A resolved sort key: the SQL it sorts by and which way. */
export interface SortKey {
  readonly expression: Expression<unknown>;
  readonly direction: SortDirection;
  readonly nullable: boolean;
}

/** Resolves each sort item through the field map. */
export function resolveSort(sort: readonly OrderByItem[], fields: FieldMap): SortKey[] {
  return sort.map((item) => ({
    expression: sortExpression(item.property, fields),
    direction: item.direction,
    nullable: lookupName(fields.fields, item.property)?.value.nullable === true,
  }));
}

function equalTo(key: SortKey, value: SortValue): Expression<SqlBool> {
  return value === null
    ? sql<SqlBool>`${key.expression} is null`
    : sql<SqlBool>`${key.expression} = ${value}`;
}

/** Rows strictly after `value` on this key, or undefined when nothing can be (nulls last, descending). */
function after(key: SortKey, value: SortValue): Expression<SqlBool> | undefined {
  if (key.direction === 'asc') {
    return value === null
      ? sql<SqlBool>`${key.expression} is not null`
      : sql<SqlBool>`${key.expression} > ${value}`;
  }
  if (value === null) return undefined;
  return key.nullable
    ? sql<SqlBool>`(${key.expression} < ${value} or ${key.expression} is null)`
    : sql<SqlBool>`${key.expression} < ${value}`;
}

/**
 * The where-clause for "sorts strictly after `cursor`" under `keys`: for each key k, the rows
 * equal on every key before k and after the cursor on k. Written without row values or
 * `IS [NOT] DISTINCT FROM` so that it is the same SQL on SQLite and PostgreSQL.
 */
export function keysetCondition(keys: readonly SortKey[], cursor: readonly SortValue[]): Expression<SqlBool> {
  const branches: Expression<SqlBool>[] = [];
  keys.forEach((key, index) => {
    const value = cursor[index] ?? null;
    const strictlyAfter = after(key, value);
    if (strictlyAfter === undefined) return;
    const equalBefore = keys.slice(0, index).map((previous, i) => equalTo(previous, cursor[i] ?? null));
    const conjunction = [...equalBefore, strictlyAfter];
    branches.push(
      conjunction.length === 1 ? strictlyAfter : sql<SqlBool>`(${sql.join(conjunction, sql` and `)})`,
    );
  });
  if (branches.length === 0) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`(${sql.join(branches, sql` or `)})`;
}

/** Adds the ORDER BY for `keys`, with null placement explicit where a key can be null. */
export function orderByKeys<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  keys: readonly SortKey[],
): SelectQueryBuilder<DB, TB, O> {
  return keys.reduce((built, key) => {
    if (!key.nullable) return built.orderBy(key.expression, key.direction);
    return built.orderBy(key.expression, (item) =>
      key.direction === 'asc' ? item.asc().nullsFirst() : item.desc().nullsLast(),
    );
  }, query);
}

/** Converts what a driver returns for a sort column into a token value. */
function toSortValue(value: unknown): SortValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  throw new Error(`a sort column returned an unsupported ${typeof value} value`);
}

type SortKeyAlias = `${typeof KEY_ALIAS}${number}`;
type SortKeyColumns = { [alias: SortKeyAlias]: unknown };

function sortKeyAlias(index: number): SortKeyAlias {
  return `${KEY_ALIAS}${index}`;
}

/**
 * Runs one page of `query`: applies the cursor, the sort and `top`, and returns the rows with the
 * `$skiptoken` of the next page. The sort keys are read back from the database (as extra columns
 * removed again from the rows) rather than recomputed, so that lower() and collation are exactly
 * the database's own. `query` should already hold the tenant scope and the compiled filter, and
 * no ORDER BY or LIMIT of its own: the page's order is the sort, which the token depends on.
 */
export async function fetchPage<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  page: PageRequest,
  fields: FieldMap,
): Promise<Page<O>> {
  const keys = resolveSort(page.sort, fields);
  const scoped = page.cursor === undefined ? query : query.where(keysetCondition(keys, page.cursor));
  const aliases = keys.map((_, index) => sortKeyAlias(index));
  const rows = await orderByKeys(scoped, keys)
    .select(keys.map((key, index) => sql`${key.expression}`.as(sortKeyAlias(index))))
    // The output type gains only the key columns; Kysely cannot name them from a runtime list.
    .$castTo<O & SortKeyColumns>()
    .limit(page.top + 1)
    .execute();
  const pageRows = rows.slice(0, page.top);
  const last = pageRows[pageRows.length - 1];
  const nextSkipToken =
    rows.length > page.top && last !== undefined
      ? encodeSkipToken(
          page.sort,
          aliases.map((alias) => toSortValue(last[alias])),
        )
      : undefined;
  return { rows: pageRows.map((row) => withoutKeys(row, aliases)), nextSkipToken };
}

function withoutKeys<O>(row: O & SortKeyColumns, aliases: readonly SortKeyAlias[]): O {
  const copy: O & SortKeyColumns = { ...row };
  for (const alias of aliases) delete copy[alias];
  return copy;
}

/** Counts the rows `query` matches, ignoring its selection, order and limit (for `$count=true`). */
export async function countRows<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
): Promise<number> {
  const result = await query
    .clearSelect()
    .clearOrderBy()
    .clearLimit()
    .clearOffset()
    .select(sql`count(*)`.as('count'))
    // Kysely cannot resolve the selection's type for a generic database; it is this one column.
    .$castTo<{ count: number | string | bigint }>()
    .executeTakeFirst();
  // PostgreSQL returns count(*) as int8, which drivers may hand back as a string or bigint.
  return Number(result?.count ?? 0);
}

function optionName(part: string): string {
  const name = part.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(name.replaceAll('+', ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * The `@odata.nextLink`: the full request URL with every other query option kept exactly as the
 * client wrote it, and `$skiptoken` replaced (or added).
 */
export function buildNextLink(requestUrl: string | URL, skipToken: string): string {
  const url = new URL(requestUrl);
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((part) => part !== '' && optionName(part) !== '$skiptoken');
  // base64url needs no escaping in a query string.
  url.search = [...kept, `$skiptoken=${skipToken}`].join('&');
  return url.toString();
}

/** What a Graph list read asks for: a checked filter, a page, and whether to count. */
export interface ListRequest {
  readonly filter: CheckedFilter | undefined;
  readonly page: PageRequest;
  readonly count: boolean;
}

export interface CountedPage<O> extends Page<O> {
  /** The number of rows the filter matches (`@odata.count`), when asked for. */
  readonly count: number | undefined;
}

/**
 * The whole of a Graph list read over `scoped` (a query holding the tenant scope and the
 * selection): applies the filter, fetches one keyset page, and counts the matches when asked.
 */
export async function fetchListPage<DB, TB extends keyof DB, O>(
  scoped: SelectQueryBuilder<DB, TB, O>,
  request: ListRequest,
  fields: FieldMap,
): Promise<CountedPage<O>> {
  const base = whereFilter(scoped, request.filter, fields);
  const page = await fetchPage(base, request.page, fields);
  return { ...page, count: request.count ? await countRows(base) : undefined };
}
