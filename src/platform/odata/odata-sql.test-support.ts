import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from './filter-parser.js';
import { type CheckedFilter, checkFilter, type ScalarValue } from './filter-validate.js';
import {
  createPeopleTables,
  deletePerson,
  dropPeopleTables,
  insertPerson,
  type PeopleDatabase,
  type Person,
  p,
  people,
  peopleFields,
  peopleResource,
  queryErrorOf,
  SKU_E3,
  SKU_E5,
} from './fixtures.test-support.js';
import { compileFilter, type FieldMap, whereFilter } from './kysely-compile.js';
import { formatStringLiteral } from './literals.js';
import { buildNextLink, countRows, fetchPage } from './paging.js';
import { parseQueryOptions } from './query-options.js';

/*
 * The SQL behaviour of the OData module, written once and run against every dialect: call
 * `describeOdataSqlSuite(name, connect)` with a function that returns a fresh Kysely instance.
 * The suite creates its own `odata_people*` tables, drops them afterwards and destroys the
 * instance. Data is plain ASCII, so results must be identical on SQLite and PostgreSQL.
 */

/** The number `n` of the person with id `p(n)`, so expectations read as short lists. */
function numberOf(id: string): number {
  return Number(id.slice(-12));
}

function check(filter: string): CheckedFilter {
  return checkFilter(parseFilter(filter), peopleResource);
}

const ALL = people.map((one) => numberOf(one.id));
const except = (...numbers: number[]): number[] => ALL.filter((n) => !numbers.includes(n));

