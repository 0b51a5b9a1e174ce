import type { DirectoryTraceRecord } from '../directories/directory-trace.js';

/*
 * The connector trace of pass-through sign-ins, written in batches. Every synced user's sign-in
 * and self change binds to the directory to check a password, and each bind is traced; one
 * insert (one commit on SQLite) per bind was a large share of a written-back change's database
 * time. These records say what the directory answered to a check that changes nothing, so they
 * may wait a moment: they are written together at most `delayMs` later (or as soon as `maxBatch`
 * are waiting), and every reader of the trace in this process flushes first. A process that dies
 * loses at most the last `delayMs` of them. Directory writes are traced at once, never here: the
 * trace of a password modification is the evidence that it happened exactly once.
 */

export interface TraceWriter {
  /** Queues records for the next batch; returns at once. */
  add(records: readonly DirectoryTraceRecord[]): void;
  /** Writes everything queued so far, and waits for every earlier batch to be written. */
  flush(): Promise<void>;
}

export interface TraceWriterOptions {
  /** Writes one batch (one insert, with its event-log entries). */
  readonly write: (records: readonly DirectoryTraceRecord[]) => Promise<void>;
  /** Told of a batch that could not be written; the records are dropped (they are a trace only). */
  readonly onError: (error: unknown, records: number) => void;
  readonly delayMs?: number;
  readonly maxBatch?: number;
}

/** A writer that batches trace records: see the comment at the top of this file. */
export function createTraceWriter(options: TraceWriterOptions): TraceWriter {
  const delayMs = options.delayMs ?? 100;
  const maxBatch = options.maxBatch ?? 200;
  let pending: DirectoryTraceRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  // Batches are written one after another, in the order they were queued.
  let written: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    const batch = pending;
    pending = [];
    if (batch.length > 0) {
      written = written.then(() =>
        options.write(batch).catch((error: unknown) => options.onError(error, batch.length)),
      );
    }
    return written;
  }

  return {
    add(records) {
      if (records.length === 0) return;
      pending.push(...records);
      if (pending.length >= maxBatch) {
        void flush();
      } else if (!timer) {
        timer = setTimeout(() => void flush(), delayMs);
        timer.unref();
      }
    },
    flush,
  };
}
