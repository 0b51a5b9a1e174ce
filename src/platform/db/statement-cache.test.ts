import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from './database.js';

describe('the SQLite statement cache', () => {
  it('prepares a statement once and reuses it, evicting the least recently used past capacity', () => {
    const raw = new SQLite(':memory:');
    let prepared = 0;
    const counting = Object.assign(Object.create(raw) as SQLite.Database, {
      prepare: (text: string) => {
        prepared += 1;
        return raw.prepare(text);
      },
    });
    const cached = withStatementCache(counting, 2);
    const a = cached.prepare('select 1 as v');
    expect(cached.prepare('select 1 as v')).toBe(a);
    cached.prepare('select 2 as v');
    cached.prepare('select 1 as v'); // touches a, so `select 2` is now the oldest
    cached.prepare('select 3 as v'); // evicts `select 2`
    expect(cached.prepare('select 1 as v')).toBe(a);
    expect(prepared).toBe(3);
    cached.prepare('select 2 as v');
    expect(prepared).toBe(4);
    cached.close();
  });

  it('gives Kysely the right rows when one statement is reused with other parameters', async () => {
    const db = new Kysely<{ t: { id: number; name: string } }>({
      dialect: new SqliteDialect({ database: withStatementCache(new SQLite(':memory:')) }),
    });
    await sql`create table t (id integer primary key, name text)`.execute(db);
    for (const [id, name] of [
      [1, 'one'],
      [2, 'two'],
    ] as const) {
      await db.insertInto('t').values({ id, name }).execute();
    }
    const byId = (id: number) => db.selectFrom('t').select('name').where('id', '=', id).executeTakeFirst();
    expect(await byId(1)).toEqual({ name: 'one' });
    expect(await byId(2)).toEqual({ name: 'two' });
    expect(await byId(3)).toBeUndefined();
    await db.destroy();
  });
});
