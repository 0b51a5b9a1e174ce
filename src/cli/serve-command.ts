import { createRekey, type Rekey } from '../app/create-rekey.js';
import type { Config } from '../platform/config.js';
import { createLogger } from '../platform/log.js';
import { type CliIo, configOrExit } from './context.js';

/** `rekey serve`: migrates, bootstraps, listens, runs the worker, and shuts down cleanly on a signal. */
export async function serve(io: CliIo, options: { readonly worker: boolean }): Promise<void> {
  const config = configOrExit(io);
  const logger = createLogger(config.logLevel);
  const rekey = await createRekey(config, { logger });
  reportBootstrap(io, config, rekey);
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

/**
 * What the start did about the tenant, for the person who started it: the generated administrator
 * password on the very first start (stdout, shown once), or a warning (stderr) when
 * REKEY_BOOTSTRAP_ADMIN_PASSWORD was given to a later start, where it changes nothing.
 */
export function reportBootstrap(
  io: CliIo,
  config: Pick<Config, 'tenantName' | 'bootstrapAdminUpn'>,
  rekey: Pick<Rekey, 'generatedAdminPassword' | 'bootstrapAdminPasswordIgnored'>,
): void {
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
  if (rekey.bootstrapAdminPasswordIgnored) {
    io.err(
      [
        `warning: REKEY_BOOTSTRAP_ADMIN_PASSWORD is set, but the tenant "${config.tenantName}" already exists, so it has no effect:`,
        "  it sets the first administrator's password on the first start only, and no password was changed.",
        '  To set a password now, run `rekey users set-password <user>` (it generates one and prints it once),',
        '  then remove the variable from the environment.',
      ].join('\n'),
    );
  }
}
