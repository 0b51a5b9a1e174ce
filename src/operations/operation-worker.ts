import type { Logger } from '../platform/log.js';
import type { ClaimedOperation, OperationEngine } from './operation-engine.js';

export interface OperationWorker {
  start(): void;
  /** Asks the worker to look for work now rather than at the next poll. */
  nudge(): void;
  /**
   * Stops claiming and waits for the attempts in progress to end. Each attempt ends with a
   * checkpoint or a scheduled retry, so nothing is left half done; a process killed instead
   * leaves its leases to lapse, and another worker takes the operations over.
   */
  stop(): Promise<void>;
  /** How many attempts run now. */
  running(): number;
  /** How many attempts this worker has started since it was created. */
  attempted(): number;
}

export interface OperationWorkerOptions {
  /** How often to look for due work when nothing nudges (ms; 1000 unless given). */
  readonly pollMs?: number;
  /** How many operations run at once (1 unless given): a slow one never holds up the others. */
  readonly concurrency?: number;
}

/**
 * Runs due operations in the background, up to `concurrency` at once: polls the database, and
 * claims sooner when nudged after an insert or when an attempt ends. Several workers (in several
 * processes) can run over one database; the operation lease decides who runs what, and on
 * PostgreSQL the claim skips rows another worker is claiming.
 */
export function createOperationWorker(
  operations: Pick<OperationEngine, 'claimDueOperations' | 'runClaimed'>,
  logger: Logger,
  options: OperationWorkerOptions = {},
): OperationWorker {
  const pollMs = options.pollMs ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let claiming: Promise<void> | undefined;
  let stopped = true;
  let again = false;
  let started = 0;

  function schedule(delay: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delay);
  }

  function launch(claimed: ClaimedOperation): void {
    started += 1;
    const attempt = operations
      .runClaimed(claimed)
      .catch((error: unknown) =>
        logger.error({ err: error, operationId: claimed.row.id }, 'operation attempt failed'),
      )
      .finally(() => {
        inFlight.delete(attempt);
        // A slot is free: look for more work at once.
        schedule(0);
      });
    inFlight.add(attempt);
  }

  function tick(): void {
    if (claiming) {
      again = true;
      return;
    }
    claiming = claim();
  }

  async function claim(): Promise<void> {
    // Yield first, so `claiming` is set before this pass can end and clear it.
    await Promise.resolve();
    let full = false;
    try {
      const free = concurrency - inFlight.size;
      if (free > 0 && !stopped) {
        const claimed = await operations.claimDueOperations(free);
        for (const c of claimed) launch(c);
        full = claimed.length === free;
      }
    } catch (error) {
      logger.error({ err: error }, 'operation worker pass failed; retrying at the next poll');
    } finally {
      claiming = undefined;
      // More may be due when the batch came back full, or when nudged meanwhile.
      schedule(again || (full && inFlight.size < concurrency) ? 0 : pollMs);
      again = false;
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    nudge() {
      if (!stopped) schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await claiming;
      await Promise.all([...inFlight]);
    },
    running: () => inFlight.size,
    attempted: () => started,
  };
}
