/*
 * The syntax tree of a `$filter`, as written by the client: property names are as typed (not yet
 * matched against a resource) and literals carry their own type. `filter-validate.ts` turns this
 * into a `CheckedFilter` for one resource; only checked filters can be compiled to SQL.
 */

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type StringFunctionName = 'startswith' | 'endswith';
/** Every operator a resource can allow on a property. */
export type FilterOperator = ComparisonOperator | StringFunctionName | 'in';

export const COMPARISON_OPERATORS: readonly ComparisonOperator[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];
export const STRING_FUNCTIONS: readonly StringFunctionName[] = ['startswith', 'endswith'];

/** A literal with the type its spelling gives it. Positions are 0-based offsets into the filter. */
export type Literal =
  | { readonly type: 'string'; readonly value: string; readonly position: number }
  | { readonly type: 'number'; readonly value: number; readonly text: string; readonly position: number }
  | { readonly type: 'boolean'; readonly value: boolean; readonly position: number }
  | { readonly type: 'null'; readonly position: number }
  /** `value` is lower-cased: GUIDs compare case-insensitively and are stored lower-case. */
  | { readonly type: 'guid'; readonly value: string; readonly position: number }
  | {
      readonly type: 'datetime';
      /** Normalised to `Date.toISOString()` form (UTC, milliseconds). */
      readonly value: string;
      readonly subMillisecond: boolean;
      readonly text: string;
      readonly position: number;
    };

/**
 * A property path such as `displayName` or `status/errorCode`. Inside an `any` lambda the path is
 * relative to the range variable (`t/id` becomes `id`), and the element itself is `$this`.
 */
export interface PropertyPath {
  readonly path: string;
  /** The path as the client wrote it, for messages. */
  readonly text: string;
  readonly position: number;
}

/** The path used for the element itself inside a lambda, as in `tags/any(t: t eq 'x')`. */
export const LAMBDA_ELEMENT_PATH = '$this';

export interface LogicalNode {
  readonly kind: 'and' | 'or';
  /** Two or more operands; chains are kept flat so that long filters do not nest deeply. */
  readonly operands: readonly FilterNode[];
  readonly position: number;
}

export interface NotNode {
  readonly kind: 'not';
  readonly operand: FilterNode;
  readonly position: number;
}

export interface ComparisonNode {
  readonly kind: 'compare';
  readonly operator: ComparisonOperator;
  readonly property: PropertyPath;
  readonly value: Literal;
  readonly position: number;
}

export interface InNode {
  readonly kind: 'in';
  readonly property: PropertyPath;
  readonly values: readonly Literal[];
  readonly position: number;
}

export interface StringFunctionNode {
  readonly kind: 'function';
  readonly name: StringFunctionName;
  readonly property: PropertyPath;
  readonly value: Literal & { readonly type: 'string' };
  readonly position: number;
}

export interface AnyNode {
  readonly kind: 'any';
  /** The collection, e.g. `targetResources` in `targetResources/any(t: t/id eq '...')`. */
  readonly collection: PropertyPath;
  readonly variable: string;
  /** Paths inside are relative to `variable`. */
  readonly predicate: FilterNode;
  readonly position: number;
}

export type FilterNode = LogicalNode | NotNode | ComparisonNode | InNode | StringFunctionNode | AnyNode;
