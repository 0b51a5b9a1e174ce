import type { Logger } from '../platform/log.js';
import type { StatusService } from './status-service.js';

/*
 * The background loop of the incident rules, beside the worker (`rekey serve` with its worker,
 * `rekey worker`): every interval it asks the status service to evaluate if no other process did
 * within the interval (the claim decides), so the rules run once per interval whatever the
 * number of processes.
 */

export interface StatusEvaluator {
  /** Polls every interval until stopped; the first poll runs at once. */
  start(): void;
  /** Stops polling and waits for an evaluation under way. */
  stop(): Promise<void>;
}

export function createStatusEvaluator(
  status: Pick<StatusService, 'evaluateIfDue'>,
  logger: Logger,
  intervalSeconds: number,
): StatusEvaluator {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  function poll(): void {
    if (stopped) return;
    running = status
      .evaluateIfDue()
      .then(() => undefined)
      .catch((error: unknown) =>
        logger.error({ err: error }, 'incident evaluation failed; retrying at the next interval'),
      )
      .finally(() => {
        running = undefined;
        if (!stopped) {
          timer = setTimeout(poll, intervalSeconds * 1000);
          timer.unref();
        }
      });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      poll();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
