import type { Literal } from './filter-ast.js';
import { normaliseDateTime } from './literals.js';
import { syntaxError } from './query-error.js';

/*
 * Splits a `$filter` into tokens. Keywords (and, eq, true, null...) are plain identifiers here; the
 * parser gives them meaning by position, which keeps property names such as `notes` unambiguous.
 */

export type Punctuation = '(' | ')' | ',' | ':' | '/';

/** `position` is the 0-based offset of the first character, `end` the offset just after the last. */
export type Token =
  | { readonly kind: 'identifier'; readonly text: string; readonly position: number; readonly end: number }
  | { readonly kind: 'literal'; readonly literal: Literal; readonly position: number; readonly end: number }
  | {
      readonly kind: 'punctuation';
      readonly text: Punctuation;
      readonly position: number;
      readonly end: number;
    }
  | { readonly kind: 'end'; readonly position: number; readonly end: number };

const OPTION = '$filter';

// Sticky patterns: each matches only at `lastIndex`, so the lexer never scans ahead by accident.
const WHITESPACE = /\s+/y;
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![A-Za-z0-9_-])/iy;
/** A date at the cursor means a date-time literal follows (or a malformed one). */
const DATE_START = /\d{4}-\d{2}-\d{2}/y;
/** The whole date-time candidate: everything up to a delimiter, so errors can quote it. */
const DATE_TIME_RUN = /[0-9A-Za-z:.+-]+/y;
const ZONE_AT_END = /(?:z|[+-]\d{2}:\d{2})$/i;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** A number must end at a delimiter; `12abc` or `1.2.3` are errors, not two tokens. */
const AFTER_NUMBER = /[A-Za-z0-9_.]/y;

const PUNCTUATION = new Set<string>(['(', ')', ',', ':', '/']);

function matchAt(pattern: RegExp, source: string, position: number): string | undefined {
  pattern.lastIndex = position;
  return pattern.exec(source)?.[0];
}

function isPunctuation(char: string): char is Punctuation {
  return PUNCTUATION.has(char);
}

/** Reads a quoted string starting at the opening quote; `''` stands for one quote. */
function readString(source: string, start: number): { literal: Literal; end: number } {
  let value = '';
  let index = start + 1;
  while (index < source.length) {
    const next = source.indexOf("'", index);
    if (next === -1) break;
    value += source.slice(index, next);
    if (source[next + 1] === "'") {
      value += "'";
      index = next + 2;
      continue;
    }
    return { literal: { type: 'string', value, position: start }, end: next + 1 };
  }
  throw syntaxError(
    OPTION,
    start,
    "the string that starts here has no closing quote (a quote inside a string is written as two quotes: '').",
  );
}

function readDateTime(source: string, start: number): { literal: Literal; end: number } {
  const text = matchAt(DATE_TIME_RUN, source, start) ?? '';
  const result = normaliseDateTime(text);
  if (typeof result === 'string') {
    // An unencoded '+' arrives as a space and leaves the literal without its zone: say so.
    const hint = ZONE_AT_END.test(text) ? '' : " A '+' in an offset must be URL-encoded as %2B.";
    throw syntaxError(OPTION, start, `'${text}' is not a valid date-time: ${result}.${hint}`);
  }
  return {
    literal: {
      type: 'datetime',
      value: result.iso,
      subMillisecond: result.subMillisecond,
      text,
      position: start,
    },
    end: start + text.length,
  };
}

function readNumber(source: string, start: number, text: string): { literal: Literal; end: number } {
  const end = start + text.length;
  const trailing = matchAt(AFTER_NUMBER, source, end);
  if (trailing !== undefined) {
    const word = matchAt(/[A-Za-z0-9_.]+/y, source, start) ?? text;
    throw syntaxError(
      OPTION,
      start,
      `'${word}' is not a valid number; strings are written in single quotes.`,
    );
  }
  const value = Number(text);
  const isInteger = !/[.eE]/.test(text);
  if (!Number.isFinite(value) || (isInteger && !Number.isSafeInteger(value))) {
    throw syntaxError(OPTION, start, `the number ${text} is out of range.`);
  }
  return { literal: { type: 'number', value, text, position: start }, end };
}

function unexpectedCharacter(source: string, position: number): never {
  const char = source[position] ?? '';
  const hints: Record<string, string> = {
    '"': ' Strings are written in single quotes.',
    '=': ' Use eq, ne, gt, ge, lt or le to compare.',
    '<': ' Use lt or le to compare.',
    '>': ' Use gt or ge to compare.',
    '!': ' Use ne or not.',
    '&': ' Use and.',
    '|': ' Use or.',
    $: ' System variables such as $count and $it are not supported in $filter.',
  };
  throw syntaxError(OPTION, position, `unexpected character '${char}'.${hints[char] ?? ''}`);
}

/** Reads the token that starts at `position` (never whitespace). */
function readToken(source: string, position: number): Token {
  const char = source[position] ?? '';
  if (isPunctuation(char)) return { kind: 'punctuation', text: char, position, end: position + 1 };
  if (char === "'") {
    const { literal, end } = readString(source, position);
    return { kind: 'literal', literal, position, end };
  }
  // GUIDs come first: `8a3bfc12-...` starts like a number and `abcdef12-...` like a name.
  const guid = matchAt(GUID, source, position);
  if (guid !== undefined) {
    const literal: Literal = { type: 'guid', value: guid.toLowerCase(), position };
    return { kind: 'literal', literal, position, end: position + guid.length };
  }
  if (matchAt(DATE_START, source, position) !== undefined) {
    const { literal, end } = readDateTime(source, position);
    return { kind: 'literal', literal, position, end };
  }
  const number = matchAt(NUMBER, source, position);
  if (number !== undefined) {
    const { literal, end } = readNumber(source, position, number);
    return { kind: 'literal', literal, position, end };
  }
  const identifier = matchAt(IDENTIFIER, source, position);
  if (identifier !== undefined) {
    return { kind: 'identifier', text: identifier, position, end: position + identifier.length };
  }
  return unexpectedCharacter(source, position);
}

/**
 * Reads tokens on demand: `at(i)` lexes just far enough to return token `i` (the `end` token for
 * any index past it). Lexing lazily means errors surface in reading order: a bad character late
 * in the filter is not reported before a syntax error that comes earlier.
 */
export function tokenReader(source: string): (index: number) => Token {
  const endToken: Token = { kind: 'end', position: source.length, end: source.length };
  const tokens: Token[] = [];
  let position = 0;
  const readNext = (): Token => {
    const space = matchAt(WHITESPACE, source, position);
    if (space !== undefined) position += space.length;
    if (position >= source.length) return endToken;
    const token = readToken(source, position);
    position = token.end;
    return token;
  };
  return (index) => {
    while (tokens.length <= index && tokens[tokens.length - 1]?.kind !== 'end') tokens.push(readNext());
    return tokens[Math.min(index, tokens.length - 1)] ?? endToken;
  };
}
