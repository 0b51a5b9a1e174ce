import type { Clock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import { type Db, isDatabaseReady, openDatabase } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import { findDirectoryTenant, type TenantRecord } from '../tenant/tenant-service.js';
import { createServices, type Services, type TenantServices } from './create-services.js';

/**
 * The directory's services over the configured database, without HTTP, tokens or a worker: the
 * same services, built by the same `createServices`, as the server's.
 */
export interface Directory extends TenantServices, Pick<Services, 'clock' | 'policyEngine' | 'logRetention'> {
  readonly config: Config;
  readonly db: Db;
  readonly tenant: TenantRecord;
  close(): Promise<void>;
}

/**
 * Opens the directory for commands that act on it directly (the `rekey users` CLI), through the
 * same services the API uses. It neither migrates nor bootstraps: a database that `rekey serve`
 * (or `rekey migrate` and a first start) has not prepared is refused with 7700202, so that a
 * command typed against the wrong database cannot create a tenant and an administrator nobody
 * has seen the password of.
 */
export async function openDirectory(
  config: Config,
  options: { readonly logger: Logger; readonly clock?: Clock; readonly hasher?: PasswordHasher },
): Promise<Directory> {
  const db = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    if (!(await isDatabaseReady(db))) {
      throw new RekeyError(Codes.DatabaseUnavailable, {
        message: 'The database is unreachable or its schema is not up to date; run `rekey migrate`.',
      });
    }
    const tenant = await findDirectoryTenant(db.kysely);
    if (!tenant) {
      throw new RekeyError(Codes.DatabaseUnavailable, {
        message: 'The database holds no tenant yet; start Rekey once with `rekey serve` to create it.',
      });
    }
    // No worker, so no onOperationEnqueued: the CLI completes each password operation before the
    // command returns.
    const services = await createServices({
      config,
      db,
      logger: options.logger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.hasher ? { hasher: options.hasher } : {}),
    });
    return {
      ...services.forTenant(tenant.id),
      clock: services.clock,
      policyEngine: services.policyEngine,
      logRetention: services.logRetention,
      config,
      db,
      tenant,
      close: async () => {
        await services.logRetention.stop();
        services.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
