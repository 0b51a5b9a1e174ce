import { createRekey } from '../app/create-rekey.js';
import { createLogger } from '../platform/log.js';
import { type CliIo, configOrExit } from './context.js';

/** `rekey serve`: migrates, bootstraps, listens, runs the worker, and shuts down cleanly on a signal. */
export async function serve(io: CliIo, options: { readonly worker: boolean }): Promise<void> {
  const config = configOrExit(io);
  const logger = createLogger(config.logLevel);
  const rekey = await createRekey(config, { logger });
  if (rekey.generatedAdminPassword) {
    io.out(
      [
        '',
        `  First start: created the tenant "${config.tenantName}" and its administrator.`,
        `    user name: ${config.bootstrapAdminUpn}`,
        `    password:  ${rekey.generatedAdminPassword}`,
        '  This password is shown only now. Sign in and change it.',
        '',
      ].join('\n'),
    );
  }
  await rekey.app.listen({ port: config.port, host: config.host });
  // Background work (password operations, log retention) runs where the worker runs.
  if (options.worker && config.runWorker) {
    rekey.worker.start();
    rekey.logRetention.start();
  }
  io.out(
    `Rekey is listening on ${config.publicUrl} (database: ${rekey.db.dialect}, tenant: ${rekey.tenant.id})`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await rekey.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
