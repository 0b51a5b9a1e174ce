import { createServer } from 'node:net';
import { createRekey, type Rekey } from '../app/create-rekey.js';
import { type Config, derivedPublicUrl, withBoundPort } from '../platform/config.js';
import { createLogger } from '../platform/log.js';
import { type CliIo, configOrExit } from './context.js';

/** A running server: what `serve` started, the address it is bound to, and how to stop it. */
export interface RunningServer {
  readonly rekey: Rekey;
  /** The address the server actually listens on (the real port, also for `REKEY_PORT=0`). */
  readonly boundUrl: string;
  close(): Promise<void>;
}

/**
 * A free port on `host`, chosen by the system: bound for a moment and released. Used for
 * `REKEY_PORT=0` without a public URL, because the URLs Rekey hands out (token issuer,
 * `error_uri`, discovery) are fixed before it listens and must name the real port. Another
 * process could take the port in between; then listening fails with EADDRINUSE and says so.
 */
function chooseFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The configuration `serve` runs with: for `REKEY_PORT=0` and a derived public URL, the port chosen now. */
async function configToServe(config: Config): Promise<Config> {
  if (config.port !== 0 || !config.publicUrlIsDerived) return config;
  return withBoundPort(config, await chooseFreePort(config.host));
}

/**
 * Migrates, bootstraps, listens and (with `worker`) runs the background work; prints the first
 * start's administrator password and the address bound. The part of `serve` tests can stop.
 */
export async function startServer(io: CliIo, options: { readonly worker: boolean }): Promise<RunningServer> {
  const config = await configToServe(configOrExit(io));
  const logger = createLogger(config.logLevel);
  const rekey = await createRekey(config, { logger });
  reportBootstrap(io, config, rekey);
  try {
    await rekey.app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await rekey.close();
    throw error;
  }
  // Background work (password operations, log retention) runs where the worker runs.
  if (options.worker && config.runWorker) {
    rekey.worker.start();
    rekey.syncScheduler.start();
    rekey.statusEvaluator.start();
    rekey.logRetention.start();
  }
  const address = rekey.app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : config.port;
  const boundUrl = derivedPublicUrl(config.tls !== undefined, config.host, boundPort);
  // The bound address always; the public URL beside it when it is another one (a proxy in front).
  const publicPart = boundUrl === config.publicUrl ? '' : `public URL: ${config.publicUrl}, `;
  io.out(
    `Rekey is listening on ${boundUrl} (${publicPart}database: ${rekey.db.dialect}, tenant: ${rekey.tenant.id})`,
  );
  return { rekey, boundUrl, close: () => rekey.close() };
}

/** `rekey serve`: migrates, bootstraps, listens, runs the worker, and shuts down cleanly on a signal. */
export async function serve(io: CliIo, options: { readonly worker: boolean }): Promise<void> {
  const server = await startServer(io, options);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.rekey.app.log.info({ signal }, 'shutting down');
    await server.close();
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
