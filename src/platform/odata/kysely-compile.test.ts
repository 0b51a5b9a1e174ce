import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../test/support/databases.js';
import { openDatabase } from '../db/database.js';
import { parseFilter } from './filter-parser.js';
import { checkFilter } from './filter-validate.js';
import {
  createPeopleTables,
  type PeopleDatabase,
  peopleFields,
  peopleResource,
  usersResource,
} from './fixtures.test-support.js';
import { compileFilter, escapeLikePattern, type FieldMap } from './kysely-compile.js';
import { describeOdataSqlSuite } from './odata-sql.test-support.js';
import { fetchPage } from './paging.js';
import { parseQueryOptions } from './query-options.js';
import { findSetupProblems } from './setup-check.js';

function openSqlite(): Kysely<PeopleDatabase> {
  return new Kysely<PeopleDatabase>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
}

describeOdataSqlSuite('SQLite', async () => openSqlite());
describeOdataSqlSuite('PostgreSQL', async () => {
  const db = openDatabase(await createPostgresDatabase());
  return db.kysely as unknown as Kysely<PeopleDatabase>;
});

describe('escapeLikePattern', () => {
  it('escapes the escape character before the wildcards', () => {
    expect(escapeLikePattern('100%_\\x')).toBe('100\\%\\_\\\\x');
    expect(escapeLikePattern('plain')).toBe('plain');
  });
});

describe('compiled SQL (SQLite)', () => {
  const db = openSqlite();

  function compile(filter: string): { sql: string; parameters: readonly unknown[] } {
    const checked = checkFilter(parseFilter(filter), peopleResource);
    return db.selectFrom('odata_people').select('id').where(compileFilter(checked, peopleFields)).compile();
  }

  it('writes LIKE with lower() on both sides and an explicit escape', () => {
    expect(compile("startswith(displayName,'a%')")).toMatchObject({
      sql: 'select "id" from "odata_people" where lower("odata_people"."display_name") like lower(cast(? as text)) escape \'\\\'',
      parameters: ['a\\%%'],
    });
  });

  it('uses the lowered key column when the field map names one', () => {
    expect(compile("userPrincipalName eq 'Alice@Contoso.com'")).toMatchObject({
      sql: 'select "id" from "odata_people" where "odata_people"."upn_key" = ?',
      parameters: ['alice@contoso.com'],
    });
  });

  it('guards nullable columns so that not() keeps rows with nulls', () => {
    expect(compile("not (mail eq 'a')").sql).toBe(
      'select "id" from "odata_people" where not ((lower("odata_people"."mail") is not null and lower("odata_people"."mail") = lower(cast(? as text))))',
    );
    expect(compile("mail ne 'a'").sql).toContain('is null or');
  });

  it('stores booleans as 0/1 and casts only numbers a 32-bit parameter cannot hold', () => {
    expect(compile('accountEnabled eq true').parameters).toEqual([1]);
    expect(compile('age gt 1.5').sql).toContain('> cast(? as numeric)');
    expect(compile('age gt 15').sql).toContain('> ?');
  });
});

describe('case-insensitive order on SQLite', () => {
  it('sorts by lower(displayName) in binary order, then id', async () => {
    const db = openSqlite();
    await createPeopleTables(db);
    const options = parseQueryOptions({ $orderby: 'displayName', $top: '20' }, peopleResource);
    const page = await fetchPage(
      db.selectFrom('odata_people').select(['id', 'display_name']),
      options,
      peopleFields,
    );
    expect(page.rows.map((row) => row.display_name)).toEqual([
      '100% Real',
      '1000 Reasons',
      'a_b',
      'alice',
      'Alice Adams',
      'axb',
      'back\\slash',
      'Bob',
      'carol',
      "O'Brien",
      "x' or 1 eq 1 --",
      'Zed',
    ]);
    await db.destroy();
  });
});

describe('findSetupProblems', () => {
  it('finds nothing in a consistent setup', () => {
    expect(findSetupProblems(peopleResource, peopleFields)).toEqual([]);
  });

  it('lists missing mappings, compilers and inconsistent settings', () => {
    const fields: FieldMap = {
      fields: {
        id: { column: 'users.id' },
        displayName: { column: 'users.display_name', caseInsensitive: true },
        mail: { column: 'users.mail', nullable: true },
      },
    };
    const resource = {
      ...usersResource,
      defaultOrderBy: [{ property: 'surname', direction: 'asc' as const }],
      top: { default: 1000, max: 999 },
    };
    expect(findSetupProblems(resource, fields)).toEqual([
      'top.default (1000) must be a whole number from 1 to top.max (999)',
      "defaultOrderBy 'surname' is not listed in orderBy",
      "filter 'userPrincipalName' has no field mapping",
      "filter 'accountEnabled' has no field mapping",
      "filter 'givenName' has no field mapping",
      "filter 'surname' has no field mapping",
      "filter 'userType' has no field mapping",
      "filter 'onPremisesSyncEnabled' has no field mapping",
      "filter 'createdDateTime' has no field mapping",
      "collection 'assignedLicenses' has no lambda compiler",
      "orderBy 'userPrincipalName' has no field mapping",
      "orderBy 'createdDateTime' has no field mapping",
    ]);
  });
});
