import { describe, expect, it } from 'vitest';
import { parseFilter } from './filter-parser.js';
import { type CheckedFilter, checkFilter } from './filter-validate.js';
import { peopleResource, queryErrorOf, usersResource } from './fixtures.test-support.js';
import type { ResourceDescription } from './resource.js';

function checkUsers(filter: string): CheckedFilter {
  return checkFilter(parseFilter(filter), usersResource);
}

function checkPeople(filter: string): CheckedFilter {
  return checkFilter(parseFilter(filter), peopleResource);
}

const SKU = '8a3bfc12-0a1b-4c2d-9e3f-000000000e03';
const USER_FILTERABLE = [
  'id',
  'userPrincipalName',
  'displayName',
  'accountEnabled',
  'mail',
  'givenName',
  'surname',
  'userType',
  'onPremisesSyncEnabled',
  'createdDateTime',
];

describe('checkFilter: accepted filters', () => {
  it('resolves the property and keeps the value', () => {
    expect(checkUsers("displayName eq 'Alice'")).toEqual({
      kind: 'compare',
      field: { path: 'displayName', type: 'string', nullable: false },
      operator: 'eq',
      value: 'Alice',
    });
  });

  it('matches property names ignoring case and returns the resource spelling', () => {
    expect(checkUsers("DISPLAYNAME eq 'a'")).toMatchObject({ field: { path: 'displayName' } });
  });

  it('accepts GUIDs quoted or not, lower-cased', () => {
    const expected = { kind: 'compare', field: { path: 'id', type: 'guid' }, value: SKU };
    expect(checkUsers(`id eq '${SKU.toUpperCase()}'`)).toMatchObject(expected);
    expect(checkUsers(`id eq ${SKU.toUpperCase()}`)).toMatchObject(expected);
  });

  it('keeps booleans, numbers and normalised date-times', () => {
    expect(checkUsers('accountEnabled ne false')).toMatchObject({ operator: 'ne', value: false });
    expect(checkPeople('status/errorCode eq 50126')).toMatchObject({
      field: { path: 'status/errorCode' },
      value: 50126,
    });
    expect(checkUsers('createdDateTime ge 2024-03-13T01:00:00+01:00')).toMatchObject({
      operator: 'ge',
      value: '2024-03-13T00:00:00.000Z',
    });
  });

  it('accepts null on nullable properties with eq and ne', () => {
    expect(checkUsers('onPremisesSyncEnabled eq null')).toEqual({
      kind: 'compare',
      field: { path: 'onPremisesSyncEnabled', type: 'boolean', nullable: true },
      operator: 'eq',
      value: null,
    });
    expect(checkUsers('mail eq null')).toMatchObject({ operator: 'eq', value: null });
  });

  it('checks in-lists value by value', () => {
    expect(checkUsers(`id in ('${SKU}', ${SKU.toUpperCase()})`)).toEqual({
      kind: 'in',
      field: { path: 'id', type: 'guid', nullable: false },
      values: [SKU, SKU],
    });
  });

  it('checks string functions', () => {
    expect(checkUsers("startsWith(userPrincipalName,'adm')")).toEqual({
      kind: 'function',
      field: { path: 'userPrincipalName', type: 'string', nullable: false },
      name: 'startswith',
      value: 'adm',
    });
  });

  it('checks lambdas against the element schema', () => {
    expect(checkUsers(`assignedLicenses/any(x:x/skuId eq ${SKU})`)).toEqual({
      kind: 'any',
      collection: 'assignedLicenses',
      variable: 'x',
      predicate: {
        kind: 'compare',
        field: { path: 'skuId', type: 'guid', nullable: false },
        operator: 'eq',
        value: SKU,
      },
    });
    expect(checkPeople("Tags/any(t: startswith(t, 'ad'))")).toMatchObject({
      collection: 'tags',
      predicate: { kind: 'function', field: { path: '$this' }, value: 'ad' },
    });
  });

  it('keeps the boolean structure', () => {
    expect(checkUsers("not (displayName eq 'a' or mail eq null) and accountEnabled eq true")).toMatchObject({
      kind: 'and',
      operands: [
        { kind: 'not', operand: { kind: 'or', operands: [{ value: 'a' }, { value: null }] } },
        { value: true },
      ],
    });
  });
});

describe('checkFilter: times finer than stored precision', () => {
  const fine = '2024-03-13T00:00:00.0001Z';
  const floor = '2024-03-13T00:00:00.000Z';

  it.each([
    ['eq', { kind: 'constant', value: false }],
    ['ne', { kind: 'constant', value: true }],
    ['gt', { kind: 'compare', operator: 'gt', value: floor }],
    ['ge', { kind: 'compare', operator: 'gt', value: floor }],
    ['lt', { kind: 'compare', operator: 'le', value: floor }],
    ['le', { kind: 'compare', operator: 'le', value: floor }],
  ])('%s becomes an exact comparison against the millisecond below', (operator, expected) => {
    expect(checkPeople(`createdDateTime ${operator} ${fine}`)).toMatchObject(expected);
  });

  it('drops such times from in-lists', () => {
    expect(checkPeople(`createdDateTime in (${fine}, 2024-03-13T00:00:00Z)`)).toMatchObject({
      kind: 'in',
      values: [floor],
    });
    expect(checkPeople(`createdDateTime in (${fine})`)).toEqual({ kind: 'constant', value: false });
  });
});

