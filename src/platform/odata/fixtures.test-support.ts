import { type Kysely, type SqlBool, sql } from 'kysely';
import { expect } from 'vitest';
import { isRekeyError, type RekeyError } from '../errors/rekey-error.js';
import type { FilterNode, Literal } from './filter-ast.js';
import type { FieldMap } from './kysely-compile.js';
import type { ResourceDescription } from './resource.js';

/*
 * Shared fixtures for the OData tests: a resource shaped like Graph's users (the example the
 * users endpoint will follow), and a small "people" table with its resource and field map, used
 * by the SQL suite on every dialect. Table names are prefixed so that the suite can run inside a
 * database that also holds Rekey's own schema.
 */

/** Calls `action`, expects a RekeyError 7700007 and returns it for further checks. */
export function queryErrorOf(action: () => unknown): RekeyError {
  try {
    action();
  } catch (error) {
    if (isRekeyError(error)) {
      expect(error.code).toBe(7700007);
      return error;
    }
    throw error;
  }
  throw new Error('expected a RekeyError 7700007, but nothing was thrown');
}

function showLiteral(literal: Literal): string {
  switch (literal.type) {
    case 'string':
      return JSON.stringify(literal.value);
    case 'number':
      return String(literal.value);
    case 'boolean':
      return String(literal.value);
    case 'null':
      return 'null';
    case 'guid':
      return `guid:${literal.value}`;
    case 'datetime':
      return `datetime:${literal.value}${literal.subMillisecond ? '+' : ''}`;
  }
}

