import type { Literal } from './filter-ast.js';

/*
 * Literal helpers shared by the lexer, the validator and the compiler. Kept free of parser state so
 * that each rule (what a GUID is, how a date-time is normalised) is written exactly once.
 */

/** A GUID in its canonical 8-4-4-4-12 form, either case. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `text` is a GUID in canonical form. */
export function isGuid(text: string): boolean {
  return GUID_PATTERN.test(text);
}

/**
 * Writes `value` as an OData string literal: single quotes, with a quote inside written as `''`.
 * The inverse of what the lexer reads; useful to build `$filter` strings safely (CLI, tests, links).
 */
export function formatStringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A date-time literal, normalised to the form the database stores. */
export interface NormalisedDateTime {
  /** `Date.toISOString()` form in UTC with exactly three fractional digits; sorts correctly as text. */
  readonly iso: string;
  /**
   * True when the literal had non-zero digits below the millisecond (OData allows up to seven).
   * Stored values never do, so the validator adjusts the comparison instead of rounding silently.
   */
  readonly subMillisecond: boolean;
}

/** The shape OData's `dateTimeOffsetValue` allows: seconds and fractions optional, a zone required. */
const DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$/i;

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one; UTC avoids any local-time surprises.
  const probe = new Date(0);
  probe.setUTCFullYear(year, month, 0);
  return probe.getUTCDate();
}

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/**
 * Parses an ISO 8601 date-time with a zone (`2024-03-13T00:00:00Z`, `...+02:00`, up to seven
 * fractional digits) into UTC milliseconds form. Returns a reason string when it is not valid.
 * Checks every field's range itself because `Date.parse` silently rolls `02-30` over into March.
 */
export function normaliseDateTime(text: string): NormalisedDateTime | string {
  const match = DATE_TIME_PATTERN.exec(text);
  if (!match)
    return 'expected a date-time such as 2024-03-13T00:00:00Z (yyyy-mm-ddThh:mm[:ss[.fffffff]] and Z or an offset)';
  const [, yearText, monthText, dayText, hourText, minuteText, secondText, fractionText, zone] = match;
  const year = Number(yearText);
  const month = Number(monthText);
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText ?? '0');
  if (month < 1 || month > 12) return `month ${monthText} is out of range`;
  if (day < 1 || day > daysInMonth(year, month))
    return `day ${dayText} does not exist in ${yearText}-${monthText}`;
  if (hour > 23 || minute > 59 || second > 59)
    return `time ${hourText}:${minuteText}:${twoDigits(second)} is out of range`;
  const zoneText = (zone ?? 'Z').toUpperCase();
  if (zoneText !== 'Z') {
    const offsetHours = Number(zoneText.slice(1, 3));
    const offsetMinutes = Number(zoneText.slice(4, 6));
    if (offsetHours > 23 || offsetMinutes > 59) return `time-zone offset ${zoneText} is out of range`;
  }
  const fraction = fractionText ?? '';
  const milliseconds = fraction.padEnd(3, '0').slice(0, 3);
  const subMillisecond = /[1-9]/.test(fraction.slice(3));
  // The fields are valid, so this string is in the ECMAScript date-time format, which Date.parse
  // reads exactly (including four-digit years below 100 and the offset).
  const ecmaText = `${yearText}-${monthText}-${dayText}T${hourText}:${minuteText}:${twoDigits(second)}.${milliseconds}${zoneText}`;
  const time = Date.parse(ecmaText);
  if (Number.isNaN(time)) return 'the date-time could not be read';
  const iso = new Date(time).toISOString();
  // Applying an offset can leave years 0000-9999, whose ISO form ('+010000-...') would not sort as text.
  if (!/^\d{4}-/.test(iso)) return 'the date-time is out of range';
  return { iso, subMillisecond };
}

/** How a literal is named in error messages: `the string 'abc'`, `the number 5`, `null`... */
export function describeLiteral(literal: Literal): string {
  switch (literal.type) {
    case 'string': {
      // Long strings are cut so that a message never echoes a whole oversized value back.
      const shown = literal.value.length > 32 ? `${literal.value.slice(0, 32)}...` : literal.value;
      return `the string '${shown}'`;
    }
    case 'number':
      return `the number ${literal.text}`;
    case 'boolean':
      return `the value ${literal.value}`;
    case 'null':
      return 'null';
    case 'guid':
      return `the GUID ${literal.value}`;
    case 'datetime':
      return `the date-time ${literal.text}`;
  }
}