/** Filters with the exact people they must return; see the seed in fixtures.test-support.ts. */
const FILTER_CASES: ReadonlyArray<readonly [string, readonly number[]]> = [
  // case-insensitive equality, directly and through a lowered key column
  ["displayName eq 'alice'", [2]],
  ["displayName eq 'ALICE'", [2]],
  ["displayName eq 'BOB'", [3]],
  ["displayName ne 'bob'", except(3)],
  ["displayName in ('bob', 'ZED', 'nobody')", [3, 12]],
  ["userPrincipalName eq 'ALICE@contoso.COM'", [1]],
  ["userPrincipalName eq 'carol@contoso.com'", [11]],
  ["mail eq 'bob@contoso.com'", [3]],
  // LIKE: case-insensitive on both databases, wildcards and the escape character matched literally
  ["startswith(displayName,'al')", [1, 2]],
  ["startsWith(displayName,'AL')", [1, 2]],
  ["startswith(displayName,'100')", [4, 5]],
  ["startswith(displayName,'100%')", [4]],
  ["startswith(displayName,'a_')", [6]],
  ["startswith(displayName,'_')", []],
  ["startswith(displayName,'%')", []],
  ["startswith(displayName,'back\\')", [8]],
  ["endswith(displayName,'\\slash')", [8]],
  ["endswith(displayName,'')", ALL],
  ["endswith(mail,'@CONTOSO.com')", [1, 3, 6, 7, 8, 10, 11]],
  ["startswith(userPrincipalName,'A')", [1, 2, 6, 7]],
  ["endswith(userPrincipalName,'_b@contoso.com')", [6]],
  // quotes and injection attempts are plain text
  ["displayName eq 'x'' or 1 eq 1 --'", [9]],
  ["displayName eq 'O''Brien'", [10]],
  ["mail eq 'o''brien@contoso.com'", [10]],
  ["displayName eq '1'' or ''1''=''1'", []],
  // nulls: eq/ne null, and two-valued comparisons under not
  ['mail eq null', [2, 5, 9, 12]],
  ['mail ne null', [1, 3, 4, 6, 7, 8, 10, 11]],
  ["mail ne 'alice@contoso.com'", except(1)],
  ["not (mail eq 'alice@contoso.com')", except(1)],
  ["not startswith(mail,'a')", except(1, 6, 7)],
  ["mail in ('a_b@contoso.com', 'AXB@contoso.com')", [6, 7]],
  ["not (mail in ('a_b@contoso.com'))", except(6)],
  // booleans stored as 0/1
  ['accountEnabled eq true', [1, 3, 4, 5, 7, 8, 10, 11]],
  ['accountEnabled eq false', [2, 6, 9, 12]],
  ['accountEnabled ne true', [2, 6, 9, 12]],
  ['onPremisesSyncEnabled eq true', [2, 5, 8, 11]],
  ['onPremisesSyncEnabled eq false', [3, 6, 10]],
  ['onPremisesSyncEnabled eq null', [1, 4, 7, 9, 12]],
  ['onPremisesSyncEnabled ne true', [1, 3, 4, 6, 7, 9, 10, 12]],
  ['onPremisesSyncEnabled ne null', [2, 3, 5, 6, 8, 10, 11]],
  ['not (onPremisesSyncEnabled eq true)', [1, 3, 4, 6, 7, 9, 10, 12]],
  // numbers, including decimals on an integer column and values beyond 32 bits
  ['age gt 40', [3, 5, 8]],
  ['age ge 40', [3, 5, 8, 10]],
  ['age lt 20', [6, 7]],
  ['age le 18.5', [6]],
  ['age eq 30', [1, 11]],
  ['age ne 30', except(1, 11)],
  ['not (age gt 40)', except(3, 5, 8)],
  ['age in (18, 19, 99)', [6, 7]],
  ['age eq 30.5', []],
  ['age lt 3000000000', except(2, 12)],
  ['age gt -3000000000', except(2, 12)],
  ['score gt 1.5', [2, 5, 6, 7, 8, 9, 10, 11, 12]],
  ['score le -3.25', [4]],
  ['score lt 0.5', [3, 4]],
  ['score eq 3', [6, 7]],
  ['score ge 6.75', [5, 10, 11, 12]],
  ['status/errorCode eq 50126', [2, 8]],
  ['status/errorCode ne 0', [2, 4, 8]],
  ['status/errorCode in (50053, 50126)', [2, 4, 8]],
  // date-times stored as ISO text; offsets normalised to UTC; finer than a millisecond
  ['createdDateTime ge 2024-03-13T00:00:00Z', except(1)],
  ['createdDateTime lt 2024-03-13T00:00:00Z', [1]],
  ['createdDateTime eq 2024-03-13T00:00:00Z', [2]],
  ['createdDateTime eq 2024-03-13T01:00:00+01:00', [2]],
  ['createdDateTime le 2024-03-12T19:00:00-05:00', [1, 2]],
  ['createdDateTime eq 2024-03-13T00:00:00.001Z', [3]],
  ['createdDateTime gt 2024-03-13T00:00:00.0005Z', except(1, 2)],
  ['createdDateTime ge 2024-03-13T00:00:00.0005Z', except(1, 2)],
  ['createdDateTime lt 2024-03-13T00:00:00.0005Z', [1, 2]],
  ['createdDateTime le 2024-03-13T00:00:00.0005Z', [1, 2]],
  ['createdDateTime eq 2024-03-13T00:00:00.0005Z', []],
  ['createdDateTime ne 2024-03-13T00:00:00.0005Z', ALL],
  ['createdDateTime in (2024-03-16T00:00:00Z, 2024-03-21T00:00:00Z)', [6, 7, 12]],
  // GUIDs, quoted or not, any case
  [`id eq '${p(3)}'`, [3]],
  [`id eq ${p(3).toUpperCase()}`, [3]],
  [`id ne ${p(3)}`, except(3)],
  [`id in ('${p(1)}', ${p(12)})`, [1, 12]],
  // precedence
  ['accountEnabled eq false or age gt 40 and mail ne null', [2, 3, 6, 8, 9, 12]],
  ['(accountEnabled eq false or age gt 40) and mail ne null', [3, 6, 8]],
  ['not accountEnabled eq true and age lt 20', [6]],
  ['age lt 20 or age gt 50 or mail eq null', [2, 5, 6, 7, 9, 12]],
  // lambdas compiled by the field map's callbacks (EXISTS over child tables)
  ["tags/any(t: t eq 'sales')", [1, 3]],
  ["tags/any(t: startswith(t, 'AD'))", [1, 10]],
  ["not tags/any(t: t eq 'admin')", except(1, 10)],
  ["tags/any(t: t eq 'sales' or t eq 'engineering')", [1, 3, 5]],
  [`assignedLicenses/any(x:x/skuId eq ${SKU_E5})`, [1, 10]],
  [`assignedLicenses/any(x:x/skuId eq '${SKU_E3.toUpperCase()}')`, [1, 2]],
  [`assignedLicenses/any(x: x/skuId in (${SKU_E3}, ${SKU_E5})) and accountEnabled eq false`, [2]],
];

