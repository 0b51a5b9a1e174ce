import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, openTestDatabase } from '../../../test/support/databases.js';
import type { Db } from './database.js';
import { preparedQueries, preparedQuery, rowOfParameters } from './prepared-query.js';

interface Counter {
  bucket: string;
  window_index: number;
  count: number;
  window_end_ms: number;
}

const counterColumns = ['bucket', 'window_index', 'count', 'window_end_ms'] as const;

let builds = 0;

const insertCounter = preparedQuery((db, p: Counter) => {
  builds += 1;
  return db.insertInto('rate_limit_counters').values(rowOfParameters(p, counterColumns));
});

/** Buckets of one window, with a constant (the `in` list) beside the parameters. */
const countersOfWindow = preparedQuery((db, p: { windowIndex: number; least: number }) =>
  db
    .selectFrom('rate_limit_counters')
    .select(['bucket', 'count'])
    .where('window_index', '=', p.windowIndex)
    .where('count', '>=', p.least)
    .where('bucket', 'in', ['a', 'b', 'c'])
    .orderBy('bucket'),
);

const lockedCounter = preparedQuery((db, p: { bucket: string }) =>
  db.selectFrom('rate_limit_counters').select('count').where('bucket', '=', p.bucket).forUpdate(),
);

let keyedBuilds = 0;

/** Buckets among a list of `count` names: one prepared query per length. */
const countersNamed = preparedQueries((count: number) => {
  keyedBuilds += 1;
  return (db, p: Record<string, string>) =>
    db
      .selectFrom('rate_limit_counters')
      .select('bucket')
      .where(
        'bucket',
        'in',
        Array.from({ length: count }, (_, i) => p[`b${i}`] as string),
      )
      .orderBy('bucket');
});

const openDatabases: Db[] = [];
afterAll(async () => {
  await Promise.all(openDatabases.map((db) => db.close()));
});

async function freshDatabase(dialect: (typeof dialects)[number]): Promise<Db> {
  const db = await openTestDatabase(dialect);
  openDatabases.push(db);
  return db;
}

describe.each(dialects)('prepared queries on %s', (dialect) => {
  let db: Db;
  beforeAll(async () => {
    db = await freshDatabase(dialect);
  });

  it('runs with each call its own values, and keeps the constants the query was built with', async () => {
    for (const [bucket, count] of [
      ['a', 1],
      ['b', 5],
      ['c', 9],
      ['d', 9],
    ] as const) {
      await insertCounter(db.kysely, { bucket, window_index: 7, count, window_end_ms: 1000 });
    }
    await insertCounter(db.kysely, { bucket: 'a', window_index: 8, count: 3, window_end_ms: 2000 });

    expect((await countersOfWindow(db.kysely, { windowIndex: 7, least: 5 })).rows).toEqual([
      { bucket: 'b', count: 5 },
      { bucket: 'c', count: 9 },
    ]);
    // 'd' matches the values but not the constant list.
    expect((await countersOfWindow(db.kysely, { windowIndex: 7, least: 9 })).rows).toEqual([
      { bucket: 'c', count: 9 },
    ]);
    expect((await countersOfWindow(db.kysely, { windowIndex: 8, least: 0 })).rows).toEqual([
      { bucket: 'a', count: 3 },
    ]);
  });

  it('keeps one prepared query per key, each built once for this database', async () => {
    const before = keyedBuilds;
    const named = async (...buckets: string[]) =>
      (
        await countersNamed(buckets.length)(
          db.kysely,
          Object.fromEntries(buckets.map((bucket, i) => [`b${i}`, bucket])),
        )
      ).rows.map((row) => row.bucket);
    expect(await named('b')).toEqual(['b']);
    expect(await named('c', 'd')).toEqual(['c', 'd']);
    expect(await named('d', 'x')).toEqual(['d']);
    expect(await named('c')).toEqual(['c']);
    // Two lengths, each built on its first use: the second database counts its own, once each.
    expect(keyedBuilds - before).toBe(dialect === dialects[0] ? 2 : 0);
  });

  it('runs in a transaction, row lock and all (a plain read on SQLite)', async () => {
    const found = await db.kysely
      .transaction()
      .execute(async (trx) => (await lockedCounter(trx, { bucket: 'b' })).rows);
    expect(found).toEqual([{ count: 5 }]);
  });
});

describe('prepared queries on both databases', () => {
  it('builds a query once per database, its transactions included, in that database SQL', async () => {
    const first = await freshDatabase('sqlite');
    const second = await freshDatabase('postgres');
    const before = builds;
    for (const [i, db] of [first, second, first, second].entries()) {
      await insertCounter(db.kysely, { bucket: `x${i}`, window_index: 1, count: i, window_end_ms: 1 });
      await db.kysely.transaction().execute(async (trx) => {
        await insertCounter(trx, { bucket: `y${i}`, window_index: 1, count: i, window_end_ms: 1 });
      });
    }
    // Compiled on its first use by each database; run eight times.
    expect(builds - before).toBe(2);
    const counted = await second.kysely
      .selectFrom('rate_limit_counters')
      .select('bucket')
      .orderBy('bucket')
      .execute();
    expect(counted.map((row) => row.bucket)).toEqual(['x1', 'x3', 'y1', 'y3']);
  });
});
