import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { startCheckpointer } from './sqlite-checkpointer.js';

/** Polls `check` every 20 ms until it holds, or fails after `ms`. */
async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const giveUpAt = Date.now() + ms;
  while (!check()) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('background checkpoints of a SQLite file', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempFile = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rekey-checkpoint-'));
    dirs.push(dir);
    return path.join(dir, 'rekey.sqlite');
  };

  it("copies the log into the file from a worker thread, never in the server's commits", async () => {
    const file = tempFile();
    const db = openDatabase(`sqlite:${file}`, { backgroundCheckpoints: true });
    // A second connection, to look at the log as SQLite sees it.
    const probe = new SQLite(file);
    try {
      await db.kysely.schema.createTable('t').addColumn('v', 'text').execute();
      // Well past the 1,000 pages at which the committing connection would checkpoint itself.
      const row = 'x'.repeat(4000);
      for (let i = 0; i < 60; i += 1) {
        await db.kysely
          .insertInto('t' as never)
          .values(Array.from({ length: 50 }, () => ({ v: row })) as never)
          .execute();
      }
      // The server's connection leaves checkpoints alone...
      const setting = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db.kysely);
      expect(setting.rows).toEqual([{ wal_autocheckpoint: 0 }]);
      // ...and the worker copies the log into the file.
      await eventually(() => statSync(file).size > 3000 * 4000, 10_000, 'the checkpoint worker');
      expect(probe.prepare('select count(*) as n from t').get()).toEqual({ n: 3000 });
    } finally {
      probe.close();
      await db.close();
    }
    // Closed cleanly: the log was folded in and removed by the last connection to close.
    expect(() => statSync(`${file}-wal`)).toThrow();
  });

  it('closes in a process with nothing else to do, and that process goes on after the close', async () => {
    const file = tempFile();
    const script = path.join(path.dirname(file), 'close.mts');
    const database = path.resolve('src/platform/db/database.ts');
    writeFileSync(
      script,
      [
        `import { openDatabase } from ${JSON.stringify(database)};`,
        `const db = openDatabase(${JSON.stringify(`sqlite:${file}`)}, { backgroundCheckpoints: true });`,
        "await db.kysely.schema.createTable('t').addColumn('v', 'text').execute();",
        'await db.close();',
        "process.stdout.write('closed');",
      ].join('\n'),
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('closed');
    expect(child.status).toBe(0);
  });

  it("goes back to SQLite's own checkpoints when the worker cannot run", async () => {
    const file = tempFile();
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    const reasons: string[] = [];
    // A file the worker cannot open: its connection fails at once.
    const checkpointer = startCheckpointer(sqlite, path.join(path.dirname(file), 'missing.sqlite'), {
      onFallback: (reason) => reasons.push(reason),
    });
    try {
      await eventually(() => reasons.length > 0, 10_000, 'the fallback');
      expect(reasons[0]).toMatch(/checkpoint/);
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    } finally {
      await checkpointer.stop();
      sqlite.close();
    }
  });
});