// --- a model of the intended semantics, for the differential property test ----------------------

const CASE_INSENSITIVE = new Set(['displayName', 'userPrincipalName', 'mail', '$this']);

type Element = Readonly<Record<string, ScalarValue | null>>;

function personValues(one: Person): Element {
  return {
    id: one.id,
    displayName: one.display_name,
    userPrincipalName: one.upn,
    mail: one.mail,
    age: one.age,
    score: one.score,
    accountEnabled: one.enabled === 1,
    onPremisesSyncEnabled: one.synced === null ? null : one.synced === 1,
    createdDateTime: one.created_at,
    'status/errorCode': one.error_code,
  };
}

function collection(one: Person, path: string): Element[] {
  if (path === 'tags') return one.tags.map((tag) => ({ $this: tag }));
  return one.licenses.map((skuId) => ({ skuId }));
}

function fold(value: ScalarValue, path: string, force = false): ScalarValue {
  return typeof value === 'string' && (force || CASE_INSENSITIVE.has(path)) ? value.toLowerCase() : value;
}

function compare(operator: string, left: ScalarValue, right: ScalarValue): boolean {
  switch (operator) {
    case 'eq':
      return left === right;
    case 'ne':
      return left !== right;
    case 'gt':
      return left > right;
    case 'ge':
      return left >= right;
    case 'lt':
      return left < right;
    default:
      return left <= right;
  }
}

/** What a filter means, in plain JavaScript: nulls match only `eq null` and `ne <value>`. */
function evaluate(filter: CheckedFilter, values: Element, one: Person): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.operands.every((operand) => evaluate(operand, values, one));
    case 'or':
      return filter.operands.some((operand) => evaluate(operand, values, one));
    case 'not':
      return !evaluate(filter.operand, values, one);
    case 'constant':
      return filter.value;
    case 'compare': {
      const actual = values[filter.field.path] ?? null;
      if (filter.value === null) return (actual === null) === (filter.operator === 'eq');
      if (actual === null) return filter.operator === 'ne';
      const path = filter.field.path;
      return compare(filter.operator, fold(actual, path), fold(filter.value, path));
    }
    case 'in': {
      const actual = values[filter.field.path] ?? null;
      const path = filter.field.path;
      return actual !== null && filter.values.some((value) => fold(value, path) === fold(actual, path));
    }
    case 'function': {
      const actual = values[filter.field.path] ?? null;
      if (typeof actual !== 'string') return false;
      const text = actual.toLowerCase();
      const wanted = filter.value.toLowerCase();
      return filter.name === 'startswith' ? text.startsWith(wanted) : text.endsWith(wanted);
    }
    case 'any':
      return collection(one, filter.collection).some((element) => evaluate(filter.predicate, element, one));
  }
}

// --- random filters ---------------------------------------------------------------------------------

const text = fc.oneof(
  fc.constantFrom(
    'alice',
    'ALICE',
    'Alice Adams',
    'bob',
    'a_b',
    'a%',
    '100%',
    '100',
    '%',
    '_',
    '\\',
    'back\\',
  ),
  fc.constantFrom("o'brien", '', '@contoso.com', 'contoso.com', 'x', 'zed', "x' or 1 eq 1 --", 'sales', 'AD'),
  fc.string({
    unit: fc.constantFrom('a', 'b', 'A', '_', '%', '\\', "'", '.', '@', '1', '0', ' '),
    maxLength: 4,
  }),
);
const quoted = text.map(formatStringLiteral);
const textOperator = fc.constantFrom('eq', 'ne');
const orderOperator = fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le');
const stringFunction = fc.constantFrom('startswith', 'endswith');
const times = fc.constantFrom(
  '2024-03-13T00:00:00Z',
  '2024-03-13T00:00:00.001Z',
  '2024-03-13T00:00:00.0005Z',
  '2024-03-12T23:59:59.999Z',
  '2024-03-16T00:00:00+00:00',
  '2024-03-16T02:00:00+02:00',
  '2024-03-18T00:00:00.0000001Z',
  '2024-01-01T00:00Z',
  '2025-01-01T00:00:00Z',
);

