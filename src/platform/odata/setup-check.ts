import type { FieldMap } from './kysely-compile.js';
import { lookupName, type ResourceDescription } from './resource.js';

/*
 * A resource description and its field map are written by hand, side by side, in a feature
 * module. A mismatch would only surface as a 7700007 for a request the resource claims to
 * support, so features assert in a unit test that this finds nothing.
 */

function has(record: Readonly<Record<string, unknown>> | undefined, name: string): boolean {
  return lookupName(record, name) !== undefined;
}

function descriptionProblems(resource: ResourceDescription): string[] {
  const problems: string[] = [];
  const { top } = resource;
  if (
    !(
      Number.isInteger(top.default) &&
      Number.isInteger(top.max) &&
      top.default >= 1 &&
      top.default <= top.max
    )
  ) {
    problems.push(`top.default (${top.default}) must be a whole number from 1 to top.max (${top.max})`);
  }
  if (!has(resource.properties, resource.key)) problems.push(`key '${resource.key}' is not a property`);
  for (const item of resource.defaultOrderBy) {
    if (!resource.orderBy.includes(item.property)) {
      problems.push(`defaultOrderBy '${item.property}' is not listed in orderBy`);
    }
  }
  for (const [path, rule] of Object.entries(resource.filter.properties)) {
    const textOnly = rule.operators.filter(
      (operator) => operator === 'startswith' || operator === 'endswith',
    );
    if (textOnly.length > 0 && rule.type !== 'string') {
      problems.push(`filter '${path}' allows ${textOnly.join('/')} but is of type ${rule.type}`);
    }
  }
  return problems;
}

function fieldMapProblems(resource: ResourceDescription, fields: FieldMap): string[] {
  const problems: string[] = [];
  for (const [path, rule] of Object.entries(resource.filter.properties)) {
    const mapping = lookupName(fields.fields, path)?.value;
    if (mapping === undefined) problems.push(`filter '${path}' has no field mapping`);
    else if (mapping.nullable === true && rule.nullable !== true) {
      problems.push(`filter '${path}' maps to a nullable column but is not marked nullable`);
    }
  }
  for (const collection of Object.keys(resource.filter.collections ?? {})) {
    if (!has(fields.lambdas, collection)) problems.push(`collection '${collection}' has no lambda compiler`);
  }
  for (const path of new Set([...resource.orderBy, resource.key])) {
    const mapping = lookupName(fields.fields, path)?.value;
    if (mapping === undefined) {
      problems.push(`orderBy '${path}' has no field mapping`);
      continue;
    }
    // Sorting must know about nulls to place them the same way on both databases.
    const filterRule = lookupName(resource.filter.properties, path)?.value;
    if (filterRule?.nullable === true && mapping.nullable !== true) {
      problems.push(`orderBy '${path}' is nullable in the filter schema but its field mapping is not`);
    }
  }
  const keyMapping = lookupName(fields.fields, resource.key)?.value;
  if (keyMapping?.nullable === true || keyMapping?.caseInsensitive === true) {
    problems.push(`key '${resource.key}' must map to a unique, non-null column compared exactly`);
  }
  return problems;
}

/**
 * Lists the ways `resource` and `fields` disagree with each other or themselves: a filterable or
 * sortable path without a column, a collection without a lambda compiler, a default order that
 * is not sortable, an impossible `$top`... An empty list means the setup is consistent.
 */
export function findSetupProblems(resource: ResourceDescription, fields: FieldMap): string[] {
  return [...descriptionProblems(resource), ...fieldMapProblems(resource, fields)];
}
