import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRekeyError } from '../errors/rekey-error.js';
import { parseFilter } from './filter-parser.js';
import { queryErrorOf, show } from './fixtures.test-support.js';
import { formatStringLiteral } from './literals.js';

describe('parseFilter: valid filters', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["displayName eq 'Alice'", '(eq displayName "Alice")'],
    ["displayName ne 'Alice'", '(ne displayName "Alice")'],
    ['accountEnabled eq true', '(eq accountEnabled true)'],
    ['accountEnabled EQ FALSE', '(eq accountEnabled false)'],
    ['onPremisesSyncEnabled eq null', '(eq onPremisesSyncEnabled null)'],
    ['onPremisesSyncEnabled ne Null', '(ne onPremisesSyncEnabled null)'],
    ['status/errorCode ne 0', '(ne status/errorCode 0)'],
    ['initiatedBy/user/id eq 42', '(eq initiatedBy/user/id 42)'],
    ['score gt -3.25', '(gt score -3.25)'],
    ['score le 1e3', '(le score 1000)'],
    ['score lt 2.5E-1', '(lt score 0.25)'],
    ['age ge 0', '(ge age 0)'],
    ['id eq 8A3BFC12-0A1B-4C2D-9E3F-000000000E03', '(eq id guid:8a3bfc12-0a1b-4c2d-9e3f-000000000e03)'],
    ['id eq abcdef12-0a1b-4c2d-9e3f-000000000e03', '(eq id guid:abcdef12-0a1b-4c2d-9e3f-000000000e03)'],
    ["id eq '8a3bfc12-0a1b-4c2d-9e3f-000000000e03'", '(eq id "8a3bfc12-0a1b-4c2d-9e3f-000000000e03")'],
    ['createdDateTime ge 2024-03-13T00:00:00Z', '(ge createdDateTime datetime:2024-03-13T00:00:00.000Z)'],
    [
      'createdDateTime lt 2024-03-13T02:30:00+02:00',
      '(lt createdDateTime datetime:2024-03-13T00:30:00.000Z)',
    ],
    [
      'createdDateTime lt 2024-03-12T23:00:00-01:30',
      '(lt createdDateTime datetime:2024-03-13T00:30:00.000Z)',
    ],
    ['createdDateTime lt 2024-03-13t00:00z', '(lt createdDateTime datetime:2024-03-13T00:00:00.000Z)'],
    ['createdDateTime gt 2024-03-13T00:00:00.5Z', '(gt createdDateTime datetime:2024-03-13T00:00:00.500Z)'],
    [
      'createdDateTime gt 2024-03-13T00:00:00.1230000Z',
      '(gt createdDateTime datetime:2024-03-13T00:00:00.123Z)',
    ],
    [
      'createdDateTime gt 2024-03-13T00:00:00.1234567Z',
      '(gt createdDateTime datetime:2024-03-13T00:00:00.123Z+)',
    ],
    ['createdDateTime eq 2024-02-29T00:00:00Z', '(eq createdDateTime datetime:2024-02-29T00:00:00.000Z)'],
    ["startswith(displayName,'Al')", '(startswith displayName "Al")'],
    ["startsWith(displayName, 'Al')", '(startswith displayName "Al")'],
    ["ENDSWITH(mail,'@contoso.com')", '(endswith mail "@contoso.com")'],
    ["userType in ('Member', 'Guest')", '(in userType "Member" "Guest")'],
    ["userType IN ('Member')", '(in userType "Member")'],
    ["displayName eq ''", '(eq displayName "")'],
    ["displayName eq 'it''s'", `(eq displayName "it's")`],
    ["displayName eq ''''", `(eq displayName "'")`],
    ["  displayName \t eq   'a b'  ", '(eq displayName "a b")'],
    ["notes eq 'a'", '(eq notes "a")'],
    ["order eq 'a'", '(eq order "a")'],
    ["targetResources/any(t: t/id eq 'abc')", '(any targetResources t (eq id "abc"))'],
    [
      'assignedLicenses/any(x:x/skuId eq 8a3bfc12-0a1b-4c2d-9e3f-000000000e03)',
      '(any assignedLicenses x (eq skuId guid:8a3bfc12-0a1b-4c2d-9e3f-000000000e03))',
    ],
    [
      "tags/any(t: t eq 'a' or startswith(t, 'b'))",
      '(any tags t (or (eq $this "a") (startswith $this "b")))',
    ],
    ['a/b/any(x: x/c/any(y: y eq 1))', '(any a/b x (any c y (eq $this 1)))'],
    [
      "targetResources/ANY(t: t/modifiedProperties/newValue eq 'x')",
      '(any targetResources t (eq modifiedProperties/newValue "x"))',
    ],
  ];

  it.each(cases)('%s', (filter, expected) => {
    expect(show(parseFilter(filter))).toBe(expected);
  });

  it('records 0-based positions for properties and values', () => {
    const node = parseFilter("  displayName eq 'x'");
    expect(node).toMatchObject({
      kind: 'compare',
      position: 2,
      property: { position: 2 },
      value: { position: 17 },
    });
  });
});

