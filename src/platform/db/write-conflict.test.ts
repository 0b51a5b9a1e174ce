import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, dialects } from '../../../test/support/databases.js';
import { type Db, openDatabase } from './database.js';
import { isWriteConflict, WriteConflictError } from './write-conflict.js';

/** A scratch table of the test's own: the translation is the database layer's, not a store's. */
interface Scratch {
  counters: { id: number; value: number; label: string | null };
}

function scratch(db: Db): Kysely<Scratch> {
  return db.kysely as unknown as Kysely<Scratch>;
}

/** The error `run` rejects with (the test fails if it resolves). */
async function failureOf(run: Promise<unknown>): Promise<unknown> {
  try {
    await run;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** A latch: `open()` lets every `wait()` through. */
function latch(): { open: () => void; wait: Promise<void> } {
  let open: () => void = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, wait };
}

describe.each(dialects)('write conflicts on %s', (dialect) => {
  let dir: string;
  let url: string;
  /** Two handles on one database: two connections, as two Rekey processes would have. */
  let first: Db;
  let second: Db;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rekey-conflict-'));
    // A file, not :memory:, so that the second handle is a second connection to the same data.
    url =
      dialect === 'sqlite' ? `sqlite:${path.join(dir, 'conflict.sqlite')}` : await createPostgresDatabase();
    first = openDatabase(url);
    second = openDatabase(url);
    await sql`create table counters (id integer primary key, value integer not null, label varchar(20) unique)`.execute(
      first.kysely,
    );
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function resetRows(): Promise<void> {
    await scratch(first).deleteFrom('counters').execute();
    await scratch(first)
      .insertInto('counters')
      .values([
        { id: 1, value: 0, label: 'one' },
        { id: 2, value: 0, label: 'two' },
      ])
      .execute();
  }

  it('turns a duplicate primary key into a uniqueViolation that keeps the driver error as its cause', async () => {
    await resetRows();
    const error = await failureOf(
      scratch(first).insertInto('counters').values({ id: 1, value: 5, label: null }).execute(),
    );
    expect(error).toBeInstanceOf(WriteConflictError);
    expect(isWriteConflict(error, 'uniqueViolation')).toBe(true);
    expect(isWriteConflict(error, 'serializationFailure')).toBe(false);
    const conflict = error as WriteConflictError;
    expect(conflict.constraint).toBe(dialect === 'sqlite' ? 'counters.id' : 'counters_pkey');
    expect((conflict.cause as { code?: string }).code).toBe(
      dialect === 'sqlite' ? 'SQLITE_CONSTRAINT_PRIMARYKEY' : '23505',
    );
  });

  it('turns a duplicate in a unique index, inside a transaction, into a uniqueViolation', async () => {
    await resetRows();
    const error = await failureOf(
      first.kysely.transaction().execute(async (trx) => {
        await (trx as unknown as Kysely<Scratch>)
          .updateTable('counters')
          .set({ label: 'one' })
          .where('id', '=', 2)
          .execute();
      }),
    );
    expect(isWriteConflict(error, 'uniqueViolation')).toBe(true);
    expect((error as WriteConflictError).constraint).toBe(
      dialect === 'sqlite' ? 'counters.label' : 'counters_label_key',
    );
    // The transaction rolled back as usual.
    expect(
      await scratch(first).selectFrom('counters').select('label').where('id', '=', 2).executeTakeFirst(),
    ).toEqual({
      label: 'two',
    });
  });

  it('leaves other errors as the driver threw them', async () => {
    const error = await failureOf(
      sql`insert into counters (id, value) values (${9}, ${null})`.execute(first.kysely),
    );
    expect(error).not.toBeInstanceOf(WriteConflictError);
    expect((error as { code?: string }).code).toBe(
      dialect === 'sqlite' ? 'SQLITE_CONSTRAINT_NOTNULL' : '23502',
    );
  });

  it('turns a write over a stale read into a serializationFailure', async () => {
    await resetRows();
    const readDone = latch();
    const otherWrote = latch();
    // PostgreSQL's default (read committed) would just wait and write over the other's value;
    // repeatable read is where it refuses. SQLite's transactions are always serializable.
    const transaction =
      dialect === 'postgres'
        ? first.kysely.transaction().setIsolationLevel('repeatable read')
        : first.kysely.transaction();
    const loser = transaction.execute(async (trx) => {
      const tx = trx as unknown as Kysely<Scratch>;
      // The read pins this transaction's snapshot (SQLite: the WAL read mark).
      await tx.selectFrom('counters').select('value').where('id', '=', 1).executeTakeFirstOrThrow();
      readDone.open();
      await otherWrote.wait;
      await tx.updateTable('counters').set({ value: 1 }).where('id', '=', 1).execute();
    });
    await readDone.wait;
    await scratch(second).updateTable('counters').set({ value: 2 }).where('id', '=', 1).execute();
    otherWrote.open();
    const error = await failureOf(loser);
    expect(isWriteConflict(error, 'serializationFailure')).toBe(true);
    expect((error as WriteConflictError).cause).toMatchObject({
      code: dialect === 'sqlite' ? 'SQLITE_BUSY_SNAPSHOT' : '40001',
    });
    expect(
      await scratch(first).selectFrom('counters').select('value').where('id', '=', 1).executeTakeFirst(),
    ).toEqual({ value: 2 });
  });

  it.runIf(dialect === 'postgres')(
    'translates a serialization failure that PostgreSQL reports at COMMIT',
    async () => {
      await resetRows();
      // Write skew: each transaction reads both rows and writes one. Serializable isolation lets
      // the first commit and fails the second at its COMMIT, after all its statements succeeded.
      const bothRead = latch();
      const firstCommitted = latch();
      let secondStatementsDone = false;
      const readBoth = (trx: Kysely<Scratch>) =>
        trx.selectFrom('counters').select(['id', 'value']).orderBy('id').execute();
      const winner = first.kysely
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          const tx = trx as unknown as Kysely<Scratch>;
          await readBoth(tx);
          await bothRead.wait;
          await tx.updateTable('counters').set({ value: 1 }).where('id', '=', 1).execute();
        })
        .then(() => firstCommitted.open());
      const loser = second.kysely
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          const tx = trx as unknown as Kysely<Scratch>;
          await readBoth(tx);
          bothRead.open();
          await tx.updateTable('counters').set({ value: 1 }).where('id', '=', 2).execute();
          await firstCommitted.wait;
          secondStatementsDone = true;
        });
      await winner;
      const error = await failureOf(loser);
      expect(secondStatementsDone).toBe(true);
      expect(isWriteConflict(error, 'serializationFailure')).toBe(true);
      expect((error as WriteConflictError).cause).toMatchObject({ code: '40001' });
    },
  );

  it.runIf(dialect === 'postgres')('turns a deadlock into a deadlock conflict', async () => {
    await resetRows();
    const bothLocked = { first: latch(), second: latch() };
    const lockInOrder = (
      db: Db,
      own: number,
      other: number,
      mine: ReturnType<typeof latch>,
      theirs: Promise<void>,
    ) =>
      db.kysely.transaction().execute(async (trx) => {
        const tx = trx as unknown as Kysely<Scratch>;
        await sql`set local deadlock_timeout = '50ms'`.execute(trx);
        await tx.selectFrom('counters').select('id').where('id', '=', own).forUpdate().execute();
        mine.open();
        await theirs;
        await tx.selectFrom('counters').select('id').where('id', '=', other).forUpdate().execute();
      });
    const outcomes = await Promise.allSettled([
      lockInOrder(first, 1, 2, bothLocked.first, bothLocked.second.wait),
      lockInOrder(second, 2, 1, bothLocked.second, bothLocked.first.wait),
    ]);
    const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(failures).toHaveLength(1);
    const error = (failures[0] as PromiseRejectedResult).reason;
    expect(isWriteConflict(error, 'deadlock')).toBe(true);
    expect((error as WriteConflictError).cause).toMatchObject({ code: '40P01' });
  });
});