/** Renders a syntax tree as an S-expression, so that tests can state its shape in one line. */
export function show(node: FilterNode): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${node.kind} ${node.operands.map(show).join(' ')})`;
    case 'not':
      return `(not ${show(node.operand)})`;
    case 'compare':
      return `(${node.operator} ${node.property.path} ${showLiteral(node.value)})`;
    case 'in':
      return `(in ${node.property.path} ${node.values.map(showLiteral).join(' ')})`;
    case 'function':
      return `(${node.name} ${node.property.path} ${showLiteral(node.value)})`;
    case 'any':
      return `(any ${node.collection.path} ${node.variable} ${show(node.predicate)})`;
  }
}

/** Graph's users, as the users endpoint is expected to describe them. */
export const usersResource: ResourceDescription = {
  name: 'users',
  properties: {
    id: 'default',
    businessPhones: 'default',
    displayName: 'default',
    givenName: 'default',
    jobTitle: 'default',
    mail: 'default',
    mobilePhone: 'default',
    officeLocation: 'default',
    preferredLanguage: 'default',
    surname: 'default',
    userPrincipalName: 'default',
    accountEnabled: 'optional',
    createdDateTime: 'optional',
    userType: 'optional',
    onPremisesSyncEnabled: 'optional',
    assignedLicenses: 'optional',
    passwordProfile: 'never',
  },
  filter: {
    properties: {
      id: { type: 'guid', operators: ['eq', 'ne', 'in'] },
      userPrincipalName: {
        type: 'string',
        operators: ['eq', 'ne', 'startswith', 'endswith', 'ge', 'le', 'in'],
      },
      displayName: { type: 'string', operators: ['eq', 'ne', 'startswith', 'in'] },
      accountEnabled: { type: 'boolean', operators: ['eq', 'ne'] },
      mail: { type: 'string', operators: ['eq', 'startswith'], nullable: true },
      givenName: { type: 'string', operators: ['eq', 'startswith'], nullable: true },
      surname: { type: 'string', operators: ['eq', 'startswith'], nullable: true },
      userType: { type: 'string', operators: ['eq'] },
      onPremisesSyncEnabled: { type: 'boolean', operators: ['eq', 'ne'], nullable: true },
      createdDateTime: { type: 'datetime', operators: ['ge', 'le', 'gt', 'lt', 'eq'] },
    },
    collections: {
      assignedLicenses: { properties: { skuId: { type: 'guid', operators: ['eq'] } } },
    },
  },
  orderBy: ['displayName', 'userPrincipalName', 'createdDateTime'],
  defaultOrderBy: [],
  key: 'id',
  top: { default: 100, max: 999 },
  count: true,
};

// --- the "people" table ------------------------------------------------------------------------

export interface PeopleTable {
  id: string;
  display_name: string;
  upn: string;
  upn_key: string;
  mail: string | null;
  age: number | null;
  score: number;
  enabled: 0 | 1;
  synced: 0 | 1 | null;
  created_at: string;
  error_code: number;
}

export interface PeopleTagsTable {
  person_id: string;
  tag: string;
}

export interface PeopleLicensesTable {
  person_id: string;
  sku_id: string;
}

export interface PeopleDatabase {
  odata_people: PeopleTable;
  odata_people_tags: PeopleTagsTable;
  odata_people_licenses: PeopleLicensesTable;
}

/** One seeded person, with its child rows. */
export interface Person extends Omit<PeopleTable, 'upn_key'> {
  readonly tags: readonly string[];
  readonly licenses: readonly string[];
}

export const SKU_E3 = '8a3bfc12-0a1b-4c2d-9e3f-000000000e03';
export const SKU_E5 = '8a3bfc12-0a1b-4c2d-9e3f-000000000e05';

/** `p(7)` is the id of person 7. */
export function p(number: number): string {
  return `00000000-0000-4000-8000-${String(number).padStart(12, '0')}`;
}

function person(
  number: number,
  fields: Omit<Person, 'id' | 'tags' | 'licenses'> & { tags?: string[]; licenses?: string[] },
): Person {
  return { id: p(number), tags: [], licenses: [], ...fields };
}

/** Plain ASCII on purpose: SQLite's lower() folds only ASCII, PostgreSQL's all of Unicode. */
export const people: readonly Person[] = [
  person(1, {
    display_name: 'Alice Adams',
    upn: 'Alice@Contoso.com',
    mail: 'alice@contoso.com',
    age: 30,
    score: 1.5,
    enabled: 1,
    synced: null,
    created_at: '2024-03-12T23:59:59.999Z',
    error_code: 0,
    tags: ['admin', 'Sales'],
    licenses: [SKU_E3, SKU_E5],
  }),
  person(2, {
    display_name: 'alice',
    upn: 'alice2@contoso.com',
    mail: null,
    age: null,
    score: 2,
    enabled: 0,
    synced: 1,
    created_at: '2024-03-13T00:00:00.000Z',
    error_code: 50126,
    licenses: [SKU_E3],
  }),
  person(3, {
    display_name: 'Bob',
    upn: 'bob@contoso.com',
    mail: 'BOB@Contoso.com',
    age: 45,
    score: 0,
    enabled: 1,
    synced: 0,
    created_at: '2024-03-13T00:00:00.001Z',
    error_code: 0,
    tags: ['sales'],
  }),
  person(4, {
    display_name: '100% Real',
    upn: 'real@contoso.com',
    mail: 'real@fabrikam.com',
    age: 22,
    score: -3.25,
    enabled: 1,
    synced: null,
    created_at: '2024-03-14T10:00:00.000Z',
    error_code: 50053,
  }),
  person(5, {
    display_name: '1000 Reasons',
    upn: 'reasons@contoso.com',
    mail: null,
    age: 61,
    score: 10,
    enabled: 1,
    synced: 1,
    created_at: '2024-03-15T00:00:00.000Z',
    error_code: 0,
    tags: ['engineering'],
  }),
  person(6, {
    display_name: 'a_b',
    upn: 'a_b@contoso.com',
    mail: 'a_b@contoso.com',
    age: 18,
    score: 3,
    enabled: 0,
    synced: 0,
    created_at: '2024-03-16T00:00:00.000Z',
    error_code: 0,
  }),
  person(7, {
    display_name: 'axb',
    upn: 'axb@contoso.com',
    mail: 'axb@contoso.com',
    age: 19,
    score: 3,
    enabled: 1,
    synced: null,
    created_at: '2024-03-16T00:00:00.000Z',
    error_code: 0,
  }),
  person(8, {
    display_name: 'back\\slash',
    upn: 'backslash@contoso.com',
    mail: 'back\\slash@contoso.com',
    age: 50,
    score: 4,
    enabled: 1,
    synced: 1,
    created_at: '2024-03-17T00:00:00.000Z',
    error_code: 50126,
  }),
  person(9, {
    display_name: "x' or 1 eq 1 --",
    upn: 'injection@contoso.com',
    mail: null,
    age: 33,
    score: 5,
    enabled: 0,
    synced: null,
    created_at: '2024-03-18T00:00:00.000Z',
    error_code: 0,
  }),
  person(10, {
    display_name: "O'Brien",
    upn: 'obrien@contoso.com',
    mail: "o'brien@contoso.com",
    age: 40,
    score: 6.75,
    enabled: 1,
    synced: 0,
    created_at: '2024-03-19T00:00:00.000Z',
    error_code: 0,
    tags: ['Admin'],
    licenses: [SKU_E5],
  }),
  person(11, {
    display_name: 'carol',
    upn: 'Carol@Contoso.com',
    mail: 'carol@contoso.com',
    age: 30,
    score: 7,
    enabled: 1,
    synced: 1,
    created_at: '2024-03-20T00:00:00.000Z',
    error_code: 0,
  }),
  person(12, {
    display_name: 'Zed',
    upn: 'zed@contoso.com',
    mail: null,
    age: null,
    score: 8,
    enabled: 0,
    synced: null,
    created_at: '2024-03-21T00:00:00.000Z',
    error_code: 0,
  }),
];

export const peopleResource: ResourceDescription = {
  name: 'people',
  properties: {
    id: 'default',
    displayName: 'default',
    userPrincipalName: 'default',
    mail: 'default',
    age: 'optional',
    score: 'optional',
    accountEnabled: 'default',
    onPremisesSyncEnabled: 'optional',
    createdDateTime: 'default',
    status: 'optional',
    tags: 'optional',
    assignedLicenses: 'optional',
    passwordProfile: 'never',
  },
  filter: {
    properties: {
      id: { type: 'guid', operators: ['eq', 'ne', 'in'] },
      displayName: { type: 'string', operators: ['eq', 'ne', 'startswith', 'endswith', 'in'] },
      userPrincipalName: { type: 'string', operators: ['eq', 'ne', 'startswith', 'endswith', 'in'] },
      mail: { type: 'string', operators: ['eq', 'ne', 'startswith', 'endswith', 'in'], nullable: true },
      age: { type: 'number', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'in'], nullable: true },
      score: { type: 'number', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] },
      accountEnabled: { type: 'boolean', operators: ['eq', 'ne'] },
      onPremisesSyncEnabled: { type: 'boolean', operators: ['eq', 'ne'], nullable: true },
      createdDateTime: { type: 'datetime', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'in'] },
      'status/errorCode': { type: 'number', operators: ['eq', 'ne', 'gt', 'lt', 'in'] },
    },
    collections: {
      tags: { properties: { $this: { type: 'string', operators: ['eq', 'startswith'] } } },
      assignedLicenses: { properties: { skuId: { type: 'guid', operators: ['eq', 'in'] } } },
    },
  },
  orderBy: ['displayName', 'userPrincipalName', 'mail', 'age', 'score', 'createdDateTime', 'id'],
  defaultOrderBy: [],
  key: 'id',
  top: { default: 5, max: 20 },
  count: true,
};

export const peopleFields: FieldMap = {
  fields: {
    id: { column: 'odata_people.id' },
    displayName: { column: 'odata_people.display_name', caseInsensitive: true },
    userPrincipalName: {
      column: 'odata_people.upn',
      lowerColumn: 'odata_people.upn_key',
      caseInsensitive: true,
    },
    mail: { column: 'odata_people.mail', caseInsensitive: true, nullable: true },
    age: { column: 'odata_people.age', nullable: true },
    score: { column: 'odata_people.score' },
    accountEnabled: { column: 'odata_people.enabled' },
    onPremisesSyncEnabled: { column: 'odata_people.synced', nullable: true },
    createdDateTime: { column: 'odata_people.created_at' },
    'status/errorCode': { column: 'odata_people.error_code' },
  },
  lambdas: {
    // EXISTS over a child table: portable SQL, and the element's predicate is compiled as usual.
    tags: (node, { compile }) =>
      sql<SqlBool>`exists (select 1 from odata_people_tags as t where t.person_id = odata_people.id and ${compile(
        node.predicate,
        { fields: { $this: { column: 't.tag', caseInsensitive: true } } },
      )})`,
    assignedLicenses: (node, { compile }) =>
      sql<SqlBool>`exists (select 1 from odata_people_licenses as l where l.person_id = odata_people.id and ${compile(
        node.predicate,
        { fields: { skuId: { column: 'l.sku_id' } } },
      )})`,
  },
};

/** Creates the people tables with portable DDL and seeds them. */
export async function createPeopleTables(db: Kysely<PeopleDatabase>): Promise<void> {
  await dropPeopleTables(db);
  await db.schema
    .createTable('odata_people')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('upn', 'varchar(256)', (c) => c.notNull())
    .addColumn('upn_key', 'varchar(256)', (c) => c.notNull())
    .addColumn('mail', 'varchar(256)')
    .addColumn('age', 'integer')
    .addColumn('score', 'double precision', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('synced', 'integer')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('error_code', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('odata_people_tags')
    .addColumn('person_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('tag', 'varchar(64)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('odata_people_licenses')
    .addColumn('person_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('sku_id', 'varchar(36)', (c) => c.notNull())
    .execute();
  for (const one of people) await insertPerson(db, one);
}

export async function insertPerson(db: Kysely<PeopleDatabase>, one: Person): Promise<void> {
  const { tags, licenses, ...row } = one;
  await db
    .insertInto('odata_people')
    .values({ ...row, upn_key: row.upn.toLowerCase() })
    .execute();
  for (const tag of tags)
    await db.insertInto('odata_people_tags').values({ person_id: one.id, tag }).execute();
  for (const sku of licenses) {
    await db.insertInto('odata_people_licenses').values({ person_id: one.id, sku_id: sku }).execute();
  }
}

export async function deletePerson(db: Kysely<PeopleDatabase>, id: string): Promise<void> {
  await db.deleteFrom('odata_people_tags').where('person_id', '=', id).execute();
  await db.deleteFrom('odata_people_licenses').where('person_id', '=', id).execute();
  await db.deleteFrom('odata_people').where('id', '=', id).execute();
}

export async function dropPeopleTables(db: Kysely<PeopleDatabase>): Promise<void> {
  await db.schema.dropTable('odata_people_licenses').ifExists().execute();
  await db.schema.dropTable('odata_people_tags').ifExists().execute();
  await db.schema.dropTable('odata_people').ifExists().execute();
}
