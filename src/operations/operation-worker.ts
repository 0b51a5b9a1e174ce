import type { Logger } from '../platform/log.js';
import type { OperationEngine } from './operation-engine.js';

export interface OperationWorker {
  start(): void;
  /** Asks the worker to look for work now rather than at the next poll. */
  nudge(): void;
  /** Stops polling and waits for the attempt in progress, if any. */
  stop(): Promise<void>;
}

/**
 * Runs due operations in the background: polls the database, and runs sooner when
 * nudged after an insert. Several workers (in several processes) can run over one database; the
 * operation lease decides who runs what.
 */
export function createOperationWorker(
  operations: Pick<OperationEngine, 'runDueOperations'>,
  logger: Logger,
  options: { readonly pollMs?: number } = {},
): OperationWorker {
  const pollMs = options.pollMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let again = false;

  function schedule(delay: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delay);
  }

  function tick(): void {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        // Keep draining while batches come back full.
        while (!stopped && (await operations.runDueOperations(20)) === 20) {}
      } catch (error) {
        logger.error({ err: error }, 'operation worker pass failed; retrying at the next poll');
      } finally {
        running = undefined;
        schedule(again ? 0 : pollMs);
        again = false;
      }
    })();
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
      await running;
    },
  };
}
