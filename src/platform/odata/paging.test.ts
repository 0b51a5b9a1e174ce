import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queryErrorOf } from './fixtures.test-support.js';
import { buildNextLink, completeSort, decodeSkipToken, encodeSkipToken, type SortValue } from './paging.js';
import type { OrderByItem } from './resource.js';

const sort: readonly OrderByItem[] = [
  { property: 'createdDateTime', direction: 'desc' },
  { property: 'mail', direction: 'asc' },
  { property: 'id', direction: 'asc' },
];

function token(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

describe('skip tokens', () => {
  it('round-trip strings, numbers and nulls', () => {
    const values = ['2024-03-13T00:00:00.000Z', null, 'e2a6c3a0-0000-4000-8000-000000000001'];
    const encoded = encodeSkipToken(sort, values);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeSkipToken(encoded, sort)).toEqual(values);
  });

  it('round-trip any sort key (property)', () => {
    const value = fc.oneof(
      // Any text a column can hold: requests carrying U+0000 are refused, so none is stored.
      fc.string({ maxLength: 100, unit: 'binary' }).map((text) => text.replaceAll('\u0000', '')),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constant(null),
    );
    fc.assert(
      fc.property(fc.tuple(value, value, value), (values: SortValue[]) => {
        // JSON has no -0; the database never hands one back as a key.
        const normalised = values.map((v) => (Object.is(v, -0) ? 0 : v));
        expect(decodeSkipToken(encodeSkipToken(sort, normalised), sort)).toEqual(normalised);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a key holding U+0000, which no stored value holds and PostgreSQL cannot compare', () => {
    const withNul = token({ v: 1, s: 'createdDateTime desc,mail asc,id asc', k: ['a\u0000', null, 'x'] });
    expect(queryErrorOf(() => decodeSkipToken(withNul, sort)).code).toBe(7700007);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['a JSON array', token([1, 'x'])],
    ['JSON null', token(null)],
    ['another version', token({ v: 2, s: 'createdDateTime desc,mail asc,id asc', k: ['a', null, 'b'] })],
    ['too few values', token({ v: 1, s: 'createdDateTime desc,mail asc,id asc', k: ['a', null] })],
    ['values not a list', token({ v: 1, s: 'createdDateTime desc,mail asc,id asc', k: 'a' })],
    ['an object value', token({ v: 1, s: 'createdDateTime desc,mail asc,id asc', k: ['a', {}, 'b'] })],
    ['a boolean value', token({ v: 1, s: 'createdDateTime desc,mail asc,id asc', k: ['a', true, 'b'] })],
    [
      'an oversized value',
      token({ v: 1, s: 'createdDateTime desc,mail asc,id asc', k: ['a', 'x'.repeat(1025), 'b'] }),
    ],
    ['an oversized token', 'A'.repeat(4097)],
  ])('rejects %s', (_, raw) => {
    const error = queryErrorOf(() => decodeSkipToken(raw, sort));
    expect(error.details).toEqual({ option: '$skiptoken' });
    expect(error.message).toMatch(/^The \$skiptoken (is not valid|belongs to a different \$orderby)/);
  });

  it('says when the token comes from another order', () => {
    const other = encodeSkipToken([{ property: 'id', direction: 'asc' }], ['x']);
    expect(queryErrorOf(() => decodeSkipToken(other, sort)).message).toBe(
      'The $skiptoken belongs to a different $orderby. Follow the @odata.nextLink of the previous page without changing it.',
    );
  });

  it('never accepts a tampered token of the right shape but wrong sort', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (signature) => {
        fc.pre(signature !== 'createdDateTime desc,mail asc,id asc');
        queryErrorOf(() => decodeSkipToken(token({ v: 1, s: signature, k: ['a', null, 'b'] }), sort));
      }),
    );
  });
});

describe('completeSort', () => {
  it('appends the key in the direction of the last item unless present', () => {
    expect(completeSort([{ property: 'displayName', direction: 'desc' }], 'id')).toEqual([
      { property: 'displayName', direction: 'desc' },
      { property: 'id', direction: 'desc' },
    ]);
    expect(completeSort([{ property: 'displayName', direction: 'asc' }], 'id')).toEqual([
      { property: 'displayName', direction: 'asc' },
      { property: 'id', direction: 'asc' },
    ]);
    expect(completeSort([{ property: 'id', direction: 'desc' }], 'id')).toEqual([
      { property: 'id', direction: 'desc' },
    ]);
    expect(completeSort([], 'id')).toEqual([{ property: 'id', direction: 'asc' }]);
  });
});

describe('buildNextLink', () => {
  it('keeps the other options as written and adds the token', () => {
    expect(buildNextLink('https://rekey.example/v1.0/users?$top=2&$select=id,displayName', 'TOKEN')).toBe(
      'https://rekey.example/v1.0/users?$top=2&$select=id,displayName&$skiptoken=TOKEN',
    );
  });

  it('replaces an existing token, whatever its spelling', () => {
    expect(buildNextLink('https://rekey.example/v1.0/users?$skiptoken=OLD&$top=2', 'NEW')).toBe(
      'https://rekey.example/v1.0/users?$top=2&$skiptoken=NEW',
    );
    expect(buildNextLink('https://rekey.example/v1.0/users?%24SkipToken=OLD&$top=2', 'NEW')).toBe(
      'https://rekey.example/v1.0/users?$top=2&$skiptoken=NEW',
    );
  });

  it('keeps encoded filters intact', () => {
    const url = 'https://rekey.example/v1.0/users?$filter=startswith(displayName,%27a%20b%27)&$count=true';
    expect(buildNextLink(url, 'T')).toBe(`${url}&$skiptoken=T`);
  });

  it('works without a query string and keeps the fragment out of the options', () => {
    expect(buildNextLink('https://rekey.example/v1.0/users', 'T')).toBe(
      'https://rekey.example/v1.0/users?$skiptoken=T',
    );
    expect(buildNextLink(new URL('https://rekey.example/v1.0/users?$top=1#x'), 'T')).toBe(
      'https://rekey.example/v1.0/users?$top=1&$skiptoken=T#x',
    );
  });

  it('keeps parameters that merely contain the word skiptoken', () => {
    expect(buildNextLink('https://rekey.example/v1.0/users?skiptoken=a&x$skiptoken=b', 'T')).toBe(
      'https://rekey.example/v1.0/users?skiptoken=a&x$skiptoken=b&$skiptoken=T',
    );
  });
});
