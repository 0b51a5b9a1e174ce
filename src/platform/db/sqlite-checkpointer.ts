import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/*
 * SQLite in WAL mode copies the log back into the database file at checkpoints. By default the
 * connection that commits runs one whenever the log passes 1,000 pages, inside that commit: the
 * copy and its two fsyncs (synchronous = NORMAL syncs at checkpoints, not at commits) then block
 * Node's one thread, and the request that happened to commit waits 10-30 ms, with every other
 * request behind it. In a server that writes on every password change, that was the largest
 * single cost of a change (the writeback bench: about a millisecond and a half a change).
 *
 * A server's connection therefore turns automatic checkpoints off and a worker thread, with its
 * own connection to the same file, runs a PASSIVE checkpoint every `intervalMs`: PASSIVE never
 * waits for readers or writers, so the server's commits go on while it copies and syncs. Once a
 * checkpoint has copied the whole log, the next commit starts the log again from its beginning,
 * so it does not grow under a steady load.
 *
 * If the worker cannot run (it fails to start, or a checkpoint fails), the connection goes back
 * to SQLite's automatic checkpoints: slower, never unsafe.
 */

/** The worker's code, run with `eval`: plain CommonJS, the driver's path given in workerData. */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
let timer;
function tick() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ failed: String((error && error.message) || error) });
    return;
  }
  timer = setTimeout(tick, workerData.intervalMs);
}
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
tick();
`;

export interface Checkpointer {
  /** Stops the worker and closes its connection (before the server's own connection closes). */
  stop(): Promise<void>;
}

/**
 * Moves `sqlite`'s checkpoints (a WAL-mode connection to `file`) to a worker thread, as the
 * comment at the top of this file says. `onFallback` is told why, if the connection had to go
 * back to automatic checkpoints.
 */
export function startCheckpointer(
  sqlite: SQLite.Database,
  file: string,
  options: { readonly intervalMs?: number; readonly onFallback?: (reason: string) => void } = {},
): Checkpointer {
  let fellBack = false;
  const fallBack = (reason: string) => {
    if (fellBack) return;
    fellBack = true;
    if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
    options.onFallback?.(reason);
  };
  let worker: Worker;
  try {
    worker = new Worker(workerSource, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        file,
        intervalMs: options.intervalMs ?? 250,
      },
    });
  } catch (error) {
    fallBack(`the checkpoint worker did not start: ${String(error)}`);
    return { stop: async () => {} };
  }
  sqlite.pragma('wal_autocheckpoint = 0');
  // The process may end without stopping it (a CLI command that exits): it holds nothing open then.
  worker.unref();
  let stopping = false;
  worker.on('message', (message: { failed?: string }) => {
    if (message.failed !== undefined) fallBack(`a checkpoint failed: ${message.failed}`);
  });
  worker.on('error', (error) => fallBack(`the checkpoint worker failed: ${error.message}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('exit', () => {
    if (!stopping) fallBack('the checkpoint worker stopped');
  });
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      // Waited for, so held: an unref'd worker does not keep the process alive, and a process with
      // nothing else to do would end here, before its connection closed.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
