import { invalidQuery, listForMessage, syntaxError } from './query-error.js';
import {
  lookupListedName,
  type OrderByItem,
  type ResourceDescription,
  type SortDirection,
} from './resource.js';
import { splitItems } from './select.js';

const OPTION = '$orderby';
/** More sort keys than this only makes queries slower; Graph itself rarely accepts more than one. */
export const MAX_ORDER_BY_ITEMS = 4;
const ITEM = /^([A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*)(?:\s+(asc|desc))?$/i;

/**
 * Reads `$orderby` (`displayName`, `createdDateTime desc, id`) against `resource`; without it,
 * the resource's default order. Names match ignoring case and come back in the resource's
 * spelling. Throws 7700007 for a property that cannot be sorted on, with
 * `{ property, supportedProperties }`, and for syntax errors with the position.
 */
export function parseOrderBy(raw: string | undefined, resource: ResourceDescription): OrderByItem[] {
  if (raw === undefined) return [...resource.defaultOrderBy];
  if (raw.trim() === '') throw invalidQuery(OPTION, 'The $orderby is empty.');
  const items = splitItems(raw);
  if (items.length > MAX_ORDER_BY_ITEMS) {
    throw invalidQuery(
      OPTION,
      `The $orderby lists ${items.length} properties; the limit is ${MAX_ORDER_BY_ITEMS}.`,
      {
        maxItems: MAX_ORDER_BY_ITEMS,
      },
    );
  }
  const result: OrderByItem[] = [];
  for (const item of items) {
    const match = ITEM.exec(item.text);
    const path = match?.[1];
    if (!match || path === undefined) {
      const found = item.text === '' ? 'nothing' : `'${item.text}'`;
      throw syntaxError(
        OPTION,
        item.position,
        `expected a property name, optionally followed by asc or desc, found ${found}.`,
      );
    }
    const property = lookupListedName(resource.orderBy, path);
    if (property === undefined) {
      throw invalidQuery(
        OPTION,
        `Unsupported $orderby at position ${item.position}: '${path}' cannot be used in $orderby on ${resource.name}. Sortable properties: ${listForMessage(resource.orderBy)}.`,
        { position: item.position, property: path, supportedProperties: resource.orderBy },
      );
    }
    if (result.some((existing) => existing.property === property)) {
      throw syntaxError(OPTION, item.position, `'${property}' is listed more than once.`);
    }
    const direction: SortDirection = match[2]?.toLowerCase() === 'desc' ? 'desc' : 'asc';
    result.push({ property, direction });
  }
  return result;
}
