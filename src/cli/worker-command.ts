import { openDirectory } from '../app/open-directory.js';
import { createSyncScheduler } from '../connectors/sync-scheduler.js';
import type { FaultHook } from '../operations/operation-engine.js';
import { createOperationWorker, type OperationWorker } from '../operations/operation-worker.js';
import type { FaultSetting } from '../platform/config.js';
import { createLogger, type Logger } from '../platform/log.js';
import { createStatusEvaluator } from '../status/status-evaluator.js';
import { parseWholeNumber } from './command-helpers.js';
import { type CliIo, configOrExit } from './context.js';

/** A running `rekey worker`: what it runs, and how to stop it gracefully. */
export interface RunningWorker {
  readonly worker: OperationWorker;
  readonly concurrency: number;
  /** Stops claiming, waits for the attempts in progress to end, and closes the database. */
  stop(): Promise<void>;
}

/**
 * Starts the background work of `rekey worker` on the configured database, which `rekey serve`
 * (or `rekey migrate`) must have prepared: it neither migrates nor creates a tenant. The part of
 * the command tests can stop.
 */
export async function startWorker(
  io: CliIo,
  options: { readonly concurrency?: string | undefined },
): Promise<RunningWorker> {
  const config = configOrExit(io);
  const concurrency =
    options.concurrency === undefined
      ? config.workerConcurrency
      : parseWholeNumber('--concurrency', options.concurrency, 1, 256);
  const logger = createLogger(config.logLevel);
  // One connection per operation in flight, one to claim with and one for lease renewals.
  const faults = config.faults ? crashAt(config.faults, logger) : undefined;
  const directory = await openDirectory(config, { logger, poolSize: concurrency + 2, faults });
  const worker = createOperationWorker(directory.operations, logger.child({ component: 'worker' }), {
    concurrency,
  });
  // The same background work `rekey serve` runs: operations, scheduled syncs, incident rules, log retention.
  const syncScheduler = createSyncScheduler({
    connectors: directory.connectors,
    clock: directory.clock,
    logger: logger.child({ component: 'syncScheduler' }),
  });
  const statusEvaluator = createStatusEvaluator(
    directory.status,
    logger.child({ component: 'statusEvaluator' }),
    config.status.evaluateSeconds,
  );
  worker.start();
  syncScheduler.start();
  statusEvaluator.start();
  directory.logRetention.start();
  io.out(
    `Rekey worker running up to ${concurrency} operations at once (database: ${directory.db.dialect}, tenant: ${directory.tenant.id})`,
  );
  return {
    worker,
    concurrency,
    async stop() {
      await Promise.all([worker.stop(), syncScheduler.stop(), statusEvaluator.stop()]);
      await directory.close();
    },
  };
}

/**
 * The test-only fault hook of REKEY_FAULTS: at its point, the process kills itself with SIGKILL,
 * with no cleanup and no chance to finish or release anything, as a crash or `kill -9` would.
 */
function crashAt(fault: FaultSetting, logger: Logger): FaultHook {
  logger.warn(
    { faults: `${fault.action}:${fault.point}` },
    'REKEY_FAULTS is set: this worker kills itself at that point (tests only)',
  );
  return (point, operation) => {
    if (point !== fault.point) return;
    process.stderr.write(`REKEY_FAULTS: SIGKILL at ${point} of operation ${operation.id}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * `rekey worker`: runs password operations, scheduled connector syncs, the incident rules and log retention without the HTTP API, until
 * SIGTERM or SIGINT. On the first signal it stops claiming and lets the attempts in progress end
 * (each ends with a checkpoint or a scheduled retry), then exits 0; a second signal exits at once,
 * leaving the leases of unfinished attempts to lapse, so another worker takes them over.
 */
export async function worker(
  io: CliIo,
  options: { readonly concurrency?: string | undefined },
): Promise<void> {
  const running = await startWorker(io, options);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      io.err(`${signal} again: exiting now; unfinished operations are taken over when their leases lapse.`);
      process.exit(1);
    }
    stopping = true;
    io.err(`${signal}: finishing ${running.worker.running()} operation(s) in progress, then exiting.`);
    void running.stop().then(
      () => {
        io.err(`Rekey worker stopped after ${running.worker.attempted()} attempt(s).`);
        process.exit(0);
      },
      (error: unknown) => {
        io.err(`could not stop cleanly: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
