import { randomUUID } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import type { ConnectorService } from './connector-service.js';

/*
 * The scheduled sync: every poll, the connectors whose `syncIntervalSeconds` has passed since
 * their last sync are claimed and synced, one after another, as Rekey itself (no actor; the
 * audit row names the application). The claim moves `last_sync_at` forward first, so two
 * processes over one database (two `rekey serve`) never run one connector's sync twice; a sync
 * that fails waits for the next interval like one that succeeded (its report says why).
 */

export interface SyncScheduler {
  /** Polls every `pollIntervalMs` until stopped; the first poll runs at once. */
  start(): void;
  /** Stops polling and waits for a sync under way to end. */
  stop(): Promise<void>;
  /** One poll: syncs every due connector now and returns how many it ran. For tests and `start`. */
  runDue(): Promise<number>;
}

export interface SyncSchedulerDeps {
  readonly connectors: Pick<ConnectorService, 'listDueForSync' | 'claimScheduledSync' | 'sync'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often to look for due syncs (default 30 s; intervals are at least 60 s). */
  readonly pollIntervalMs?: number;
}

/** Creates the scheduler `rekey serve` starts beside its worker. */
export function createSyncScheduler(deps: SyncSchedulerDeps): SyncScheduler {
  const { connectors, clock, logger } = deps;
  const pollIntervalMs = deps.pollIntervalMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = true;

  async function runDue(): Promise<number> {
    let ran = 0;
    const now = clock.now();
    for (const record of await connectors.listDueForSync(now)) {
      if (!(await connectors.claimScheduledSync(record, now))) continue;
      const context = systemContext(randomUUID());
      try {
        const report = await connectors.sync(context, record.id);
        ran += 1;
        logger.info(
          { connectorId: record.id, correlationId: context.correlationId, result: report.result },
          'scheduled sync finished',
        );
      } catch (error) {
        // One connector's fault (a removed connector, a database hiccup) must not stop the others.
        logger.error(
          { connectorId: record.id, correlationId: context.correlationId, err: error },
          'scheduled sync failed',
        );
      }
    }
    return ran;
  }

  function poll(): void {
    if (stopped) return;
    running = runDue()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'scheduled sync poll failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (!stopped) {
          timer = setTimeout(poll, pollIntervalMs);
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
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
    runDue,
  };
}
