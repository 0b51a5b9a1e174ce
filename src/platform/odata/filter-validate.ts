import type { ErrorDetails } from '../errors/rekey-error.js';
import {
  type AnyNode,
  type ComparisonNode,
  type ComparisonOperator,
  type FilterNode,
  type FilterOperator,
  type InNode,
  LAMBDA_ELEMENT_PATH,
  type Literal,
  type PropertyPath,
  type StringFunctionName,
  type StringFunctionNode,
} from './filter-ast.js';
import { describeLiteral, isGuid } from './literals.js';
import { invalidQuery, listForMessage } from './query-error.js';
import {
  type FilterableProperty,
  type FilterSchema,
  lookupName,
  type ResourceDescription,
  type ValueKind,
} from './resource.js';

/*
 * Checks a parsed filter against what a resource supports and produces the `CheckedFilter` the
 * compiler accepts: property paths in the resource's spelling, each value converted to the
 * property's type (GUIDs lower-cased, date-times normalised to stored form). Keeping this step
 * apart from the parser means the grammar never depends on a resource, and the compiler never
 * has to second-guess what a client sent.
 */

/** A property as the compiler needs to know it. */
export interface CheckedField {
  /** Canonical path; inside a lambda, relative to the element (`$this` for the element itself). */
  readonly path: string;
  readonly type: ValueKind;
  readonly nullable: boolean;
}

/**
 * A value converted to its property's type: strings as given; GUIDs lower-cased; date-times in
 * `Date.toISOString()` form; booleans as booleans (the compiler stores them as 0/1); numbers.
 */
export type ScalarValue = string | number | boolean;

export interface CheckedLogical {
  readonly kind: 'and' | 'or';
  readonly operands: readonly CheckedFilter[];
}
export interface CheckedNot {
  readonly kind: 'not';
  readonly operand: CheckedFilter;
}
/** A condition known without looking at any row (e.g. `eq` with a time finer than stored precision). */
export interface CheckedConstant {
  readonly kind: 'constant';
  readonly value: boolean;
}
export interface CheckedComparison {
  readonly kind: 'compare';
  readonly field: CheckedField;
  readonly operator: ComparisonOperator;
  /** Null only with `eq` / `ne` on a nullable property. */
  readonly value: ScalarValue | null;
}
export interface CheckedIn {
  readonly kind: 'in';
  readonly field: CheckedField;
  /** At least one value. */
  readonly values: readonly ScalarValue[];
}
export interface CheckedStringFunction {
  readonly kind: 'function';
  readonly field: CheckedField;
  readonly name: StringFunctionName;
  readonly value: string;
}
export interface CheckedAny {
  readonly kind: 'any';
  /** Canonical collection path, the key of the lambda compiler in the field map. */
  readonly collection: string;
  readonly variable: string;
  /** Paths inside are relative to the element and belong to the collection's element schema. */
  readonly predicate: CheckedFilter;
}

export type CheckedFilter =
  | CheckedLogical
  | CheckedNot
  | CheckedConstant
  | CheckedComparison
  | CheckedIn
  | CheckedStringFunction
  | CheckedAny;

const OPTION = '$filter';

/** Where a path is being resolved, for messages: the resource, or a collection's elements. */
interface Scope {
  readonly schema: FilterSchema;
  /** `users`, or `targetResources elements` inside a lambda. */
  readonly label: string;
  /** All property names of the resource (only at the top level), to tell "not filterable" from "unknown". */
  readonly knownProperties: readonly string[];
}

function unsupported(position: number, problem: string, details: ErrorDetails = {}): Error {
  return invalidQuery(OPTION, `Unsupported $filter at position ${position}: ${problem}`, {
    position,
    ...details,
  });
}

function filterablePaths(schema: FilterSchema): string[] {
  return Object.keys(schema.properties);
}