describe('parseFilter: precedence', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['a eq 1 or b eq 2 and c eq 3', '(or (eq a 1) (and (eq b 2) (eq c 3)))'],
    ['a eq 1 and b eq 2 or c eq 3', '(or (and (eq a 1) (eq b 2)) (eq c 3))'],
    ['(a eq 1 or b eq 2) and c eq 3', '(and (or (eq a 1) (eq b 2)) (eq c 3))'],
    ['not a eq 1 and b eq 2', '(and (not (eq a 1)) (eq b 2))'],
    ['not a eq 1 or b eq 2', '(or (not (eq a 1)) (eq b 2))'],
    ['not (a eq 1 or b eq 2)', '(not (or (eq a 1) (eq b 2)))'],
    ['not(a eq 1)', '(not (eq a 1))'],
    ['not not a eq 1', '(not (not (eq a 1)))'],
    ['a eq 1 or b eq 2 or c eq 3', '(or (eq a 1) (eq b 2) (eq c 3))'],
    ['a eq 1 and b eq 2 and c eq 3 or d eq 4', '(or (and (eq a 1) (eq b 2) (eq c 3)) (eq d 4))'],
    ['NOT a eq 1 AND b eq 2 OR c eq 3', '(or (and (not (eq a 1)) (eq b 2)) (eq c 3))'],
    ['((a eq 1))', '(eq a 1)'],
    ['x/any(t: t eq 1 or t eq 2) and y eq 3', '(and (any x t (or (eq $this 1) (eq $this 2))) (eq y 3))'],
  ];

  it.each(cases)('%s', (filter, expected) => {
    expect(show(parseFilter(filter))).toBe(expected);
  });
});

describe('parseFilter: injection attempts stay literals', () => {
  it('keeps a doubled quote and what follows inside the string', () => {
    expect(show(parseFilter("displayName eq 'x'' or 1 eq 1 --'"))).toBe(`(eq displayName "x' or 1 eq 1 --")`);
  });

  it('treats SQL in a string as text', () => {
    expect(show(parseFilter("displayName eq '; drop table users; --'"))).toBe(
      '(eq displayName "; drop table users; --")',
    );
  });

  it('rejects a quote that closes the string early', () => {
    const error = queryErrorOf(() => parseFilter("displayName eq 'x' or 1 eq 1 --'"));
    expect(error.message).toBe(
      "Invalid $filter at position 22: expected a property name, a function or '(', found the number 1; the property must be on the left of the operator.",
    );
  });

  it('rejects SQL comment and statement characters', () => {
    expect(queryErrorOf(() => parseFilter("displayName eq 'a'; drop table users")).message).toBe(
      "Invalid $filter at position 18: unexpected character ';'.",
    );
  });
});

