import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type CliRun, runRekeyCli } from '../../test/support/cli-run.js';
import { createPostgresDatabase, dialects } from '../../test/support/databases.js';
import { openDatabase } from '../platform/db/database.js';

const cli = (env: Record<string, string>, ...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

describe('rekey --version', () => {
  it.each(['--version', '-V'])('prints the version from package.json with %s and exits 0', async (flag) => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const run = await cli({}, flag);
    expect(run).toEqual({ code: 0, out: `${manifest.version}\n`, err: '' });
  });
});

describe.each(dialects)('rekey migrate on %s', (dialect) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies the schema once, then reports it up to date', async () => {
    const databaseUrl =
      dialect === 'sqlite'
        ? `sqlite:${path.join(dir, 'nested', 'rekey.sqlite')}`
        : await createPostgresDatabase();
    const env = { REKEY_DATABASE_URL: databaseUrl, REKEY_DATA_DIR: dir };
    const first = await cli(env, 'migrate');
    expect(first).toEqual({
      code: 0,
      out: 'Applied: 0001-initial, 0002-tenant-settings, 0003-lockout-and-logs, 0004-audit-target-order, 0005-idempotency-fingerprint, 0006-refresh-token-families, 0007-rate-limits, 0008-operation-event-codes, 0010-connectors, 0011-synced-users, 0012-connector-operations, 0014-domain-federation, 0015-licenses, 0016-connector-health, 0017-service-incidents, 0018-event-log, 0019-user-licenses-by-user, 0020-captures, 0021-browser-sign-in, 0022-diagnose-indexes, 0023-password-change-indexes',
      err: '',
    });
    const second = await cli(env, 'migrate');
    expect(second).toEqual({ code: 0, out: 'The database schema is up to date.', err: '' });
    const db = openDatabase(databaseUrl);
    try {
      const users = await sql<{ n: number }>`select count(*) as n from users`.execute(db.kysely);
      expect(Number(users.rows[0]?.n)).toBe(0);
    } finally {
      await db.close();
    }
  });
});

describe('rekey migrate failures', () => {
  it('names an unreachable database with 7700202 and no stack trace', async () => {
    const run = await cli(
      { REKEY_DATABASE_URL: 'postgres://rekey:secret@127.0.0.1:1/rekey', REKEY_DATA_DIR: tmpdir() },
      'migrate',
    );
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split('\n')[0]).toBe(
      'error 7700202 DatabaseUnavailable: The database is not reachable or its schema is not up to date.',
    );
    expect(run.err).not.toMatch(/\n\s+at |node_modules|secret/);
  });

  it('lists every bad setting and exits 2 before touching a database', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`process.exit(${String(code)})`);
    });
    try {
      const run = await cli({ REKEY_DATABASE_URL: 'mysql://db/rekey', REKEY_PORT: 'none' }, 'migrate');
      // runCli returns the code; the process itself is left alone.
      expect(run.code).toBe(2);
      expect(exit).not.toHaveBeenCalled();
      expect(run.out).toBe('');
      expect(run.err).toContain('Rekey cannot start; fix these settings:');
      expect(run.err).toContain('REKEY_DATABASE_URL must start with postgres://');
      expect(run.err).toContain('REKEY_PORT=none must be a whole number');
    } finally {
      exit.mockRestore();
    }
  });
});

