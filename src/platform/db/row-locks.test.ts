import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freshDatabaseUrl } from '../../../test/support/databases.js';
import { type Db, openDatabase } from './database.js';

interface Scratch {
  items: { id: number; name: string };
}

describe.each(dialects)('row locks on %s', (dialect) => {
  let db: Db;
  let items: Kysely<Scratch>;
  beforeAll(async () => {
    db = openDatabase(await freshDatabaseUrl(dialect));
    items = db.kysely as unknown as Kysely<Scratch>;
    await sql`create table items (id integer primary key, name varchar(20) not null)`.execute(db.kysely);
    await items
      .insertInto('items')
      .values([
        { id: 1, name: 'one' },
        { id: 2, name: 'two' },
      ])
      .execute();
  });
  afterAll(async () => db?.close());

  it('lets a store write FOR UPDATE once: PostgreSQL locks, SQLite (which has no row locks) reads', async () => {
    const locking = items.selectFrom('items').select('name').where('id', '=', 1).forUpdate().skipLocked();
    const text = locking.compile().sql.toLowerCase();
    if (dialect === 'postgres') expect(text).toContain('for update skip locked');
    else expect(text).not.toContain('for update');
    const found = await db.kysely
      .transaction()
      .execute(async (trx) =>
        (trx as unknown as Kysely<Scratch>)
          .selectFrom('items')
          .select('name')
          .where('id', '=', 1)
          .forUpdate()
          .executeTakeFirst(),
      );
    expect(found).toEqual({ name: 'one' });
  });

  it.runIf(dialect === 'postgres')('holds the row locked until the transaction ends', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = db.kysely.transaction().execute(async (trx) => {
      await (trx as unknown as Kysely<Scratch>)
        .selectFrom('items')
        .select('id')
        .where('id', '=', 2)
        .forUpdate()
        .execute();
      locked();
      await held;
    });
    await isLocked;
    const skipped = await items
      .transaction()
      .execute((trx) =>
        trx.selectFrom('items').select('id').where('id', 'in', [1, 2]).forUpdate().skipLocked().execute(),
      );
    expect(skipped).toEqual([{ id: 1 }]);
    release();
    await holder;
  });
});
