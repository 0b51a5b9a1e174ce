import { type ChildProcess, spawn } from 'node:child_process';
import type { TestRekey } from './rekey-harness.js';

/*
 * `rekey worker` as a process of its own, for the tests that kill one (SIGKILL at a fault point)
 * and prove the next finishes the work exactly once.
 */

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: string;
}

/** Starts `rekey worker` from the sources, as its own process, on `rekey`'s database. */
export function startWorker(rekey: TestRekey, extraEnv: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker', '--concurrency', '1'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      REKEY_DATABASE_URL: rekey.config.databaseUrl,
      // The same data directory: the same secret key opens the sealed passwords and bind password.
      REKEY_DATA_DIR: rekey.dataDir,
      REKEY_ARGON2_MEMORY_KIB: '1024',
      REKEY_ARGON2_ITERATIONS: '1',
      REKEY_LOG_LEVEL: 'warn',
      REKEY_OPERATION_LEASE: '5',
      UV_THREADPOOL_SIZE: '2',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const worker: WorkerProcess = { child, exited, output: '' };
  const keep = (chunk: Buffer) => {
    worker.output += chunk.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return worker;
}

/** Stops a worker still running (SIGTERM, then SIGKILL after 15 s). */
export async function stopWorker(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 15_000);
  await worker.exited;
  clearTimeout(timer);
}

/** Resolves with `promise`, or fails after `ms` saying what was awaited. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