describe('a command pointed at the wrong database', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-wrong-db-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['users', 'list'],
    ['users', 'get', 'ada@example.com'],
    ['policy', 'show'],
    ['lockout', 'show'],
    ['logs', 'summary'],
  ])('`rekey %s %s` creates no database and names the file it tried', async (...args) => {
    const file = path.join(dir, 'missing', 'rekey.sqlite');
    const run = await cli({ REKEY_DATABASE_URL: `sqlite:${file}`, REKEY_DATA_DIR: dir }, ...args);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split('\n')[0]).toBe(
      `error 7700202 DatabaseUnavailable: There is no database file at ${file}. Check REKEY_DATABASE_URL (and the directory the command runs in): it must name the database \`rekey serve\` uses. Nothing was created.`,
    );
    expect(run.err).toContain('"reason":"the file does not exist"');
    // Never `run rekey migrate` for a file that is not there: that would create an empty one.
    expect(run.err).not.toContain('run `rekey migrate`');
    expect(existsSync(path.join(dir, 'missing'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names a relative SQLite path as the absolute file it tried', async () => {
    const run = await cli(
      { REKEY_DATABASE_URL: 'sqlite:./nowhere-at-all/rekey.sqlite', REKEY_DATA_DIR: dir },
      'users',
      'list',
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain(path.resolve('nowhere-at-all/rekey.sqlite'));
    expect(existsSync(path.resolve('nowhere-at-all'))).toBe(false);
  });

  it('explains an empty file without sending the user to `rekey migrate`', async () => {
    const file = path.join(dir, 'empty.sqlite');
    await openDatabase(`sqlite:${file}`).close();
    try {
      const run = await cli({ REKEY_DATABASE_URL: `sqlite:${file}`, REKEY_DATA_DIR: dir }, 'users', 'list');
      expect(run.code).toBe(1);
      expect(run.err.split('\n')[0]).toBe(
        `error 7700202 DatabaseUnavailable: The database at sqlite:${file} holds no Rekey schema: it is new, or not Rekey's. Check REKEY_DATABASE_URL; it must name the database \`rekey serve\` uses (a first \`rekey serve\` creates the schema, the tenant and its administrator).`,
      );
    } finally {
      rmSync(file, { force: true });
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
    }
  });

  it('explains a migrated database without a tenant by sending the user to `rekey serve`', async () => {
    const file = path.join(dir, 'migrated.sqlite');
    const env = { REKEY_DATABASE_URL: `sqlite:${file}`, REKEY_DATA_DIR: dir };
    expect((await cli(env, 'migrate')).code).toBe(0);
    const run = await cli(env, 'users', 'list');
    expect(run.code).toBe(1);
    expect(run.err.split('\n')[0]).toBe(
      `error 7700202 DatabaseUnavailable: The database at sqlite:${file} has Rekey's schema but no tenant yet. Start Rekey once with \`rekey serve\` on this database: its first start creates the tenant and its administrator.`,
    );
  });

  it('names an unreachable PostgreSQL server, without its password, and the reason', async () => {
    const run = await cli(
      { REKEY_DATABASE_URL: 'postgres://rekey:secret@127.0.0.1:1/rekey', REKEY_DATA_DIR: dir },
      'users',
      'list',
    );
    expect(run.code).toBe(1);
    expect(run.err.split('\n')[0]).toMatch(
      /^error 7700202 DatabaseUnavailable: Cannot use the database at postgres:\/\/rekey:\*\*\*@127\.0\.0\.1:1\/rekey: .*ECONNREFUSED/,
    );
    expect(run.err).not.toMatch(/secret|\n\s+at /);
  });

  it('names the database and the reason when `rekey migrate` cannot reach it', async () => {
    const run = await cli(
      { REKEY_DATABASE_URL: 'postgres://rekey:secret@127.0.0.1:1/rekey', REKEY_DATA_DIR: dir },
      'migrate',
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain('"database":"postgres://rekey:***@127.0.0.1:1/rekey"');
    expect(run.err).toMatch(/"reason":"[^"]*ECONNREFUSED/);
  });

  it('names a file that is not a database, and the reason', async () => {
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'these are not the tables you are looking for\n'.repeat(200));
    try {
      const run = await cli({ REKEY_DATABASE_URL: `sqlite:${file}`, REKEY_DATA_DIR: dir }, 'users', 'list');
      expect(run.code).toBe(1);
      expect(run.err.split('\n')[0]).toBe(
        `error 7700202 DatabaseUnavailable: Cannot use the database at sqlite:${file}: file is not a database.`,
      );
    } finally {
      rmSync(file, { force: true });
    }
  });
});
