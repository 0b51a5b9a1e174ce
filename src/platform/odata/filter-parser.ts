import {
  type AnyNode,
  COMPARISON_OPERATORS,
  type ComparisonOperator,
  type FilterNode,
  LAMBDA_ELEMENT_PATH,
  type Literal,
  type PropertyPath,
  STRING_FUNCTIONS,
  type StringFunctionName,
  type StringFunctionNode,
} from './filter-ast.js';
import { type Punctuation, type Token, tokenReader } from './filter-lexer.js';
import { describeLiteral } from './literals.js';
import { invalidQuery, listForMessage, syntaxError } from './query-error.js';

/*
 * A recursive-descent parser for the `$filter` subset Graph list endpoints accept:
 *
 *   or-expr   = and-expr *( "or" and-expr )
 *   and-expr  = unary *( "and" unary )
 *   unary     = "not" unary / primary
 *   primary   = "(" or-expr ")" / function / path "/any(" var ":" or-expr ")" / path op value
 *             / path "in" "(" value *( "," value ) ")"
 *   function  = ( "startswith" / "endswith" ) "(" path "," string ")"
 *
 * So `not` binds tighter than `and`, which binds tighter than `or`. `not` applies to a whole
 * condition (`not displayName eq 'x'` means `not (displayName eq 'x')`): properties are never
 * boolean values on their own here, so OData's stricter reading would only ever be an error.
 * Every failure is a 7700007 naming the position; nothing the client sends can crash the parser,
 * and recursion is bounded by the depth limit.
 */

export interface FilterLimits {
  /** Longest `$filter` accepted, in characters. */
  readonly maxLength: number;
  /** Deepest nesting of parentheses, `not` and `any` together. */
  readonly maxDepth: number;
  /** Most values in one `in (...)` list. */
  readonly maxInValues: number;
  /** Most segments in one property path (`a/b/c` has three). */
  readonly maxPathSegments: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = {
  maxLength: 2048,
  maxDepth: 16,
  maxInValues: 100,
  maxPathSegments: 8,
};

const OPTION = '$filter';
const SUPPORTED_OPERATORS_TEXT = `${COMPARISON_OPERATORS.join(', ')}, in`;
/** Operators OData defines that Rekey does not, so the message can say "not supported" rather than "unknown". */
const UNSUPPORTED_OPERATORS = new Set(['has', 'add', 'sub', 'mul', 'div', 'divby', 'mod']);
/** Words that can never start a condition; seeing one there is a misplaced keyword, not a property. */
const RESERVED_WORDS = new Set([...COMPARISON_OPERATORS, 'and', 'or', 'in', ...UNSUPPORTED_OPERATORS]);

function lower(text: string): string {
  return text.toLowerCase();
}

/** How a token is named in messages. */
function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the filter';
    case 'punctuation':
      return `'${token.text}'`;
    case 'identifier':
      return `'${token.text}'`;
    case 'literal':
      return describeLiteral(token.literal);
  }
}

function isComparisonOperator(word: string): word is ComparisonOperator {
  return (COMPARISON_OPERATORS as readonly string[]).includes(word);
}

function isStringFunction(word: string): word is StringFunctionName {
  return (STRING_FUNCTIONS as readonly string[]).includes(word);
}

/** Keyword literals are case-insensitive, as OData 4.01 allows. */
function keywordLiteral(token: Token & { kind: 'identifier' }): Literal | undefined {
  switch (lower(token.text)) {
    case 'true':
      return { type: 'boolean', value: true, position: token.position };
    case 'false':
      return { type: 'boolean', value: false, position: token.position };
    case 'null':
      return { type: 'null', position: token.position };
    default:
      return undefined;
  }
}

/** A path as written, before it is made relative to a lambda's range variable. */
interface RawPath {
  readonly segments: readonly string[];
  readonly position: number;
  /** The path is directly followed by `/any(` or `/all(`. */
  readonly lambdaFollows: boolean;
}

class FilterParser {
  private index = 0;
  private depth = 0;
  /** Range variables of the enclosing `any` lambdas, innermost last. */
  private readonly variables: string[] = [];

  constructor(
    private readonly tokenAt: (index: number) => Token,
    private readonly limits: FilterLimits,
  ) {}

  parse(): FilterNode {
    const node = this.parseOr();
    const token = this.peek();
    if (token.kind === 'punctuation' && token.text === ')') {
      throw syntaxError(OPTION, token.position, "')' has no matching '('.");
    }
    if (token.kind !== 'end') {
      throw syntaxError(
        OPTION,
        token.position,
        `expected 'and', 'or' or the end of the filter, found ${describe(token)}.${this.quoteHint(this.index)}`,
      );
    }
    return node;
  }