describe('parseFilter: errors', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    [
      'displayName eq',
      "Invalid $filter at position 14: expected a value after 'eq', found the end of the filter.",
    ],
    [
      "displayName eq 'abc",
      "Invalid $filter at position 15: the string that starts here has no closing quote (a quote inside a string is written as two quotes: '').",
    ],
    [
      "displayName eq 'it's'",
      "Invalid $filter at position 19: expected 'and', 'or' or the end of the filter, found 's'. A quote inside a string is written as two quotes: ''.",
    ],
    [
      "(displayName eq 'it's')",
      "Invalid $filter at position 20: expected ')' to close the '(' at position 0, found 's'. A quote inside a string is written as two quotes: ''.",
    ],
    [
      "displayName eq 'a' 'b'",
      "Invalid $filter at position 19: expected 'and', 'or' or the end of the filter, found the string 'b'.",
    ],
    [
      'displayName eq "abc"',
      `Invalid $filter at position 15: unexpected character '"'. Strings are written in single quotes.`,
    ],
    [
      "displayName = 'a'",
      "Invalid $filter at position 12: unexpected character '='. Use eq, ne, gt, ge, lt or le to compare.",
    ],
    [
      'displayName eq Alice',
      "Invalid $filter at position 15: expected a value after 'eq', found 'Alice'. Strings are written in single quotes ('Alice'); comparing two properties is not supported.",
    ],
    [
      "'Alice' eq displayName",
      "Invalid $filter at position 0: expected a property name, a function or '(', found the string 'Alice'; the property must be on the left of the operator.",
    ],
    [
      'true eq accountEnabled',
      "Invalid $filter at position 0: expected a property name, a function or '(', found the value true; the property must be on the left of the operator.",
    ],
    [
      "(displayName eq 'a'",
      "Invalid $filter at position 19: expected ')' to close the '(' at position 0, found the end of the filter.",
    ],
    ["displayName eq 'a')", "Invalid $filter at position 18: ')' has no matching '('."],
    [
      "displayName eq 'a' displayName eq 'b'",
      "Invalid $filter at position 19: expected 'and', 'or' or the end of the filter, found 'displayName'.",
    ],
    [
      "displayName eq 'a' and",
      'Invalid $filter at position 22: expected a condition, found the end of the filter.',
    ],
    ["displayName eq 'a' or )", "Invalid $filter at position 22: expected a condition, found ')'."],
    [
      "and displayName eq 'a'",
      "Invalid $filter at position 0: expected a condition, found the keyword 'and'.",
    ],
    ['eq eq 1', "Invalid $filter at position 0: expected a condition, found the keyword 'eq'."],
    [
      "contains(displayName,'a')",
      "Invalid $filter at position 0: the function 'contains' is not supported; supported functions: startswith, endswith.",
    ],
    [
      'tolower(displayName) eq 1',
      "Invalid $filter at position 0: the function 'tolower' is not supported; supported functions: startswith, endswith.",
    ],
    [
      "displayName has 'a'",
      "Invalid $filter at position 12: the operator 'has' is not supported; supported operators: eq, ne, gt, ge, lt, le, in.",
    ],
    [
      "displayName like 'a%'",
      "Invalid $filter at position 12: expected an operator (eq, ne, gt, ge, lt, le, in) after 'displayName', found 'like'.",
    ],
    [
      'accountEnabled',
      "Invalid $filter at position 14: expected an operator (eq, ne, gt, ge, lt, le, in) after 'accountEnabled', found the end of the filter. Boolean properties are compared explicitly, e.g. 'accountEnabled eq true'.",
    ],
    [
      "accountEnabled and displayName eq 'a'",
      "Invalid $filter at position 15: expected an operator (eq, ne, gt, ge, lt, le, in) after 'accountEnabled', found 'and'. Boolean properties are compared explicitly, e.g. 'accountEnabled eq true'.",
    ],
    [
      'createdDateTime ge 2024-03-13',
      "Invalid $filter at position 19: '2024-03-13' is not a valid date-time: expected a date-time such as 2024-03-13T00:00:00Z (yyyy-mm-ddThh:mm[:ss[.fffffff]] and Z or an offset). A '+' in an offset must be URL-encoded as %2B.",
    ],
    [
      'createdDateTime ge 2024-03-13T00:00:00 02:00',
      "Invalid $filter at position 19: '2024-03-13T00:00:00' is not a valid date-time: expected a date-time such as 2024-03-13T00:00:00Z (yyyy-mm-ddThh:mm[:ss[.fffffff]] and Z or an offset). A '+' in an offset must be URL-encoded as %2B.",
    ],
    [
      'createdDateTime ge 2024-02-30T00:00:00Z',
      "Invalid $filter at position 19: '2024-02-30T00:00:00Z' is not a valid date-time: day 30 does not exist in 2024-02.",
    ],
    [
      'createdDateTime ge 2023-02-29T00:00:00Z',
      "Invalid $filter at position 19: '2023-02-29T00:00:00Z' is not a valid date-time: day 29 does not exist in 2023-02.",
    ],
    [
      'createdDateTime ge 2024-13-01T00:00:00Z',
      "Invalid $filter at position 19: '2024-13-01T00:00:00Z' is not a valid date-time: month 13 is out of range.",
    ],
    [
      'createdDateTime ge 2024-03-13T24:00:00Z',
      "Invalid $filter at position 19: '2024-03-13T24:00:00Z' is not a valid date-time: time 24:00:00 is out of range.",
    ],
    [
      'createdDateTime ge 2024-03-13T00:00:00.12345678Z',
      "Invalid $filter at position 19: '2024-03-13T00:00:00.12345678Z' is not a valid date-time: expected a date-time such as 2024-03-13T00:00:00Z (yyyy-mm-ddThh:mm[:ss[.fffffff]] and Z or an offset).",
    ],
    [
      'createdDateTime ge 0000-01-01T00:00:00+01:00',
      "Invalid $filter at position 19: '0000-01-01T00:00:00+01:00' is not a valid date-time: the date-time is out of range.",
    ],
    [
      'startswith(displayName, 5)',
      'Invalid $filter at position 24: startswith() needs a string in single quotes as its second argument, found the number 5.',
    ],
    [
      "startswith(displayName 'a')",
      "Invalid $filter at position 23: expected ',' after the property in startswith(property, 'text'), found the string 'a'.",
    ],
    [
      "startswith('a', displayName)",
      "Invalid $filter at position 11: expected a property name as the first argument of startswith(), found the string 'a'.",
    ],
    [
      "startswith(tags/any(t: t eq 'a'), 'a')",
      'Invalid $filter at position 15: a lambda cannot be used as the first argument of startswith().',
    ],
    [
      "targetResources/any(t: id eq 'x')",
      "Invalid $filter at position 23: inside any(), properties are reached through the range variable 't': write 't/id'.",
    ],
    [
      "targetResources/all(t: t/id eq 'x')",
      'Invalid $filter at position 16: all() is not supported; only any() lambdas are supported.',
    ],
    [
      'targetResources/any()',
      "Invalid $filter at position 20: any() needs a range variable and a condition, as in targetResources/any(x: x/id eq '...'); found ')'.",
    ],
    [
      "targetResources/any(t t/id eq 'x')",
      "Invalid $filter at position 22: expected ':' after the range variable 't', found 't'.",
    ],
    [
      "targetResources/any(t: t/id eq 'x'",
      "Invalid $filter at position 34: expected ')' to close any(), found the end of the filter.",
    ],
    ['userType in ()', "Invalid $filter at position 13: the list after 'in' is empty."],
    [
      "userType in 'a'",
      "Invalid $filter at position 12: expected '(' after 'in', as in: in ('a', 'b'), found the string 'a'.",
    ],
    [
      "userType in ('a' 'b')",
      "Invalid $filter at position 17: expected ',' or ')' in the list after 'in', found the string 'b'.",
    ],
    [
      'age eq 12abc',
      "Invalid $filter at position 7: '12abc' is not a valid number; strings are written in single quotes.",
    ],
    [
      'age eq 1.2.3',
      "Invalid $filter at position 7: '1.2.3' is not a valid number; strings are written in single quotes.",
    ],
    [
      'age eq 99999999999999999999',
      'Invalid $filter at position 7: the number 99999999999999999999 is out of range.',
    ],
    ['score eq 1e999', 'Invalid $filter at position 9: the number 1e999 is out of range.'],
    [
      'displayName eq $it',
      "Invalid $filter at position 15: unexpected character '$'. System variables such as $count and $it are not supported in $filter.",
    ],
    ["displayName eq 'a' && x", "Invalid $filter at position 19: unexpected character '&'. Use and."],
    [
      'displayName/ eq 1',
      "Invalid $filter at position 12: expected a property name right after '/', found a space.",
    ],
    [
      'status/(a eq 1)',
      "Invalid $filter at position 7: expected a property name right after '/', found '('.",
    ],
    [
      'status /errorCode eq 1',
      "Invalid $filter at position 7: expected an operator (eq, ne, gt, ge, lt, le, in) after 'status', found '/'.",
    ],
    ['a/b/c/d/e/f/g/h/i eq 1', 'Invalid $filter at position 0: the property path has more than 8 segments.'],
    ['a eq', "Invalid $filter at position 4: expected a value after 'eq', found the end of the filter."],
    ['a eq (1)', "Invalid $filter at position 5: expected a value after 'eq', found '('."],
  ];

  it.each(cases)('%s', (filter, message) => {
    expect(queryErrorOf(() => parseFilter(filter)).message).toBe(message);
  });

  it('puts the option and the position in the details', () => {
    const error = queryErrorOf(() => parseFilter('displayName eq'));
    expect(error.details).toEqual({ option: '$filter', position: 14 });
    expect(error.entry.name).toBe('InvalidQueryOption');
    expect(error.httpStatus).toBe(400);
  });

  it('rejects an empty filter', () => {
    expect(queryErrorOf(() => parseFilter('')).message).toBe('The $filter is empty.');
    expect(queryErrorOf(() => parseFilter('   ')).message).toBe('The $filter is empty.');
  });

  it('caps the length', () => {
    const long = `displayName eq '${'a'.repeat(2040)}'`;
    expect(long.length).toBe(2057);
    const error = queryErrorOf(() => parseFilter(long));
    expect(error.message).toBe('The $filter is 2057 characters long; the limit is 2048.');
    expect(error.details).toEqual({ option: '$filter', length: 2057, maxLength: 2048 });
    expect(() => parseFilter(`displayName eq '${'a'.repeat(2031)}'`)).not.toThrow();
  });

  it('caps the nesting depth of parentheses', () => {
    const nested = (depth: number): string => `${'('.repeat(depth)}a eq 1${')'.repeat(depth)}`;
    expect(show(parseFilter(nested(16)))).toBe('(eq a 1)');
    const error = queryErrorOf(() => parseFilter(nested(17)));
    expect(error.message).toBe(
      'Invalid $filter at position 16: the filter nests deeper than 16 levels of parentheses, not and any().',
    );
    expect(error.details).toEqual({ option: '$filter', position: 16, maxDepth: 16 });
  });

  it('counts not and any() towards the depth', () => {
    expect(queryErrorOf(() => parseFilter(`${'not '.repeat(17)}a eq 1`)).details).toMatchObject({
      position: 64,
    });
    const lambdas = `${'x/any(a: a/'.repeat(16)}x/any(b: b eq 1${')'.repeat(17)}`;
    expect(queryErrorOf(() => parseFilter(lambdas)).message).toContain('nests deeper than 16 levels');
  });

  it('does not overflow the stack on a long flat chain', () => {
    const chain = Array.from({ length: 200 }, () => 'a eq 1').join(' or ');
    expect(chain.length).toBeLessThan(2048);
    const node = parseFilter(chain);
    expect(node.kind === 'or' && node.operands.length).toBe(200);
  });

  it('accepts custom limits', () => {
    const limits = { maxLength: 16, maxDepth: 1, maxInValues: 2, maxPathSegments: 2 };
    expect(queryErrorOf(() => parseFilter("displayName eq 'a'", limits)).message).toContain(
      'the limit is 16',
    );
    expect(queryErrorOf(() => parseFilter('((a eq 1))', limits)).message).toContain('deeper than 1 levels');
    expect(queryErrorOf(() => parseFilter('a in (1,2,3)', limits)).message).toBe(
      "Invalid $filter at position 2: the list after 'in' has more than 2 values.",
    );
    expect(queryErrorOf(() => parseFilter('a/b/c eq 1', limits)).message).toContain('more than 2 segments');
  });
});

