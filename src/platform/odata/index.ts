/*
 * OData query options for Graph-style list endpoints. The usual flow in a route:
 *
 *   const options = parseQueryOptions(request.query, usersResource);          // 7700007 on any problem
 *   const base = whereFilter(db.selectFrom('users').selectAll().where(...tenant...), options.filter, userFields);
 *   const page = await fetchPage(base, options, userFields);                    // keyset paging
 *   const value = page.rows.map(toGraphUser).map((user) => applySelect(user, options.select.properties));
 *   const nextLink = page.nextSkipToken && buildNextLink(requestUrl, page.nextSkipToken);
 *   const count = options.count ? await countRows(base) : undefined;
 */

export type {
  AnyNode,
  ComparisonNode,
  ComparisonOperator,
  FilterNode,
  FilterOperator,
  InNode,
  Literal,
  LogicalNode,
  NotNode,
  PropertyPath,
  StringFunctionName,
  StringFunctionNode,
} from './filter-ast.js';
export { COMPARISON_OPERATORS, LAMBDA_ELEMENT_PATH, STRING_FUNCTIONS } from './filter-ast.js';
export { DEFAULT_FILTER_LIMITS, type FilterLimits, parseFilter } from './filter-parser.js';
export {
  type CheckedAny,
  type CheckedComparison,
  type CheckedConstant,
  type CheckedField,
  type CheckedFilter,
  type CheckedIn,
  type CheckedLogical,
  type CheckedNot,
  type CheckedStringFunction,
  checkFilter,
  type ScalarValue,
} from './filter-validate.js';
export {
  compileFilter,
  escapeLikePattern,
  type FieldMap,
  type FieldMapping,
  type LambdaCompiler,
  type LambdaContext,
  sortExpression,
  whereFilter,
} from './kysely-compile.js';
export { formatStringLiteral, isGuid, normaliseDateTime } from './literals.js';
export { MAX_ORDER_BY_ITEMS, parseOrderBy } from './order-by.js';
export {
  buildNextLink,
  type CountedPage,
  completeSort,
  countRows,
  decodeSkipToken,
  encodeSkipToken,
  fetchListPage,
  fetchPage,
  keysetCondition,
  type ListRequest,
  orderByKeys,
  type Page,
  type PageRequest,
  resolveSort,
  type SortKey,
  type SortValue,
} from './paging.js';
export { parseQueryOptions, type QueryInput, type QueryOptions } from './query-options.js';
export type {
  FilterableProperty,
  FilterSchema,
  OrderByItem,
  ResourceDescription,
  SelectMode,
  SortDirection,
  ValueKind,
} from './resource.js';
export { applySelect, parseSelect, type Selection, selectContextSuffix } from './select.js';
export { findSetupProblems } from './setup-check.js';
