import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';

/*
 * Two `rekey worker` processes (real OS processes, each with its own connection pool) over one
 * PostgreSQL and a few hundred due operations: they claim with FOR UPDATE SKIP LOCKED and a
 * conditional UPDATE, so every operation runs exactly once: one success audit row, one history
 * entry, one attempt, one `succeeded` entry in its history. Then both stop on SIGTERM and exit 0.
 */

const operationCount = 300;
const oldPassword = 'Orchid-Valley-15!';

interface Worker {
  readonly child: ChildProcess;
  output: string;
}

/** Starts `rekey worker` from the sources, as a separate process, on the harness's database. */
function startWorker(rekey: TestRekey): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker', '--concurrency', '4'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      REKEY_DATABASE_URL: rekey.config.databaseUrl,
      // The same data directory, so the same secret key opens the sealed passwords.
      REKEY_DATA_DIR: rekey.dataDir,
      REKEY_ARGON2_MEMORY_KIB: '1024',
      REKEY_ARGON2_ITERATIONS: '1',
      REKEY_LOG_LEVEL: 'warn',
      UV_THREADPOOL_SIZE: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: Worker = { child, output: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    worker.output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    worker.output += chunk.toString('utf8');
  });
  return worker;
}

/** Sends SIGTERM and resolves with the exit code (SIGKILL after 15 s, which fails the test). */
async function stopWorker(worker: Worker): Promise<number | null> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return worker.child.exitCode;
  const exited = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

describe('two rekey worker processes over one PostgreSQL', () => {
  let rekey: TestRekey;
  const workers: Worker[] = [];
  beforeAll(async () => {
    // The test's own Rekey runs no worker: only the two processes run operations.
    rekey = await startTestRekey('postgres', { env: { REKEY_RUN_WORKER: 'false' } });
  });
  afterAll(async () => {
    for (const worker of workers) await stopWorker(worker);
    await rekey?.close();
  });

  it('run a few hundred due operations, each exactly once, and stop gracefully on SIGTERM', async () => {
    const users: Array<{ id: string; correlationId: string; operationId: string }> = [];
    for (let i = 0; i < operationCount; i += 1) {
      const user = await rekey.createUser(`fleet.${i}`, oldPassword);
      users.push({ id: user.id, correlationId: `fleet-${i}-${randomUUID()}`, operationId: randomUUID() });
    }
    // Accepted as the service accepts a reset (the outbox), with no worker running anywhere.
    const now = new Date().toISOString();
    await rekey.db.kysely.transaction().execute(async (trx) => {
      for (const [i, user] of users.entries()) {
        await rekey.operations.accept(
          trx,
          {
            id: user.operationId,
            tenant_id: rekey.tenant.id,
            user_id: user.id,
            kind: 'adminReset',
            requested_by_user_id: null,
            requested_by_app_id: null,
            correlation_id: user.correlationId,
            idempotency_key: null,
            idempotency_fingerprint: null,
            force_change: 0,
            created_at: now,
          },
          `Fleet-Password-${i}-Quill!`,
        );
      }
    });

    workers.push(startWorker(rekey), startWorker(rekey));
    const pending = async () =>
      Number(
        (
          await rekey.db.kysely
            .selectFrom('password_operations')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('state', '<>', 'succeeded')
            .executeTakeFirstOrThrow()
        ).n,
      );
    const giveUpAt = Date.now() + 120_000;
    while ((await pending()) > 0 && Date.now() < giveUpAt) {
      for (const worker of workers) {
        if (worker.child.exitCode !== null)
          throw new Error(`a worker exited:\n${worker.output.slice(-4000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await pending(), workers.map((w) => w.output).join('\n')).toBe(0);

    // Both stop on SIGTERM and exit 0 (nothing was in flight any more).
    expect(await Promise.all(workers.map(stopWorker))).toEqual([0, 0]);
    for (const worker of workers)
      expect(worker.output).toMatch(/Rekey worker running up to 4 operations at once/);

    const operations = await rekey.db.kysely
      .selectFrom('password_operations')
      .select(['id', 'attempts', 'state', 'secret_ciphertext'])
      .execute();
    expect(operations).toHaveLength(operationCount);
    expect(operations.filter((o) => o.attempts !== 1 || o.secret_ciphertext !== null)).toEqual([]);

    const succeededEvents = await rekey.db.kysely
      .selectFrom('password_operation_events')
      .select(['operation_id', (eb) => eb.fn.countAll().as('n')])
      .where('state', '=', 'succeeded')
      .groupBy('operation_id')
      .execute();
    expect(succeededEvents).toHaveLength(operationCount);
    expect(succeededEvents.filter((e) => Number(e.n) !== 1)).toEqual([]);

    // One success audit row per operation, under its correlation ID.
    const audits = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['correlation_id', (eb) => eb.fn.countAll().as('n')])
      .where('correlation_id', 'like', 'fleet-%')
      .where('result', '=', 'success')
      .groupBy('correlation_id')
      .execute();
    expect(audits).toHaveLength(operationCount);
    expect(audits.filter((a) => Number(a.n) !== 1)).toEqual([]);

    // One history entry more per user: the first password and the reset.
    const history = await rekey.db.kysely
      .selectFrom('password_history')
      .select(['user_id', (eb) => eb.fn.countAll().as('n')])
      .where(
        'user_id',
        'in',
        users.map((u) => u.id),
      )
      .groupBy('user_id')
      .execute();
    expect(history).toHaveLength(operationCount);
    expect(history.filter((h) => Number(h.n) !== 2)).toEqual([]);

    // And the new password is the one that signs in (a sample, to keep the test short).
    expect(await rekey.signInCode('fleet.7@example.com', 'Fleet-Password-7-Quill!')).toBe(0);
    expect(await rekey.signInCode('fleet.7@example.com', oldPassword)).toBe(50126);
  }, 240_000);
});
