import { invalidQuery, listForMessage, syntaxError } from './query-error.js';
import { defaultProperties, lookupName, type ResourceDescription, selectableProperties } from './resource.js';

/** The properties a response includes, in the resource's output order. */
export interface Selection {
  readonly properties: readonly string[];
  /** True when the client sent `$select`; Graph then adds the list to `@odata.context`. */
  readonly explicit: boolean;
}

const OPTION = '$select';
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits a comma-separated option into trimmed items with the position of each. */
export function splitItems(raw: string): { readonly text: string; readonly position: number }[] {
  const items: { text: string; position: number }[] = [];
  let start = 0;
  for (const part of raw.split(',')) {
    const leading = part.length - part.trimStart().length;
    items.push({ text: part.trim(), position: start + leading });
    start += part.length + 1;
  }
  return items;
}

/** `key` always comes back, as in Graph, when the resource has it as a property. */
function withKey(resource: ResourceDescription, chosen: ReadonlySet<string>): string[] {
  return Object.keys(resource.properties).filter((name) => chosen.has(name) || name === resource.key);
}

/**
 * Reads `$select` against `resource`. Without it, the resource's default properties. `*` means
 * every selectable property. Names match ignoring case and come back in the resource's spelling
 * and order, with the key (`id`) always included. Throws 7700007 naming an unknown or
 * unselectable property, with `{ property, supportedProperties }`.
 */
export function parseSelect(raw: string | undefined, resource: ResourceDescription): Selection {
  if (raw === undefined)
    return { properties: withKey(resource, new Set(defaultProperties(resource))), explicit: false };
  if (raw.trim() === '')
    throw invalidQuery(OPTION, 'The $select is empty; list properties separated by commas.');
  const supportedProperties = selectableProperties(resource);
  const chosen = new Set<string>();
  for (const item of splitItems(raw)) {
    if (item.text === '')
      throw syntaxError(OPTION, item.position, 'expected a property name between commas.');
    if (item.text === '*') {
      for (const name of supportedProperties) chosen.add(name);
      continue;
    }
    if (item.text.includes('/')) {
      throw syntaxError(OPTION, item.position, `'${item.text}': nested paths are not supported in $select.`);
    }
    if (!NAME.test(item.text)) {
      throw syntaxError(OPTION, item.position, `'${item.text}' is not a property name.`);
    }
    const found = lookupName(resource.properties, item.text);
    if (!found || found.value === 'never') {
      const problem = found
        ? `The property '${found.name}' of ${resource.name} cannot be selected.`
        : `The property '${item.text}' does not exist on ${resource.name}.`;
      throw invalidQuery(
        OPTION,
        `${problem} Selectable properties: ${listForMessage(supportedProperties)}.`,
        {
          position: item.position,
          property: item.text,
          supportedProperties,
        },
      );
    }
    chosen.add(found.name);
  }
  return { properties: withKey(resource, chosen), explicit: true };
}

/**
 * Keeps only the selected properties of an already-mapped output object, in the object's own
 * order, and always `id` (as Graph does). A selected name the object does not have is a
 * 7700007 naming it, with the object's properties as `supportedProperties`.
 */
export function applySelect(
  object: Readonly<Record<string, unknown>>,
  properties: readonly string[],
): Record<string, unknown> {
  const keep = new Set<string>(['id']);
  for (const name of properties) {
    const found = lookupName(object, name);
    if (!found) {
      const supportedProperties = Object.keys(object);
      throw invalidQuery(
        OPTION,
        `The property '${name}' cannot be selected. Selectable properties: ${listForMessage(supportedProperties)}.`,
        { property: name, supportedProperties },
      );
    }
    keep.add(found.name);
  }
  return Object.fromEntries(Object.entries(object).filter(([name]) => keep.has(name)));
}

/**
 * The `@odata.context` suffix for a selection: `(id,displayName)` when `$select` was sent, as in
 * `.../$metadata#users(id,displayName)`, otherwise empty.
 */
export function selectContextSuffix(selection: Selection): string {
  return selection.explicit ? `(${selection.properties.join(',')})` : '';
}