describe('checkFilter: rejected filters', () => {
  const cases: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
    [
      "jobTitle eq 'x'",
      `Unsupported $filter at position 0: the property 'jobTitle' cannot be used in $filter on users. Filterable properties: ${USER_FILTERABLE.join(', ')}.`,
      { option: '$filter', position: 0, property: 'jobTitle', supportedProperties: USER_FILTERABLE },
    ],
    [
      "accountEnabled eq true and foo eq 'x'",
      `Unsupported $filter at position 27: the property 'foo' does not exist on users. Filterable properties: ${USER_FILTERABLE.join(', ')}.`,
      { option: '$filter', position: 27, property: 'foo', supportedProperties: USER_FILTERABLE },
    ],
    [
      "displayName gt 'a'",
      "Unsupported $filter at position 0: the operator 'gt' is not supported on 'displayName'. Supported operators: eq, ne, startswith, in.",
      {
        option: '$filter',
        position: 0,
        property: 'displayName',
        operator: 'gt',
        supportedOperators: ['eq', 'ne', 'startswith', 'in'],
      },
    ],
    [
      "endswith(displayName,'x')",
      "Unsupported $filter at position 9: the operator 'endswith' is not supported on 'displayName'. Supported operators: eq, ne, startswith, in.",
      { position: 9, operator: 'endswith' },
    ],
    [
      "userType in ('Member')",
      "Unsupported $filter at position 0: the operator 'in' is not supported on 'userType'. Supported operators: eq.",
      { property: 'userType', operator: 'in', supportedOperators: ['eq'] },
    ],
    [
      "id eq 'abc'",
      "Unsupported $filter at position 6: 'id' is compared with a GUID, such as 8a3bfc12-0000-4000-8000-000000000000, found the string 'abc'.",
      { option: '$filter', position: 6, property: 'id', expectedType: 'guid' },
    ],
    [
      "accountEnabled eq 'true'",
      "Unsupported $filter at position 18: 'accountEnabled' is compared with true or false, found the string 'true'.",
      { property: 'accountEnabled', expectedType: 'boolean' },
    ],
    [
      "createdDateTime ge '2024-03-13T00:00:00Z'",
      "Unsupported $filter at position 19: 'createdDateTime' is compared with a date-time without quotes, such as 2024-03-13T00:00:00Z, found the string '2024-03-13T00:00:00Z'.",
      { property: 'createdDateTime', expectedType: 'datetime' },
    ],
    [
      'displayName eq 5',
      "Unsupported $filter at position 15: 'displayName' is compared with a string in single quotes, found the number 5.",
      { property: 'displayName', expectedType: 'string' },
    ],
    [
      `displayName eq ${SKU}`,
      `Unsupported $filter at position 15: 'displayName' is compared with a string in single quotes, found the GUID ${SKU}.`,
      { property: 'displayName', expectedType: 'string' },
    ],
    [
      'displayName eq null',
      "Unsupported $filter at position 15: 'displayName' is never null, so it cannot be compared with null.",
      { property: 'displayName' },
    ],
    [
      "userType in ('a', null)",
      "Unsupported $filter at position 0: the operator 'in' is not supported on 'userType'. Supported operators: eq.",
      {},
    ],
    [
      `assignedLicenses/any(x: x/foo eq 1)`,
      "Unsupported $filter at position 24: the property 'x/foo' does not exist on assignedLicenses elements. Filterable properties: skuId.",
      { property: 'x/foo', supportedProperties: ['skuId'] },
    ],
    [
      "businessPhones/any(p: p eq '1')",
      "Unsupported $filter at position 0: any() is not supported on 'businessPhones' of users. Collections that support any(): assignedLicenses.",
      { property: 'businessPhones', supportedCollections: ['assignedLicenses'] },
    ],
    [
      `assignedLicenses eq ${SKU}`,
      "Unsupported $filter at position 0: 'assignedLicenses' is a collection; test its elements with assignedLicenses/any(x: ...).",
      { property: 'assignedLicenses', supportedProperties: USER_FILTERABLE },
    ],
    [
      `assignedLicenses/any(x: x eq ${SKU})`,
      'Unsupported $filter at position 24: the elements of assignedLicenses elements cannot be compared directly. Filterable properties: skuId.',
      { property: 'x' },
    ],
  ];

  it.each(cases)('%s', (filter, message, details) => {
    const error = queryErrorOf(() => checkUsers(filter));
    expect(error.message).toBe(message);
    expect(error.details).toMatchObject(details);
  });

  it('rejects null with ordering operators and in-lists', () => {
    expect(queryErrorOf(() => checkPeople('age gt null')).message).toBe(
      'Unsupported $filter at position 7: null can only be compared with eq or ne.',
    );
    expect(queryErrorOf(() => checkPeople('age in (1, null)')).message).toBe(
      "Unsupported $filter at position 11: null cannot be listed after 'in'; use 'age eq null'.",
    );
  });

  it('names the range variable for operators inside a lambda', () => {
    expect(queryErrorOf(() => checkPeople("tags/any(t: t ne 'a')")).message).toBe(
      "Unsupported $filter at position 12: the operator 'ne' is not supported on 't'. Supported operators: eq, startswith.",
    );
  });

  it('refuses startswith on a non-text property even if a resource allows it', () => {
    const misconfigured: ResourceDescription = {
      ...usersResource,
      filter: { properties: { createdDateTime: { type: 'datetime', operators: ['startswith'] } } },
    };
    expect(
      queryErrorOf(() => checkFilter(parseFilter("startswith(createdDateTime,'2024')"), misconfigured))
        .message,
    ).toBe(
      "Unsupported $filter at position 11: the operator 'startswith' is not supported on 'createdDateTime'. Supported operators: startswith.",
    );
  });
});
