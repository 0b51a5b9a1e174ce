import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/cli.js';
import type { DialectName } from '../../src/platform/db/database.js';
import { startTestRekey, type TestRekey } from './rekey-harness.js';

/** What one run of the CLI gave: its exit code and everything it wrote, lines joined. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `rekey <args>` in-process with `env` as its whole environment and captures its output. */
export async function runRekeyCli(env: Record<string, string>, args: readonly string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['node', 'rekey', ...args], {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A harness Rekey the CLI can open on its own connection, with the environment that points it there. */
export interface CliTestRekey {
  readonly rekey: TestRekey;
  /** The CLI's whole environment: the harness's database and data dir, cheap argon2id, quiet logs. */
  readonly env: Record<string, string>;
  /** A scratch directory (it holds the SQLite file); removed by close. */
  readonly dir: string;
  /** Closes the Rekey and removes the scratch directory. */
  close(): Promise<void>;
}

/**
 * Starts a harness Rekey on `dialect` for CLI tests. The CLI opens the database on its own
 * connection, so on SQLite the database is a file in a scratch directory (named by `prefix`) rather
 * than :memory:.
 */
export async function startCliTestRekey(dialect: DialectName, prefix = 'rekey-cli-'): Promise<CliTestRekey> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let rekey: TestRekey;
  try {
    rekey = await startTestRekey(
      dialect,
      dialect === 'sqlite' ? { env: { REKEY_DATABASE_URL: `sqlite:${path.join(dir, 'rekey.sqlite')}` } } : {},
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const env = {
    REKEY_DATABASE_URL: rekey.config.databaseUrl,
    REKEY_DATA_DIR: rekey.dataDir,
    REKEY_ARGON2_MEMORY_KIB: '1024',
    REKEY_ARGON2_ITERATIONS: '1',
    REKEY_LOG_LEVEL: 'error',
  };
  return {
    rekey,
    env,
    dir,
    async close() {
      await rekey.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