  /**
   * `'it's'` reads as the string 'it' followed by `s`. When a token sits right against the end of
   * a string, the likely cause is a quote that should have been doubled, so say so.
   */
  private quoteHint(tokenIndex: number): string {
    const token = this.tokenAt(tokenIndex);
    const previous = tokenIndex > 0 ? this.tokenAt(tokenIndex - 1) : undefined;
    const touchesString =
      previous?.kind === 'literal' && previous.literal.type === 'string' && previous.end === token.position;
    return touchesString && token.kind !== 'end'
      ? " A quote inside a string is written as two quotes: ''."
      : '';
  }

  // --- token access -----------------------------------------------------------------------------

  private peek(offset = 0): Token {
    return this.tokenAt(this.index + offset);
  }

  private advance(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index += 1;
    return token;
  }

  private isKeyword(token: Token, word: string): boolean {
    return token.kind === 'identifier' && lower(token.text) === word;
  }

  private isPunctuation(token: Token, text: Punctuation): boolean {
    return token.kind === 'punctuation' && token.text === text;
  }

  private expectPunctuation(text: Punctuation, problem: (found: string) => string): Token {
    const index = this.index;
    const token = this.advance();
    if (!this.isPunctuation(token, text)) {
      throw syntaxError(OPTION, token.position, `${problem(describe(token))}${this.quoteHint(index)}`);
    }
    return token;
  }

  private enter(position: number): void {
    this.depth += 1;
    if (this.depth > this.limits.maxDepth) {
      throw syntaxError(
        OPTION,
        position,
        `the filter nests deeper than ${this.limits.maxDepth} levels of parentheses, not and any().`,
        { maxDepth: this.limits.maxDepth },
      );
    }
  }

  private leave(): void {
    this.depth -= 1;
  }

  // --- boolean structure --------------------------------------------------------------------------