describe('parseFilter: properties', () => {
  it('reads back any string written with formatStringLiteral', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (value) => {
        const node = parseFilter(`displayName eq ${formatStringLiteral(value)}`);
        expect(node).toMatchObject({ kind: 'compare', value: { type: 'string', value } });
      }),
      { numRuns: 500 },
    );
  });

  it('reads back strings full of quotes, including inside in-lists and functions', () => {
    const quoty = fc.string({
      unit: fc.constantFrom("'", "''", ' ', 'a', ')', '(', ',', 'or', 'eq'),
      maxLength: 30,
    });
    fc.assert(
      fc.property(quoty, quoty, (first, second) => {
        const node = parseFilter(
          `startswith(x, ${formatStringLiteral(first)}) or y in (${formatStringLiteral(first)}, ${formatStringLiteral(second)})`,
        );
        expect(show(node)).toBe(
          `(or (startswith x ${JSON.stringify(first)}) (in y ${JSON.stringify(first)} ${JSON.stringify(second)}))`,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('never fails with anything but a 7700007 on arbitrary input', () => {
    const pieces = fc.constantFrom(
      'a',
      'b/c',
      ' eq ',
      ' ne ',
      ' gt ',
      ' and ',
      ' or ',
      'not ',
      '(',
      ')',
      "'x'",
      "'",
      "''",
      '1',
      '-2.5',
      'null',
      'true',
      ',',
      ':',
      '/any(',
      't: t',
      'startswith(',
      ' in (',
      '2024-03-13T00:00:00Z',
      '8a3bfc12-0a1b-4c2d-9e3f-000000000e03',
      '$',
      '"',
    );
    const soup = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.array(pieces, { maxLength: 30 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(soup, (input) => {
        try {
          parseFilter(input);
        } catch (error) {
          if (!isRekeyError(error) || error.code !== 7700007) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
