import { type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import type { ComparisonOperator } from './filter-ast.js';
import type {
  CheckedAny,
  CheckedComparison,
  CheckedField,
  CheckedFilter,
  CheckedIn,
  CheckedStringFunction,
  ScalarValue,
} from './filter-validate.js';
import { invalidQuery } from './query-error.js';
import { lookupName } from './resource.js';

/*
 * Compiles a checked filter to SQL that behaves the same on SQLite and PostgreSQL:
 * - every value is a bound parameter, never spliced into the SQL text;
 * - case-insensitive text compares lower() of both sides, and LIKE always does, because SQLite's
 *   LIKE ignores ASCII case while PostgreSQL's does not. (SQLite's built-in lower() folds ASCII
 *   only while PostgreSQL's folds all of Unicode, so non-ASCII letters can still differ.)
 * - LIKE patterns escape %, _ and \ and name the escape character explicitly, since neither
 *   database would otherwise treat \ the same way;
 * - comparisons are two-valued: `mail eq 'x'` is false, not NULL, when mail is null, and `ne` is
 *   true, so `not (...)` means what it says instead of silently dropping rows with nulls.
 */

/** How one Graph property path reaches the database. */
export interface FieldMapping {
  /** A column reference such as `users.display_name`, or any SQL expression. */
  readonly column: string | Expression<unknown>;
  /** Compare text ignoring case (lower() on both sides), and sort the same way. */
  readonly caseInsensitive?: boolean;
  /**
   * A column the application keeps as `value.toLowerCase()` (such as `users.upn_key`). Used
   * instead of lower(column) for comparisons and sorting, so that an index on it can serve them.
   */
  readonly lowerColumn?: string | Expression<unknown>;
  /**
   * The column can hold NULL. Needed for sorting (nulls sort first ascending and last descending
   * on both databases) and adds null guards to comparisons even if the resource did not say so.
   */
  readonly nullable?: boolean;
}

/** What a lambda compiler receives besides the node: the compiler itself, for the element's predicate. */
export interface LambdaContext {
  compile(predicate: CheckedFilter, fields: FieldMap): Expression<SqlBool>;
}

/**
 * Compiles `collection/any(x: ...)` for one collection, typically as EXISTS over a child table or
 * a JSON array: compile `node.predicate` with a field map for one element (paths relative to the
 * element; `$this` for the element itself) and wrap it.
 */
export type LambdaCompiler = (node: CheckedAny, context: LambdaContext) => Expression<SqlBool>;

/** Maps a resource's filterable and sortable property paths to SQL. */
export interface FieldMap {
  readonly fields: Readonly<Record<string, FieldMapping>>;
  /** Compilers for `any` lambdas, keyed by collection path. */
  readonly lambdas?: Readonly<Record<string, LambdaCompiler>>;
}

const SQL_OPERATORS: Record<ComparisonOperator, string> = {
  eq: '=',
  ne: '<>',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};

/** `x` becomes the expression of a column reference or stays the given expression. */
function expressionOf(column: string | Expression<unknown>): Expression<unknown> {
  return typeof column === 'string' ? sql.ref(column) : column;
}

function mappingFor(fields: FieldMap, path: string): FieldMapping {
  const found = lookupName(fields.fields, path);
  if (!found) {
    throw invalidQuery(
      '$filter',
      `Unsupported $filter: the property '${path}' cannot be used in $filter here.`,
      {
        property: path,
      },
    );
  }
  return found.value;
}

/**
 * Escapes text for use inside a LIKE pattern with `ESCAPE '\'`: the escape character itself
 * first, then the two wildcards, so that the client's text only ever matches literally.
 */
export function escapeLikePattern(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('%', '\\%').replaceAll('_', '\\_');
}

/**
 * A bound parameter for a value of the field's type. Booleans are stored as 0/1. Whole numbers
 * that fit 32 bits are passed bare so that PostgreSQL types the parameter from the column (and
 * can use its index); anything else is cast to numeric, since an integer column would reject
 * `1.5` or a value beyond its range as a parameter of its own type.
 */
function parameter(value: ScalarValue): RawBuilder<unknown> {
  if (typeof value === 'boolean') return sql`${value ? 1 : 0}`;
  if (typeof value === 'number' && !(Number.isInteger(value) && Math.abs(value) <= 2_147_483_647)) {
    return sql`cast(${value} as numeric)`;
  }
  return sql`${value}`;
}

/** The left side of a comparison and how to write a value on the right, honouring the text rules. */
interface Comparable {
  readonly target: Expression<unknown>;
  readonly value: (value: ScalarValue) => RawBuilder<unknown>;
}

function comparable(field: CheckedField, mapping: FieldMapping, forceCaseInsensitive: boolean): Comparable {
  const isText = field.type === 'string';
  if (
    isText &&
    mapping.lowerColumn !== undefined &&
    (mapping.caseInsensitive === true || forceCaseInsensitive)
  ) {
    // The key column was lowered by the application with toLowerCase(), so the value is lowered the same way.
    return {
      target: expressionOf(mapping.lowerColumn),
      value: (value) => sql`${String(value).toLowerCase()}`,
    };
  }
  if (isText && (mapping.caseInsensitive === true || forceCaseInsensitive)) {
    // The cast gives PostgreSQL a type for the parameter; lower() is overloaded for ranges too.
    return {
      target: sql`lower(${expressionOf(mapping.column)})`,
      value: (value) => sql`lower(cast(${value} as text))`,
    };
  }
  return { target: expressionOf(mapping.column), value: parameter };
}

function isNullable(field: CheckedField, mapping: FieldMapping): boolean {
  return field.nullable || mapping.nullable === true;
}

/**
 * Makes a comparison two-valued on a nullable column: SQL gives NULL when the column is null,
 * which `not` would keep NULL and so drop the row. OData says `null ne 'x'` is true and the
 * other comparisons are false.
 */
function nullSafe(
  condition: Expression<SqlBool>,
  target: Expression<unknown>,
  nullable: boolean,
  nullMatches: boolean,
): Expression<SqlBool> {
  if (!nullable) return condition;
  return nullMatches
    ? sql<SqlBool>`(${target} is null or ${condition})`
    : sql<SqlBool>`(${target} is not null and ${condition})`;
}

function compileComparison(node: CheckedComparison, fields: FieldMap): Expression<SqlBool> {
  const mapping = mappingFor(fields, node.field.path);
  if (node.value === null) {
    const column = expressionOf(mapping.column);
    return node.operator === 'eq' ? sql<SqlBool>`${column} is null` : sql<SqlBool>`${column} is not null`;
  }
  const side = comparable(node.field, mapping, false);
  const condition = sql<SqlBool>`${side.target} ${sql.raw(SQL_OPERATORS[node.operator])} ${side.value(node.value)}`;
  return nullSafe(condition, side.target, isNullable(node.field, mapping), node.operator === 'ne');
}

function compileIn(node: CheckedIn, fields: FieldMap): Expression<SqlBool> {
  const mapping = mappingFor(fields, node.field.path);
  const side = comparable(node.field, mapping, false);
  const list = sql.join(node.values.map((value) => side.value(value)));
  const condition = sql<SqlBool>`${side.target} in (${list})`;
  return nullSafe(condition, side.target, isNullable(node.field, mapping), false);
}

function compileStringFunction(node: CheckedStringFunction, fields: FieldMap): Expression<SqlBool> {
  const mapping = mappingFor(fields, node.field.path);
  const side = comparable(node.field, mapping, true);
  const escaped = escapeLikePattern(node.value);
  const pattern = node.name === 'startswith' ? `${escaped}%` : `%${escaped}`;
  const condition = sql<SqlBool>`${side.target} like ${side.value(pattern)} escape '\\'`;
  return nullSafe(condition, side.target, isNullable(node.field, mapping), false);
}

function compileAny(node: CheckedAny, fields: FieldMap): Expression<SqlBool> {
  const compiler = lookupName(fields.lambdas, node.collection)?.value;
  if (compiler === undefined) {
    throw invalidQuery(
      '$filter',
      `Unsupported $filter: any() on '${node.collection}' is not supported on this resource.`,
      { property: node.collection },
    );
  }
  return compiler(node, { compile: compileFilter });
}

/**
 * Compiles a checked filter into a Kysely boolean expression, for `query.where(...)` or inside
 * an ExpressionBuilder (`eb.and([compileFilter(...), ...])`). Works identically on SQLite and
 * PostgreSQL. Throws 7700007 for a path the field map does not cover or an `any()` without a
 * lambda compiler.
 */
export function compileFilter(filter: CheckedFilter, fields: FieldMap): Expression<SqlBool> {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const parts = filter.operands.map((operand) => compileFilter(operand, fields));
      return sql<SqlBool>`(${sql.join(parts, sql.raw(` ${filter.kind} `))})`;
    }
    case 'not':
      return sql<SqlBool>`not (${compileFilter(filter.operand, fields)})`;
    case 'constant':
      return filter.value ? sql<SqlBool>`1 = 1` : sql<SqlBool>`1 = 0`;
    case 'compare':
      return compileComparison(filter, fields);
    case 'in':
      return compileIn(filter, fields);
    case 'function':
      return compileStringFunction(filter, fields);
    case 'any':
      return compileAny(filter, fields);
  }
}

/** Adds `filter` (if any) to a select query; the query is returned unchanged without one. */
export function whereFilter<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  filter: CheckedFilter | undefined,
  fields: FieldMap,
): SelectQueryBuilder<DB, TB, O> {
  return filter === undefined ? query : query.where(compileFilter(filter, fields));
}

/**
 * The expression a property sorts by: the lowered key column or lower(column) for
 * case-insensitive text, so that `Bob` sorts between `alice` and `carol`; otherwise the column.
 */
export function sortExpression(path: string, fields: FieldMap): Expression<unknown> {
  const found = lookupName(fields.fields, path);
  if (!found) {
    throw invalidQuery('$orderby', `Unsupported $orderby: the property '${path}' cannot be sorted on here.`, {
      property: path,
    });
  }
  const mapping = found.value;
  if (mapping.caseInsensitive !== true) return expressionOf(mapping.column);
  return mapping.lowerColumn !== undefined
    ? expressionOf(mapping.lowerColumn)
    : sql`lower(${expressionOf(mapping.column)})`;
}