  private parseOr(): FilterNode {
    const first = this.parseAnd();
    const operands = [first];
    while (this.isKeyword(this.peek(), 'or')) {
      this.advance();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? first : { kind: 'or', operands, position: first.position };
  }

  private parseAnd(): FilterNode {
    const first = this.parseUnary();
    const operands = [first];
    while (this.isKeyword(this.peek(), 'and')) {
      this.advance();
      operands.push(this.parseUnary());
    }
    return operands.length === 1 ? first : { kind: 'and', operands, position: first.position };
  }

  private parseUnary(): FilterNode {
    const token = this.peek();
    if (!this.isKeyword(token, 'not')) return this.parsePrimary();
    this.advance();
    this.enter(token.position);
    const operand = this.parseUnary();
    this.leave();
    return { kind: 'not', operand, position: token.position };
  }

  private parsePrimary(): FilterNode {
    const token = this.peek();
    if (this.isPunctuation(token, '(')) return this.parseParenthesised(token.position);
    if (token.kind === 'identifier') {
      const literal = keywordLiteral(token);
      if (literal) {
        throw this.valueOnLeft({ kind: 'literal', literal, position: token.position, end: token.end });
      }
      if (RESERVED_WORDS.has(lower(token.text))) {
        throw syntaxError(OPTION, token.position, `expected a condition, found the keyword '${token.text}'.`);
      }
      if (this.isPunctuation(this.peek(1), '(')) return this.parseFunction();
      return this.parseCondition();
    }
    if (token.kind === 'literal') throw this.valueOnLeft(token);
    throw syntaxError(OPTION, token.position, `expected a condition, found ${describe(token)}.`);
  }

  private valueOnLeft(token: Token): Error {
    return syntaxError(
      OPTION,
      token.position,
      `expected a property name, a function or '(', found ${describe(token)}; the property must be on the left of the operator.`,
    );
  }

  private parseParenthesised(openPosition: number): FilterNode {
    this.advance();
    this.enter(openPosition);
    const inner = this.parseOr();
    this.expectPunctuation(
      ')',
      (found) => `expected ')' to close the '(' at position ${openPosition}, found ${found}.`,
    );
    this.leave();
    return inner;
  }

  // --- functions ----------------------------------------------------------------------------------

  private parseFunction(): StringFunctionNode {
    const nameToken = this.advance();
    const name = nameToken.kind === 'identifier' ? lower(nameToken.text) : '';
    if (!isStringFunction(name)) {
      const written = nameToken.kind === 'identifier' ? nameToken.text : name;
      throw syntaxError(
        OPTION,
        nameToken.position,
        `the function '${written}' is not supported; supported functions: ${listForMessage(STRING_FUNCTIONS)}.`,
        { function: written, supportedFunctions: STRING_FUNCTIONS },
      );
    }
    this.advance(); // the '(' that parsePrimary saw
    const property = this.parsePlainPath(`as the first argument of ${name}()`);
    this.expectPunctuation(
      ',',
      (found) => `expected ',' after the property in ${name}(property, 'text'), found ${found}.`,
    );
    const valueToken = this.advance();
    if (valueToken.kind !== 'literal' || valueToken.literal.type !== 'string') {
      throw syntaxError(
        OPTION,
        valueToken.position,
        `${name}() needs a string in single quotes as its second argument, found ${describe(valueToken)}.`,
      );
    }
    const value = valueToken.literal;
    this.expectPunctuation(')', (found) => `expected ')' to close ${name}(), found ${found}.`);
    return { kind: 'function', name, property, value, position: nameToken.position };
  }

  // --- paths, comparisons and lambdas -----------------------------------------------------------

  /** Reads `a/b/c`; stops before `/any(` so that the caller can read the lambda. */
  private parseRawPath(context: string): RawPath {
    const first = this.advance();
    if (first.kind !== 'identifier') {
      throw syntaxError(
        OPTION,
        first.position,
        `expected a property name ${context}, found ${describe(first)}.`,
      );
    }
    const segments = [first.text];
    let end = first.end;
    // Paths have no spaces (`a/b`); a '/' after a space is left for the caller to reject.
    while (this.isPunctuation(this.peek(), '/') && this.peek().position === end) {
      const slash = this.peek();
      const next = this.peek(1);
      if (next.kind === 'identifier' && this.isPunctuation(this.peek(2), '(')) {
        const word = lower(next.text);
        if (word === 'any' || word === 'all')
          return { segments, position: first.position, lambdaFollows: true };
      }
      this.advance();
      const segment = this.advance();
      if (segment.kind !== 'identifier' || segment.position !== slash.position + 1) {
        const found = segment.position === slash.position + 1 ? describe(segment) : 'a space';
        throw syntaxError(
          OPTION,
          slash.position + 1,
          `expected a property name right after '/', found ${found}.`,
        );
      }
      segments.push(segment.text);
      end = segment.end;
      if (segments.length > this.limits.maxPathSegments) {
        throw syntaxError(
          OPTION,
          first.position,
          `the property path has more than ${this.limits.maxPathSegments} segments.`,
        );
      }
    }
    return { segments, position: first.position, lambdaFollows: false };
  }

  /**
   * Makes a path relative to the innermost range variable when inside a lambda. OData allows
   * reaching outer properties with `$it`, but Graph's lambdas only ever test the element, so
   * requiring the variable keeps the meaning of every path obvious.
   */
  private resolvePath(raw: RawPath): PropertyPath {
    const text = raw.segments.join('/');
    const variable = this.variables[this.variables.length - 1];
    if (variable === undefined) return { path: text, text, position: raw.position };
    const [head, ...rest] = raw.segments;
    if (head !== variable) {
      throw syntaxError(
        OPTION,
        raw.position,
        `inside any(), properties are reached through the range variable '${variable}': write '${variable}/${text}'.`,
      );
    }
    return { path: rest.length === 0 ? LAMBDA_ELEMENT_PATH : rest.join('/'), text, position: raw.position };
  }

  private parsePlainPath(context: string): PropertyPath {
    const raw = this.parseRawPath(context);
    if (raw.lambdaFollows) {
      throw syntaxError(OPTION, this.peek().position, `a lambda cannot be used ${context}.`);
    }
    return this.resolvePath(raw);
  }

  private parseCondition(): FilterNode {
    const raw = this.parseRawPath('at the start of a condition');
    const property = this.resolvePath(raw);
    if (raw.lambdaFollows) return this.parseLambda(property);
    const operatorToken = this.advance();
    const word = operatorToken.kind === 'identifier' ? lower(operatorToken.text) : '';
    if (isComparisonOperator(word)) {
      const value = this.parseValue(word);
      return { kind: 'compare', operator: word, property, value, position: property.position };
    }
    if (word === 'in') return this.parseInList(property, operatorToken.position);
    if (UNSUPPORTED_OPERATORS.has(word)) {
      throw syntaxError(
        OPTION,
        operatorToken.position,
        `the operator '${word}' is not supported; supported operators: ${SUPPORTED_OPERATORS_TEXT}.`,
      );
    }
    const endsCondition =
      operatorToken.kind === 'end' ||
      this.isKeyword(operatorToken, 'and') ||
      this.isKeyword(operatorToken, 'or') ||
      this.isPunctuation(operatorToken, ')');
    const hint = endsCondition
      ? ` Boolean properties are compared explicitly, e.g. '${property.text} eq true'.`
      : '';
    throw syntaxError(
      OPTION,
      operatorToken.position,
      `expected an operator (${SUPPORTED_OPERATORS_TEXT}) after '${property.text}', found ${describe(operatorToken)}.${hint}`,
    );
  }

  private parseValue(after: string): Literal {
    const token = this.advance();
    if (token.kind === 'literal') return token.literal;
    if (token.kind === 'identifier') {
      const literal = keywordLiteral(token);
      if (literal) return literal;
      throw syntaxError(
        OPTION,
        token.position,
        `expected a value after '${after}', found '${token.text}'. Strings are written in single quotes ('${token.text}'); comparing two properties is not supported.`,
      );
    }
    throw syntaxError(OPTION, token.position, `expected a value after '${after}', found ${describe(token)}.`);
  }

  private parseInList(property: PropertyPath, inPosition: number): FilterNode {
    this.expectPunctuation('(', (found) => `expected '(' after 'in', as in: in ('a', 'b'), found ${found}.`);
    if (this.isPunctuation(this.peek(), ')')) {
      throw syntaxError(OPTION, this.peek().position, "the list after 'in' is empty.");
    }
    const values: Literal[] = [];
    for (;;) {
      values.push(this.parseValue(values.length === 0 ? 'in (' : ','));
      if (values.length > this.limits.maxInValues) {
        throw syntaxError(
          OPTION,
          inPosition,
          `the list after 'in' has more than ${this.limits.maxInValues} values.`,
        );
      }
      const separator = this.advance();
      if (this.isPunctuation(separator, ')')) break;
      if (!this.isPunctuation(separator, ',')) {
        throw syntaxError(
          OPTION,
          separator.position,
          `expected ',' or ')' in the list after 'in', found ${describe(separator)}.`,
        );
      }
    }
    return { kind: 'in', property, values, position: property.position };
  }

  private parseLambda(collection: PropertyPath): AnyNode {
    this.advance(); // '/'
    const nameToken = this.advance();
    const name = nameToken.kind === 'identifier' ? lower(nameToken.text) : '';
    if (name !== 'any') {
      throw syntaxError(
        OPTION,
        nameToken.position,
        `${name}() is not supported; only any() lambdas are supported.`,
      );
    }
    this.advance(); // '(' (parseRawPath only stops here when it follows)
    const variableToken = this.advance();
    if (
      variableToken.kind !== 'identifier' ||
      keywordLiteral(variableToken) ||
      RESERVED_WORDS.has(lower(variableToken.text))
    ) {
      throw syntaxError(
        OPTION,
        variableToken.position,
        `any() needs a range variable and a condition, as in ${collection.text}/any(x: x/id eq '...'); found ${describe(variableToken)}.`,
      );
    }
    this.expectPunctuation(
      ':',
      (found) => `expected ':' after the range variable '${variableToken.text}', found ${found}.`,
    );
    this.enter(nameToken.position);
    this.variables.push(variableToken.text);
    const predicate = this.parseOr();
    this.variables.pop();
    this.expectPunctuation(')', (found) => `expected ')' to close any(), found ${found}.`);
    this.leave();
    return {
      kind: 'any',
      collection,
      variable: variableToken.text,
      predicate,
      position: collection.position,
    };
  }
}

/**
 * Parses a `$filter` value into a syntax tree. Throws a RekeyError 7700007 whose message gives the
 * 0-based character position and what was expected there; the details hold `{ option, position }`.
 * The tree is not yet checked against a resource: pass it to `checkFilter` (or use
 * `parseQueryOptions`, which does both).
 */
export function parseFilter(source: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS): FilterNode {
  if (source.length > limits.maxLength) {
    throw invalidQuery(
      OPTION,
      `The $filter is ${source.length} characters long; the limit is ${limits.maxLength}.`,
      { length: source.length, maxLength: limits.maxLength },
    );
  }
  if (source.trim() === '') throw invalidQuery(OPTION, 'The $filter is empty.');
  return new FilterParser(tokenReader(source), limits).parse();
}