const leaf = fc.oneof(
  fc
    .tuple(fc.constantFrom('displayName', 'mail', 'userPrincipalName'), textOperator, quoted)
    .map((parts) => parts.join(' ')),
  fc
    .tuple(stringFunction, fc.constantFrom('displayName', 'mail', 'userPrincipalName'), quoted)
    .map(([f, property, value]) => `${f}(${property}, ${value})`),
  fc
    .tuple(fc.constantFrom('displayName', 'mail'), fc.array(quoted, { minLength: 1, maxLength: 3 }))
    .map(([property, values]) => `${property} in (${values.join(', ')})`),
  fc
    .tuple(fc.constantFrom('mail', 'age', 'onPremisesSyncEnabled'), textOperator)
    .map(([property, operator]) => `${property} ${operator} null`),
  fc
    .tuple(orderOperator, fc.integer({ min: -1, max: 70 }))
    .map(([operator, value]) => `age ${operator} ${value}`),
  fc
    .tuple(orderOperator, fc.constantFrom('-3.25', '0', '1.5', '2', '2.5', '3', '6.75', '10'))
    .map(([operator, value]) => `score ${operator} ${value}`),
  fc.tuple(textOperator, fc.boolean()).map(([operator, value]) => `accountEnabled ${operator} ${value}`),
  fc
    .tuple(textOperator, fc.boolean())
    .map(([operator, value]) => `onPremisesSyncEnabled ${operator} ${value}`),
  fc.tuple(orderOperator, times).map(([operator, value]) => `createdDateTime ${operator} ${value}`),
  fc
    .tuple(fc.constantFrom('eq', 'ne', 'gt', 'lt'), fc.constantFrom(0, 50053, 50126))
    .map(([operator, value]) => `status/errorCode ${operator} ${value}`),
  quoted.map((value) => `tags/any(t: t eq ${value} or startswith(t, ${value}))`),
  fc.constantFrom(SKU_E3, SKU_E5, p(1)).map((sku) => `assignedLicenses/any(x: x/skuId eq ${sku})`),
);

const filterText = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'filter' },
    leaf,
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => `(${a} and ${b})`),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => `(${a} or ${b})`),
    tie('node').map((a) => `not (${a})`),
  ),
})).node;

// --- the suite --------------------------------------------------------------------------------------

/**
 * Defines the OData SQL tests for one dialect. `connect` returns a fresh Kysely instance; the
 * suite owns it from then on (creates and drops its tables, destroys it at the end).
 */