function resolveProperty(
  property: PropertyPath,
  scope: Scope,
): CheckedField & { readonly rule: FilterableProperty } {
  const found = lookupName(scope.schema.properties, property.path);
  if (found) {
    return {
      path: found.name,
      type: found.value.type,
      nullable: found.value.nullable === true,
      rule: found.value,
    };
  }
  const supportedProperties = filterablePaths(scope.schema);
  const details = { property: property.text, supportedProperties };
  const supported = `Filterable properties: ${listForMessage(supportedProperties)}.`;
  const collection = lookupName(scope.schema.collections, property.path);
  if (collection) {
    throw unsupported(
      property.position,
      `'${property.text}' is a collection; test its elements with ${property.text}/any(x: ...).`,
      details,
    );
  }
  const exists = scope.knownProperties.some(
    (name) => name.toLowerCase() === property.path.split('/')[0]?.toLowerCase(),
  );
  const problem =
    property.path === LAMBDA_ELEMENT_PATH
      ? `the elements of ${scope.label} cannot be compared directly.`
      : exists
        ? `the property '${property.text}' cannot be used in $filter on ${scope.label}.`
        : `the property '${property.text}' does not exist on ${scope.label}.`;
  throw unsupported(property.position, `${problem} ${supported}`, details);
}

function requireOperator(
  field: CheckedField & { readonly rule: FilterableProperty },
  operator: FilterOperator,
  property: PropertyPath,
): void {
  const supportedOperators = field.rule.operators;
  // startswith/endswith compile to LIKE, which only makes sense on text.
  const textOnly = (operator === 'startswith' || operator === 'endswith') && field.type !== 'string';
  if (supportedOperators.includes(operator) && !textOnly) return;
  // The message uses the path as written (`t` rather than `$this` inside a lambda).
  const name = field.path === LAMBDA_ELEMENT_PATH ? property.text : field.path;
  throw unsupported(
    property.position,
    `the operator '${operator}' is not supported on '${name}'. Supported operators: ${listForMessage(supportedOperators)}.`,
    { property: name, operator, supportedOperators },
  );
}

const EXPECTED: Record<ValueKind, string> = {
  string: 'a string in single quotes',
  number: 'a number',
  boolean: 'true or false',
  datetime: 'a date-time without quotes, such as 2024-03-13T00:00:00Z',
  guid: 'a GUID, such as 8a3bfc12-0000-4000-8000-000000000000',
};

/** Converts a non-null literal to the property's type, or explains why it cannot be. */
function convertValue(literal: Literal, field: CheckedField): ScalarValue {
  const mismatch = (): Error =>
    unsupported(
      literal.position,
      `'${field.path}' is compared with ${EXPECTED[field.type]}, found ${describeLiteral(literal)}.`,
      { property: field.path, expectedType: field.type },
    );
  switch (field.type) {
    case 'string':
      if (literal.type === 'string') return literal.value;
      throw mismatch();
    case 'number':
      if (literal.type === 'number') return literal.value;
      throw mismatch();
    case 'boolean':
      if (literal.type === 'boolean') return literal.value;
      throw mismatch();
    case 'datetime':
      if (literal.type === 'datetime') return literal.value;
      throw mismatch();
    case 'guid':
      // Graph's `id` is a string property, so clients quote it; lambda keys such as skuId are Edm.Guid.
      if (literal.type === 'guid') return literal.value;
      if (literal.type === 'string' && isGuid(literal.value)) return literal.value.toLowerCase();
      throw mismatch();
  }
}

/**
 * Stored times have millisecond precision, literals up to seven fractional digits. A literal
 * finer than a millisecond lies strictly between two storable values, so each comparison has an
 * exact equivalent against the millisecond below it (`iso` is already that truncated value).
 */
function subMillisecondComparison(
  field: CheckedField,
  operator: ComparisonOperator,
  iso: string,
): CheckedFilter {
  switch (operator) {
    case 'eq':
      return { kind: 'constant', value: false };
    case 'ne':
      return { kind: 'constant', value: true };
    case 'gt':
    case 'ge':
      return { kind: 'compare', field, operator: 'gt', value: iso };
    case 'lt':
    case 'le':
      return { kind: 'compare', field, operator: 'le', value: iso };
  }
}

