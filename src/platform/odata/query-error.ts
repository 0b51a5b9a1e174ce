import { Codes } from '../errors/catalog.js';
import { type ErrorDetails, RekeyError } from '../errors/rekey-error.js';

/** The OData system query options Rekey understands, as they appear in error details. */
export type QueryOptionName = '$select' | '$filter' | '$top' | '$orderby' | '$count' | '$skiptoken';

/**
 * Every problem with a query option is the catalog's 7700007 `InvalidQueryOption`. The message
 * always says what is wrong; the details always name the option so that clients can branch on it.
 */
export function invalidQuery(option: string, message: string, details: ErrorDetails = {}): RekeyError {
  return new RekeyError(Codes.InvalidQueryOption, { message, details: { option, ...details } });
}

/**
 * A syntax error at a known character position (0-based, as in Microsoft's OData libraries). The
 * position is in both the message and the details, so that people and programs can both find it.
 */
export function syntaxError(
  option: string,
  position: number,
  problem: string,
  details: ErrorDetails = {},
): RekeyError {
  return invalidQuery(option, `Invalid ${option} at position ${position}: ${problem}`, {
    position,
    ...details,
  });
}

/** Joins names for a message: `a, b, c`, or `(none)` so that an empty list still reads correctly. */
export function listForMessage(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}