export function describeOdataSqlSuite(dialect: string, connect: () => Promise<Kysely<PeopleDatabase>>): void {
  describe(`OData SQL on ${dialect}`, () => {
    let db: Kysely<PeopleDatabase>;

    beforeAll(async () => {
      db = await connect();
      await createPeopleTables(db);
    });

    afterAll(async () => {
      await dropPeopleTables(db);
      await db.destroy();
    });

    async function matching(filter: CheckedFilter, fields: FieldMap = peopleFields): Promise<number[]> {
      const rows = await db
        .selectFrom('odata_people')
        .select('odata_people.id')
        .where(compileFilter(filter, fields))
        .orderBy('odata_people.id')
        .execute();
      return rows.map((row) => numberOf(row.id));
    }

    describe('compileFilter', () => {
      it.each(FILTER_CASES)('%s', async (filter, expected) => {
        expect(await matching(check(filter))).toEqual(expected);
      });

      it('binds every value as a parameter', () => {
        const value = "x' or 1 eq 1 --";
        const compiled = db
          .selectFrom('odata_people')
          .select('id')
          .where(compileFilter(check(`displayName eq ${formatStringLiteral(value)}`), peopleFields))
          .compile();
        expect(compiled.sql).not.toContain('or 1');
        expect(compiled.parameters).toContain(value);
      });

      it('matches the plain-JavaScript model on random filters', async () => {
        await fc.assert(
          fc.asyncProperty(filterText, async (filter) => {
            const checked = check(filter);
            const expected = people
              .filter((one) => evaluate(checked, personValues(one), one))
              .map((one) => numberOf(one.id));
            expect(await matching(checked)).toEqual(expected);
          }),
          { numRuns: 300 },
        );
      });

      it('rejects any() when the field map has no compiler for it', async () => {
        const error = queryErrorOf(() =>
          compileFilter(check("tags/any(t: t eq 'a')"), { fields: peopleFields.fields }),
        );
        expect(error.message).toBe("Unsupported $filter: any() on 'tags' is not supported on this resource.");
        expect(error.details).toEqual({ option: '$filter', property: 'tags' });
      });

      it('rejects a property the field map does not cover', () => {
        const error = queryErrorOf(() => compileFilter(check('age eq 1'), { fields: {} }));
        expect(error.details).toEqual({ option: '$filter', property: 'age' });
      });

      it('combines with other conditions through whereFilter', async () => {
        const base = db.selectFrom('odata_people').select('id').where('enabled', '=', 1);
        const rows = await whereFilter(base, check('age gt 40'), peopleFields).orderBy('id').execute();
        expect(rows.map((row) => numberOf(row.id))).toEqual([3, 5, 8]);
        expect(await whereFilter(base, undefined, peopleFields).execute()).toHaveLength(8);
      });
    });

    /** Follows nextLinks from the first page to the last, as a client would. */
    async function pageThrough(
      query: string,
      between?: (page: number) => Promise<void>,
    ): Promise<number[][]> {
      const pages: number[][] = [];
      let url: string | undefined = `https://rekey.example/v1.0/people?${query}`;
      while (url !== undefined) {
        const options = parseQueryOptions(new URL(url).searchParams, peopleResource);
        const base = whereFilter(db.selectFrom('odata_people').selectAll(), options.filter, peopleFields);
        const page = await fetchPage(base, options, peopleFields);
        pages.push(page.rows.map((row) => numberOf(row.id)));
        url = page.nextSkipToken === undefined ? undefined : buildNextLink(url, page.nextSkipToken);
        if (between) await between(pages.length);
        if (pages.length > 50) throw new Error('paging does not end');
      }
      return pages;
    }

    describe('keyset paging', () => {
      it.each([
        ['', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]],
        ['age', [2, 12, 6, 7, 4, 1, 11, 9, 10, 3, 8, 5]],
        ['age desc', [5, 8, 3, 10, 9, 11, 1, 4, 7, 6, 12, 2]],
        // Ties are broken by id in the direction of the last sort item: 7 before 6 here.
        ['createdDateTime desc', [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]],
        ['score desc,age', [5, 12, 11, 10, 9, 8, 6, 7, 2, 1, 3, 4]],
      ])('returns every row once, in order, for $orderby=%s', async (orderBy, expected) => {
        const orderOption = orderBy === '' ? '' : `$orderby=${orderBy}&`;
        for (const top of [1, 2, 3, 5, 12, 20]) {
          const pages = await pageThrough(`${orderOption}$top=${top}`);
          expect(pages.flat()).toEqual(expected);
          expect(pages).toHaveLength(Math.ceil(expected.length / top));
          expect(pages.every((page) => page.length <= top)).toBe(true);
        }
      });

      it.each([
        'displayName',
        'displayName desc',
        'userPrincipalName',
        'mail',
        'mail desc',
        'mail,age desc',
        'age desc,mail',
      ])('pages through $orderby=%s exactly like one big page', async (orderBy) => {
        const [single] = await pageThrough(`$orderby=${orderBy}&$top=20`);
        expect(single).toHaveLength(12);
        expect(new Set(single).size).toBe(12);
        for (const top of [1, 2, 5]) {
          expect((await pageThrough(`$orderby=${orderBy}&$top=${top}`)).flat()).toEqual(single);
        }
      });

      it('puts nulls first ascending and last descending', async () => {
        const ascending = (await pageThrough('$orderby=mail&$top=20')).flat();
        expect(ascending.slice(0, 4)).toEqual([2, 5, 9, 12]);
        const descending = (await pageThrough('$orderby=mail desc&$top=20')).flat();
        expect(descending.slice(-4)).toEqual([12, 9, 5, 2]);
      });

      it('pages a filtered list', async () => {
        const pages = await pageThrough(
          `$filter=${encodeURIComponent('accountEnabled eq true')}&$orderby=age desc&$top=3`,
        );
        expect(pages).toEqual([
          [5, 8, 3],
          [10, 11, 1],
          [4, 7],
        ]);
      });

      it('stays correct while rows are inserted and deleted between pages', async () => {
        const template = people.find((one) => one.id === p(1));
        if (!template) throw new Error('the seed has no person 1');
        const base: Person = { ...template, tags: [], licenses: [] };
        const added: Person[] = [
          { ...base, id: p(13), upn: 'newer@contoso.com', created_at: '2024-03-30T00:00:00.000Z' },
          { ...base, id: p(14), upn: 'older@contoso.com', created_at: '2024-03-01T00:00:00.000Z' },
          // Same time as the cursor row (person 9): the id decides which side of the cursor it is on
          // (ids descending, like the time).
          { ...base, id: p(15), upn: 'tie-before@contoso.com', created_at: '2024-03-18T00:00:00.000Z' },
          { ...base, id: p(0), upn: 'tie-after@contoso.com', created_at: '2024-03-18T00:00:00.000Z' },
        ];
        const removed = people.find((one) => one.id === p(8));
        try {
          const pages = await pageThrough('$orderby=createdDateTime desc&$top=4', async (page) => {
            if (page !== 1) return;
            for (const one of added) await insertPerson(db, one);
            await deletePerson(db, p(8));
          });
          // Person 15 ties with the cursor row and sorts before it (ids descending), so it is on the
          // side already returned; person 0 sorts after it and is returned.
          expect(pages.flat()).toEqual([12, 11, 10, 9, 0, 7, 6, 5, 4, 3, 2, 1, 14]);
        } finally {
          for (const one of added) await deletePerson(db, one.id);
          if (removed) await insertPerson(db, removed);
        }
      });

      it('returns no skip token when the last page is exactly full', async () => {
        const options = parseQueryOptions({ $top: '12' }, peopleResource);
        const page = await fetchPage(db.selectFrom('odata_people').selectAll(), options, peopleFields);
        expect(page.rows).toHaveLength(12);
        expect(page.nextSkipToken).toBeUndefined();
      });

      it('returns the rows without its sort-key columns', async () => {
        const options = parseQueryOptions({ $orderby: 'displayName', $top: '2' }, peopleResource);
        const page = await fetchPage(
          db.selectFrom('odata_people').select(['id', 'upn']),
          options,
          peopleFields,
        );
        expect(page.rows.map((row) => Object.keys(row).sort())).toEqual([
          ['id', 'upn'],
          ['id', 'upn'],
        ]);
        expect(page.nextSkipToken).toMatch(/^[A-Za-z0-9_-]+$/);
      });
    });

    describe('countRows', () => {
      it('counts the filtered rows, ignoring selection, order and limit', async () => {
        const options = parseQueryOptions(
          { $filter: 'accountEnabled eq true', $count: 'true' },
          peopleResource,
        );
        const base = whereFilter(db.selectFrom('odata_people').selectAll(), options.filter, peopleFields);
        expect(await countRows(base.orderBy('id').limit(1))).toBe(8);
        expect(await countRows(db.selectFrom('odata_people').select('id'))).toBe(12);
      });
    });
  });
}