function checkComparison(node: ComparisonNode, scope: Scope): CheckedFilter {
  const resolved = resolveProperty(node.property, scope);
  requireOperator(resolved, node.operator, node.property);
  const field: CheckedField = { path: resolved.path, type: resolved.type, nullable: resolved.nullable };
  const literal = node.value;
  if (literal.type === 'null') {
    if (node.operator !== 'eq' && node.operator !== 'ne') {
      throw unsupported(literal.position, `null can only be compared with eq or ne.`, {
        property: field.path,
      });
    }
    if (!field.nullable) {
      throw unsupported(
        literal.position,
        `'${field.path}' is never null, so it cannot be compared with null.`,
        {
          property: field.path,
        },
      );
    }
    return { kind: 'compare', field, operator: node.operator, value: null };
  }
  const value = convertValue(literal, field);
  if (literal.type === 'datetime' && literal.subMillisecond) {
    return subMillisecondComparison(field, node.operator, literal.value);
  }
  return { kind: 'compare', field, operator: node.operator, value };
}

function checkIn(node: InNode, scope: Scope): CheckedFilter {
  const resolved = resolveProperty(node.property, scope);
  requireOperator(resolved, 'in', node.property);
  const field: CheckedField = { path: resolved.path, type: resolved.type, nullable: resolved.nullable };
  const values: ScalarValue[] = [];
  for (const literal of node.values) {
    if (literal.type === 'null') {
      throw unsupported(literal.position, `null cannot be listed after 'in'; use '${field.path} eq null'.`, {
        property: field.path,
      });
    }
    const value = convertValue(literal, field);
    // A time finer than a millisecond equals no stored value, so it can only drop out of the list.
    if (literal.type === 'datetime' && literal.subMillisecond) continue;
    values.push(value);
  }
  return values.length === 0 ? { kind: 'constant', value: false } : { kind: 'in', field, values };
}

function checkFunction(node: StringFunctionNode, scope: Scope): CheckedFilter {
  const resolved = resolveProperty(node.property, scope);
  requireOperator(resolved, node.name, node.property);
  const field: CheckedField = { path: resolved.path, type: resolved.type, nullable: resolved.nullable };
  return { kind: 'function', field, name: node.name, value: node.value.value };
}

function checkAny(node: AnyNode, scope: Scope): CheckedFilter {
  const found = lookupName(scope.schema.collections, node.collection.path);
  if (!found) {
    const supportedCollections = Object.keys(scope.schema.collections ?? {});
    throw unsupported(
      node.collection.position,
      `any() is not supported on '${node.collection.text}' of ${scope.label}. Collections that support any(): ${listForMessage(supportedCollections)}.`,
      { property: node.collection.text, supportedCollections },
    );
  }
  const elementScope: Scope = { schema: found.value, label: `${found.name} elements`, knownProperties: [] };
  return {
    kind: 'any',
    collection: found.name,
    variable: node.variable,
    predicate: checkNode(node.predicate, elementScope),
  };
}

function checkNode(node: FilterNode, scope: Scope): CheckedFilter {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map((operand) => checkNode(operand, scope)) };
    case 'not':
      return { kind: 'not', operand: checkNode(node.operand, scope) };
    case 'compare':
      return checkComparison(node, scope);
    case 'in':
      return checkIn(node, scope);
    case 'function':
      return checkFunction(node, scope);
    case 'any':
      return checkAny(node, scope);
  }
}

/**
 * Checks a parsed `$filter` against what `resource` supports. Throws a RekeyError 7700007 for a
 * property that cannot be filtered (details `{ property, supportedProperties }`), an operator the
 * property does not allow (`{ property, operator, supportedOperators }`) or a value of the wrong
 * type (`{ property, expectedType }`); every message names the position.
 */
export function checkFilter(node: FilterNode, resource: ResourceDescription): CheckedFilter {
  const scope: Scope = {
    schema: resource.filter,
    label: resource.name,
    knownProperties: Object.keys(resource.properties),
  };
  return checkNode(node, scope);
}
