import type { DirectoryPorts } from '../connectors/directory-ports.js';
import { createLdapDirectoryPorts } from '../directories/ldap/ldap-connector-ports.js';
import type { FaultHook } from '../operations/operation-engine.js';
import { type Clock, systemClock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import { type Db, databaseUnavailable, inspectDatabase, openDatabase } from '../platform/db/database.js';
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
 * same services the API uses. It neither creates, migrates nor bootstraps: a SQLite file that does
 * not exist, or a database that `rekey serve` has not prepared, is refused with 7700202 naming the
 * database and the reason, so that a command typed against the wrong database cannot create a
 * database, a tenant, or an administrator nobody has seen the password of.
 */
export async function openDirectory(
  config: Config,
  options: {
    readonly logger: Logger;
    readonly clock?: Clock;
    readonly hasher?: PasswordHasher;
    /** Database connections to keep (2 unless given; a worker running several operations needs more). */
    readonly poolSize?: number;
    /** The directory clients for `rekey connectors test|sync`: the OpenLDAP client unless given. */
    readonly directories?: DirectoryPorts;
    /** Test-only fault points of the job engine (`rekey worker` with REKEY_FAULTS). */
    readonly faults?: FaultHook | undefined;
  },
): Promise<Directory> {
  // An existing file only: a command typed in the wrong directory must not leave a new database.
  const db = openDatabase(config.databaseUrl, { poolSize: options.poolSize ?? 2, mustExist: true });
  try {
    const inspected = await inspectDatabase(db);
    if (inspected.state === 'unreachable') throw databaseUnavailable(db.location, inspected.reason);
    if (inspected.state === 'empty') {
      throw databaseUnavailable(
        db.location,
        'it holds no Rekey schema',
        `The database at ${db.location} holds no Rekey schema: it is new, or not Rekey's. Check REKEY_DATABASE_URL; it must name the database \`rekey serve\` uses (a first \`rekey serve\` creates the schema, the tenant and its administrator).`,
      );
    }
    if (inspected.state === 'behind') {
      throw databaseUnavailable(
        db.location,
        `its schema is older than this version of Rekey (pending: ${inspected.pending.join(', ')})`,
        `The database at ${db.location} has an older Rekey schema (pending: ${inspected.pending.join(', ')}). Run \`rekey migrate\` to bring it up to date.`,
      );
    }
    const tenant = await findDirectoryTenant(db.kysely);
    if (!tenant) {
      throw databaseUnavailable(
        db.location,
        'it holds no tenant yet',
        `The database at ${db.location} has Rekey's schema but no tenant yet. Start Rekey once with \`rekey serve\` on this database: its first start creates the tenant and its administrator.`,
      );
    }
    // No worker, so no onOperationEnqueued: the CLI completes each password operation before the
    // command returns.
    const services = await createServices({
      config,
      db,
      logger: options.logger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.hasher ? { hasher: options.hasher } : {}),
      directories: options.directories ?? createLdapDirectoryPorts({ clock: options.clock ?? systemClock }),
      faults: options.faults,
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
        await services.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
