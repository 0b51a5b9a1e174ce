import { describe, expect, it } from 'vitest';
import { queryErrorOf, usersResource } from './fixtures.test-support.js';
import { encodeSkipToken } from './paging.js';
import { parseQueryOptions } from './query-options.js';
import type { ResourceDescription } from './resource.js';

const DEFAULT_USER_PROPERTIES = [
  'id',
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
];

function parse(
  query: Record<string, unknown> | URLSearchParams,
  resource: ResourceDescription = usersResource,
) {
  return parseQueryOptions(query, resource);
}

describe('parseQueryOptions: defaults', () => {
  it('applies the resource defaults when no option is given', () => {
    expect(parse({})).toEqual({
      select: { properties: DEFAULT_USER_PROPERTIES, explicit: false },
      filter: undefined,
      orderBy: [],
      sort: [{ property: 'id', direction: 'asc' }],
      top: 100,
      count: false,
      cursor: undefined,
    });
  });

  it('ignores parameters without a $, which belong to the route', () => {
    expect(parse({ tenant: 'contoso', api_version: '1' }).top).toBe(100);
  });

  it('accepts URLSearchParams and option names in any case', () => {
    const options = parse(new URLSearchParams("$FILTER=displayName eq 'a'&$Top=5"));
    expect(options.top).toBe(5);
    expect(options.filter).toMatchObject({ kind: 'compare', value: 'a' });
  });
});

describe('parseQueryOptions: $top', () => {
  it.each([
    ['1', 1],
    ['999', 999],
    [' 20 ', 20],
  ])('accepts %j', (raw, top) => {
    expect(parse({ $top: raw }).top).toBe(top);
  });

  it.each(['0', '1000', '-1', '1.5', 'abc', '', '1e2', '99999999999'])('rejects %j', (raw) => {
    const error = queryErrorOf(() => parse({ $top: raw }));
    expect(error.message).toBe(
      `The $top value '${raw}' is not valid on users: use a whole number from 1 to 999.`,
    );
    expect(error.details).toEqual({ option: '$top', maxTop: 999 });
  });
});

describe('parseQueryOptions: $count', () => {
  it('reads true and false in any case', () => {
    expect(parse({ $count: 'true' }).count).toBe(true);
    expect(parse({ $count: 'TRUE' }).count).toBe(true);
    expect(parse({ $count: 'false' }).count).toBe(false);
  });

  it('rejects anything else, and $count where the resource does not count', () => {
    expect(queryErrorOf(() => parse({ $count: 'yes' })).message).toBe(
      "The $count value 'yes' is not valid: use true or false.",
    );
    const uncounted = { ...usersResource, count: false };
    expect(queryErrorOf(() => parse({ $count: 'true' }, uncounted)).message).toBe(
      '$count is not supported on users.',
    );
    expect(parse({ $count: 'false' }, uncounted).count).toBe(false);
  });
});

describe('parseQueryOptions: $select', () => {
  it('keeps the resource order and always includes id', () => {
    expect(parse({ $select: 'userPrincipalName, ACCOUNTENABLED,displayName' }).select).toEqual({
      properties: ['id', 'displayName', 'userPrincipalName', 'accountEnabled'],
      explicit: true,
    });
  });

  it('expands * to every selectable property', () => {
    const { properties } = parse({ $select: '*' }).select;
    expect(properties).toContain('onPremisesSyncEnabled');
    expect(properties).not.toContain('passwordProfile');
  });

  it.each([
    ['foo', "The property 'foo' does not exist on users. Selectable properties: "],
    [
      'passwordProfile',
      "The property 'passwordProfile' of users cannot be selected. Selectable properties: ",
    ],
  ])('rejects %s naming what is selectable', (select, start) => {
    const error = queryErrorOf(() => parse({ $select: `displayName,${select}` }));
    expect(error.message.startsWith(start)).toBe(true);
    expect(error.details).toMatchObject({ option: '$select', position: 12, property: select });
    expect(error.details?.['supportedProperties']).toContain('accountEnabled');
  });

  it.each([
    ['', 'The $select is empty; list properties separated by commas.'],
    ['displayName,,mail', 'Invalid $select at position 12: expected a property name between commas.'],
    ['manager/id', "Invalid $select at position 0: 'manager/id': nested paths are not supported in $select."],
    ['display name', "Invalid $select at position 0: 'display name' is not a property name."],
  ])('rejects %j', (select, message) => {
    expect(queryErrorOf(() => parse({ $select: select })).message).toBe(message);
  });
});

