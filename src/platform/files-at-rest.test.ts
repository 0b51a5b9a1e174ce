import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey } from '../../test/support/rekey-harness.js';
import { migrateToLatest, openDatabase } from './db/database.js';
import { findLoosePaths, pathsAtRest } from './files-at-rest.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('files at rest', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'rekey-at-rest-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('creates the SQLite directory 0700 and the database, its WAL and SHM files 0600', async () => {
    const dir = path.join(scratch, 'new', 'data');
    const file = path.join(dir, 'rekey.sqlite');
    const db = openDatabase(`sqlite:${file}`);
    try {
      await migrateToLatest(db);
      // Migrating writes through the WAL, with the SHM index beside it; both exist while it is open.
      for (const written of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(written), written).toBe(true);
        expect(modeOf(written), written).toBe(0o600);
      }
      expect(modeOf(dir)).toBe(0o700);
      expect(modeOf(path.dirname(dir))).toBe(0o700);
      expect(findLoosePaths(pathsAtRest(dir, `sqlite:${file}`))).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('leaves an existing directory as it is, and names it among the loose paths when others can enter it', async () => {
    const dir = path.join(scratch, 'existing');
    const file = path.join(dir, 'rekey.sqlite');
    await openDatabase(`sqlite:${file}`).close();
    // As an older Rekey (or a hand-made directory) would have left them.
    chmodSync(dir, 0o755);
    chmodSync(file, 0o644);
    await openDatabase(`sqlite:${file}`).close();
    expect(modeOf(dir)).toBe(0o755);
    // The WAL, where SQLite left one, took the file's mode and is named too.
    expect(findLoosePaths(pathsAtRest(dir, `sqlite:${file}`))).toEqual(
      expect.arrayContaining([
        { path: dir, mode: 0o755, isDirectory: true },
        { path: file, mode: 0o644, isDirectory: false },
      ]),
    );
  });
});

describe.each(dialects)('the start-up warning about loose files on %s', (dialect) => {
  it('warns when the data directory lets other accounts in, and not when it is private', async () => {
    const loose = await startTestRekey(dialect, {
      beforeStart: (dataDir) => {
        chmodSync(dataDir, 0o755);
        return {};
      },
    });
    const tight = await startTestRekey(dialect);
    try {
      const warnings = (lines: readonly string[]) =>
        lines
          .map((line) => JSON.parse(line) as { level: number; msg: string; loosePaths?: unknown })
          .filter((line) => line.level === 40 && line.loosePaths !== undefined);
      const [warning] = warnings(loose.logLines);
      expect(warning?.msg).toContain(`${loose.dataDir} has mode 0755: run chmod 700 ${loose.dataDir}`);
      expect(warning?.loosePaths).toEqual([{ path: loose.dataDir, mode: '755' }]);
      expect(modeOf(tight.dataDir)).toBe(0o700);
      expect(warnings(tight.logLines)).toEqual([]);
    } finally {
      await loose.close();
      await tight.close();
    }
  });
});
