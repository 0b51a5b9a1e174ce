import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.js';
import { answerSignInsAsEntra, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { signInOverHttp, tally } from './lockout.test-support.js';
import { findLockoutState } from './lockout-store.js';

/*
 * Two separate `rekey serve` processes (real OS processes, each with its own connection pool) over
 * one PostgreSQL: the counters are in the database and updated by compare-and-set, so together
 * the two servers lock at exactly the threshold as one does.
 */

const threshold = 10;
const attempts = 200;
const rightPassword = 'Copper-Meadow-71!';

interface Server {
  readonly baseUrl: string;
  readonly child: ChildProcess;
  output: string;
}

async function waitUntilReady(server: Server, timeoutMs: number): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (Date.now() < giveUpAt) {
    if (server.child.exitCode !== null) break;
    try {
      const response = await fetch(`${server.baseUrl}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`rekey serve at ${server.baseUrl} did not start:\n${server.output.slice(-4000)}`);
}

/** Starts `rekey serve --no-worker` from the sources, as a separate process, on the harness's database. */
async function startServer(rekey: TestRekey): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--no-worker'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      REKEY_DATABASE_URL: rekey.config.databaseUrl,
      // The same data directory, so the same secret key (the fingerprint key derives from it).
      REKEY_DATA_DIR: rekey.dataDir,
      REKEY_HOST: '127.0.0.1',
      REKEY_PORT: String(port),
      REKEY_ARGON2_MEMORY_KIB: '1024',
      REKEY_ARGON2_ITERATIONS: '1',
      REKEY_LOG_LEVEL: 'warn',
      UV_THREADPOOL_SIZE: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: Server = { baseUrl: `http://127.0.0.1:${port}`, child, output: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    server.output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    server.output += chunk.toString('utf8');
  });
  await waitUntilReady(server, 30_000);
  return server;
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

describe('smart lockout across two server processes on one PostgreSQL', () => {
  let rekey: TestRekey;
  const servers: Server[] = [];

  beforeAll(async () => {
    rekey = await startTestRekey('postgres');
    // The tally reads the lock from the answers (50053), as Entra gives it; both servers read the
    // setting from the shared database.
    await answerSignInsAsEntra(rekey);
    const started = await Promise.allSettled([startServer(rekey), startServer(rekey)]);
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }, 90_000);
  afterAll(async () => {
    await Promise.all(servers.map(stopServer));
    await rekey?.close();
  });

  it(`locks at exactly the threshold when ${attempts} wrong passwords are split between the two servers`, async () => {
    const [first, second] = servers;
    if (!first || !second) throw new Error('both servers must be running');
    const user = await rekey.createUser('two.process.target', rightPassword);
    const codes = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        signInOverHttp(
          (i % 2 === 0 ? first : second).baseUrl,
          user.userPrincipalName,
          `Split-Guess-${i}-Kp!`,
        ),
      ),
    );
    expect(tally(codes)).toEqual({ 50126: threshold - 1, 50053: attempts - (threshold - 1) });
    // Both servers refuse the right password while locked.
    expect(await signInOverHttp(first.baseUrl, user.userPrincipalName, rightPassword)).toBe(50053);
    expect(await signInOverHttp(second.baseUrl, user.userPrincipalName, rightPassword)).toBe(50053);
    expect(await findLockoutState(rekey.db.kysely, user.id, 'unfamiliar')).toMatchObject({
      failure_count: threshold,
      lockout_count: 1,
    });

    // A repeated wrong password sent to both servers is counted once between them.
    const other = await rekey.createUser('two.process.repeat', rightPassword);
    const repeated = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        signInOverHttp(
          (i % 2 === 0 ? first : second).baseUrl,
          other.userPrincipalName,
          'Same-Wrong-Guess-1!',
        ),
      ),
    );
    expect(tally(repeated)).toEqual({ 50126: 40 });
    expect(await findLockoutState(rekey.db.kysely, other.id, 'unfamiliar')).toMatchObject({
      failure_count: 1,
      lockout_count: 0,
    });
  });
});