describe('parseQueryOptions: $orderby', () => {
  it('reads properties and directions and appends the key', () => {
    const options = parse({ $orderby: 'DisplayName desc, createdDateTime ASC' });
    expect(options.orderBy).toEqual([
      { property: 'displayName', direction: 'desc' },
      { property: 'createdDateTime', direction: 'asc' },
    ]);
    expect(options.sort).toEqual([...options.orderBy, { property: 'id', direction: 'asc' }]);
  });

  it('does not append the key twice', () => {
    const resource = { ...usersResource, orderBy: ['id', 'displayName'] };
    expect(parse({ $orderby: 'id desc' }, resource).sort).toEqual([{ property: 'id', direction: 'desc' }]);
  });

  it('uses the default order of the resource', () => {
    const resource: ResourceDescription = {
      ...usersResource,
      defaultOrderBy: [{ property: 'createdDateTime', direction: 'desc' }],
    };
    expect(parse({}, resource).sort).toEqual([
      { property: 'createdDateTime', direction: 'desc' },
      { property: 'id', direction: 'desc' },
    ]);
  });

  it.each([
    [
      'jobTitle',
      "Unsupported $orderby at position 0: 'jobTitle' cannot be used in $orderby on users. Sortable properties: displayName, userPrincipalName, createdDateTime.",
    ],
    [
      'displayName sideways',
      "Invalid $orderby at position 0: expected a property name, optionally followed by asc or desc, found 'displayName sideways'.",
    ],
    [
      'displayName,displayName desc',
      "Invalid $orderby at position 12: 'displayName' is listed more than once.",
    ],
    [
      'displayName,',
      'Invalid $orderby at position 12: expected a property name, optionally followed by asc or desc, found nothing.',
    ],
    ['', 'The $orderby is empty.'],
    ['a,b,c,d,e', 'The $orderby lists 5 properties; the limit is 4.'],
  ])('rejects %j', (orderBy, message) => {
    expect(queryErrorOf(() => parse({ $orderby: orderBy })).message).toBe(message);
  });

  it('names the sortable properties in the details', () => {
    expect(queryErrorOf(() => parse({ $orderby: 'displayName, jobTitle desc' })).details).toEqual({
      option: '$orderby',
      position: 13,
      property: 'jobTitle',
      supportedProperties: ['displayName', 'userPrincipalName', 'createdDateTime'],
    });
  });
});

describe('parseQueryOptions: $filter', () => {
  it('parses and checks the filter', () => {
    expect(parse({ $filter: "startswith(displayName,'A') and accountEnabled eq true" }).filter).toMatchObject(
      {
        kind: 'and',
      },
    );
  });

  it('passes on syntax and support errors', () => {
    expect(queryErrorOf(() => parse({ $filter: 'displayName eq' })).details).toEqual({
      option: '$filter',
      position: 14,
    });
    expect(queryErrorOf(() => parse({ $filter: "jobTitle eq 'x'" })).details).toMatchObject({
      property: 'jobTitle',
    });
    expect(queryErrorOf(() => parse({ $filter: ' ' })).message).toBe('The $filter is empty.');
  });
});

describe('parseQueryOptions: $skiptoken', () => {
  const sort = [
    { property: 'displayName', direction: 'asc' },
    { property: 'id', direction: 'asc' },
  ] as const;

  it('decodes a token made for the same order', () => {
    const token = encodeSkipToken(sort, ['Bob', '00000000-0000-4000-8000-000000000003']);
    expect(parse({ $orderby: 'displayName', $skiptoken: token }).cursor).toEqual([
      'Bob',
      '00000000-0000-4000-8000-000000000003',
    ]);
  });

  it('rejects a token made for another order', () => {
    const token = encodeSkipToken(sort, ['Bob', '00000000-0000-4000-8000-000000000003']);
    expect(queryErrorOf(() => parse({ $orderby: 'displayName desc', $skiptoken: token })).message).toBe(
      'The $skiptoken belongs to a different $orderby. Follow the @odata.nextLink of the previous page without changing it.',
    );
  });

  it('rejects garbage', () => {
    const error = queryErrorOf(() => parse({ $skiptoken: 'not a token!' }));
    expect(error.message).toBe(
      'The $skiptoken is not valid. Follow the @odata.nextLink of the previous page without changing it.',
    );
    expect(error.details).toEqual({ option: '$skiptoken' });
  });
});

describe('parseQueryOptions: unsupported and malformed options', () => {
  it.each([
    [
      '$search',
      '"alice"',
      "The $search query option is not supported; use $filter, e.g. startswith(displayName,'text').",
    ],
    [
      '$skip',
      '10',
      'The $skip query option is not supported; follow @odata.nextLink, which carries a $skiptoken.',
    ],
    ['$expand', 'manager', 'The $expand query option is not supported on this resource.'],
    [
      '$SEARCH',
      'x',
      "The $search query option is not supported; use $filter, e.g. startswith(displayName,'text').",
    ],
    [
      '$foo',
      'bar',
      '$foo is not a supported query option. Supported options: $select, $filter, $top, $orderby, $count, $skiptoken.',
    ],
  ])('rejects %s', (name, value, message) => {
    const error = queryErrorOf(() => parse({ [name]: value }));
    expect(error.message).toBe(message);
    expect(error.details).toMatchObject({ option: name.toLowerCase() });
  });

  it('rejects an option given twice, in any spelling', () => {
    expect(queryErrorOf(() => parse({ $top: ['1', '2'] })).message).toBe(
      'The $top query option is given more than once.',
    );
    expect(queryErrorOf(() => parse(new URLSearchParams('$top=1&$TOP=2'))).message).toBe(
      'The $TOP query option is given more than once.',
    );
  });

  it('rejects values that are not text', () => {
    expect(queryErrorOf(() => parse({ $top: 5 })).message).toBe(
      'The $top query option must be a single text value.',
    );
    expect(queryErrorOf(() => parse({ $filter: { a: 1 } })).message).toBe(
      'The $filter query option must be a single text value.',
    );
  });

  it('accepts a one-element array, as some query parsers produce', () => {
    expect(parse({ $top: ['7'] }).top).toBe(7);
  });
});
