import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logGeneratorVersion } from '../../src/dev/log-generator.js';
import { childEnv, spawnChild, startServerWithDataDir } from '../lib/processes.js';
import type { BenchPostgres } from './postgres.js';

/**
 * Everything this benchmark assumes about the Rekey it builds databases with, in one place.
 * The secret key is fixed so that a cached database (its signing keys are encrypted with it)
 * can be served again by a later run.
 */
export const logsContract = {
  cwd: fileURLToPath(new URL('../../', import.meta.url)),
  /**
   * The server entry: the built server by default, as `npm start` runs it (the bench builds it
   * first, see ensureBuilt). REKEY_BENCH_ENTRY=src/main.ts runs the sources through tsx instead,
   * whose loader adds its own memory to the RSS.
   */
  entry: process.env['REKEY_BENCH_ENTRY'] || 'dist/main.js',
  readyPath: '/readyz',
  readyTimeoutMs: 60_000,
  tenantDomain: 'example.com',
  adminUpn: 'admin@example.com',
  adminPassword: 'Quartz-Owner-7q!Zr4-long',
  secretKey: Buffer.alloc(32, 7).toString('base64'),
  clientId: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20',
  seed: 'rekey-bench',
  days: 30,
  users: 20_000,
} as const;

/** Compiles `dist/` when the entry is the built server, so the bench never measures stale code. */
export function ensureBuilt(progress: (message: string) => void): void {
  if (logsContract.entry.endsWith('.ts')) return;
  progress('building the server (npm run build)');
  const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: logsContract.cwd, stdio: 'inherit' });
  if (built.status !== 0) throw new Error(`npm run build failed with exit code ${built.status}`);
}

/** `node` arguments that run the Rekey CLI with `args`: through tsx for TypeScript, directly for built code. */
export function rekeyArgs(args: readonly string[], nodeFlags: readonly string[] = []): string[] {
  const loader = logsContract.entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return [...nodeFlags, ...loader, logsContract.entry, ...args];
}

/** Sizes and cache behaviour, from the environment (the harness's options are shared by all commands). */
export interface DatasetSettings {
  readonly signIns: number;
  readonly audits: number;
  /** People of the synthetic tenant (directory users); the logs bench keeps the contract's 20,000. */
  readonly users: number;
  readonly cacheDir: string;
  /** REKEY_BENCH_FRESH=1: build the databases again even when the cache has them. */
  readonly fresh: boolean;
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!(Number.isSafeInteger(value) && value >= 1))
    throw new Error(`${name} must be a positive whole number`);
  return value;
}

/**
 * The sizes from the harness's `--sign-ins` / `--audits` when given, else from the environment
 * (REKEY_BENCH_LOGS_SIGNINS / _AUDITS), else 10 million and 1 million. Audits not given are a
 * tenth of the sign-ins, the proportion of the full data set.
 */
export function datasetSettings(
  sizes: { signIns?: number | undefined; audits?: number | undefined; users?: number | undefined } = {},
): DatasetSettings {
  const signIns = sizes.signIns ?? positive('REKEY_BENCH_LOGS_SIGNINS', 10_000_000);
  return {
    signIns,
    audits:
      sizes.audits ??
      (sizes.signIns === undefined
        ? positive('REKEY_BENCH_LOGS_AUDITS', 1_000_000)
        : Math.max(1, Math.round(signIns / 10))),
    users: sizes.users ?? logsContract.users,
    cacheDir: process.env['REKEY_BENCH_CACHE'] || join(tmpdir(), 'rekey-bench-logs'),
    fresh: ['1', 'true', 'yes'].includes((process.env['REKEY_BENCH_FRESH'] ?? '').toLowerCase()),
  };
}

/** A hash of the migrations' source: a cached database built under other indexes is not reused. */
function schemaFingerprint(): string {
  const dir = fileURLToPath(new URL('../../src/platform/db/migrations/', import.meta.url));
  const hash = createHash('sha256');
  for (const name of readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .sort()) {
    hash.update(name).update(readFileSync(join(dir, name)));
  }
  return hash.digest('hex').slice(0, 10);
}

/** What a built database holds and cost to build; kept beside it in the cache. */
export interface Dataset {
  readonly dialect: 'sqlite' | 'postgres';
  readonly key: string;
  readonly databaseUrl: string;
  readonly tenantId: string;
  readonly signIns: number;
  readonly audits: number;
  readonly windowStart: string;
  readonly windowEnd: string;
  /** Wall-clock seconds of `rekey dev seed-logs`, and of its phases. */
  readonly seedingSeconds: number;
  readonly phaseSeconds: { readonly signIns: number; readonly audits: number; readonly indexes: number };
  readonly builtAt: string;
  /** True when this run took it from the cache rather than building it. */
  readonly reused: boolean;
}

function datasetKey(settings: DatasetSettings): string {
  // The contract's user count keeps the key it always had, so existing caches stay valid.
  const users = settings.users === logsContract.users ? '' : `-u${settings.users}`;
  return `logs-g${logGeneratorVersion}-s${schemaFingerprint()}-${settings.signIns}-${settings.audits}${users}`;
}

/** Runs Rekey once on `databaseUrl`: it migrates and creates the tenant and its administrator. */
async function bootstrap(databaseUrl: string): Promise<void> {
  const started = await startServerWithDataDir({
    name: 'rekey (bootstrap)',
    tempPrefix: 'rekey-bench-logs-',
    command: process.execPath,
    args: rekeyArgs(['serve', '--no-worker']),
    cwd: logsContract.cwd,
    env: (port, dataDir) =>
      childEnv({
        REKEY_DATA_DIR: dataDir,
        REKEY_DATABASE_URL: databaseUrl,
        REKEY_PORT: String(port),
        REKEY_HOST: '127.0.0.1',
        REKEY_TENANT_DOMAIN: logsContract.tenantDomain,
        REKEY_BOOTSTRAP_ADMIN_PASSWORD: logsContract.adminPassword,
        REKEY_SECRET_KEY: logsContract.secretKey,
        REKEY_LOG_LEVEL: 'warn',
      }),
    readyPath: logsContract.readyPath,
    readyTimeoutMs: logsContract.readyTimeoutMs,
  });
  await started.stop();
}

interface SeedSummary {
  readonly tenantId: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly seconds: { readonly signIns: number; readonly audits: number; readonly indexes: number };
}

function isSeedSummary(value: unknown): value is SeedSummary {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'tenantId') === 'string' &&
    typeof Reflect.get(value, 'windowEnd') === 'string'
  );
}

/**
 * Runs `rekey dev seed-logs` as a child (the CLI itself, so the benchmark measures what a
 * developer runs), relaying its progress lines. A larger young generation
 * (--max-semi-space-size) roughly doubles the generator's speed: it makes millions of short strings.
 */
async function seed(label: string, databaseUrl: string, settings: DatasetSettings): Promise<SeedSummary> {
  const child = spawnChild(
    `seed-logs (${label})`,
    process.execPath,
    rekeyArgs(
      [
        'dev',
        'seed-logs',
        '--signins',
        String(settings.signIns),
        '--audits',
        String(settings.audits),
        '--days',
        String(logsContract.days),
        '--users',
        String(settings.users),
        '--seed',
        logsContract.seed,
        '--json',
      ],
      ['--max-semi-space-size=64'],
    ),
    {
      cwd: logsContract.cwd,
      env: childEnv({
        REKEY_DATABASE_URL: databaseUrl,
        REKEY_SECRET_KEY: logsContract.secretKey,
        REKEY_TENANT_DOMAIN: logsContract.tenantDomain,
        REKEY_LOG_LEVEL: 'warn',
      }),
    },
  );
  child.process.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() !== '') process.stderr.write(`[logs] seed ${label}: ${line.trim()}\n`);
    }
  });
  const exit = await child.exited;
  if (exit !== 0) throw new Error(`seed-logs (${label}) exited with ${exit}\n${child.outputTail()}`);
  const parsed: unknown = JSON.parse(child.stdout());
  if (!isSeedSummary(parsed))
    throw new Error(`seed-logs (${label}) printed no summary:\n${child.outputTail()}`);
  return parsed;
}

function readCached(file: string): Dataset | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return { ...(JSON.parse(readFileSync(file, 'utf8')) as Dataset), reused: true };
  } catch {
    return undefined;
  }
}

const progress = (message: string): void => {
  process.stderr.write(`[logs] ${message}\n`);
};

/**
 * The SQLite database of `settings`' size: from the cache, or built (Rekey bootstraps it, then
 * `rekey dev seed-logs` fills it) and recorded there. The metadata file is written last, so a
 * build that died half-way is never taken for a finished one.
 */
export async function sqliteDataset(settings: DatasetSettings): Promise<Dataset> {
  const key = datasetKey(settings);
  mkdirSync(settings.cacheDir, { recursive: true });
  const file = join(settings.cacheDir, `${key}.sqlite`);
  const metadata = join(settings.cacheDir, `${key}.sqlite.json`);
  const cached = settings.fresh ? undefined : readCached(metadata);
  if (cached && existsSync(file)) {
    progress(`sqlite: reusing ${file} (built ${cached.builtAt}; REKEY_BENCH_FRESH=1 rebuilds)`);
    return cached;
  }
  for (const path of [metadata, file, `${file}-wal`, `${file}-shm`]) rmSync(path, { force: true });
  const databaseUrl = `sqlite:${file}`;
  progress(`sqlite: building ${file}`);
  return build('sqlite', key, databaseUrl, metadata, settings);
}

/** The PostgreSQL database of `settings`' size on `server`, from its persistent cache or built as for SQLite. */
export async function postgresDataset(settings: DatasetSettings, server: BenchPostgres): Promise<Dataset> {
  const key = datasetKey(settings);
  const name = key.replaceAll('-', '_');
  const metadata = join(settings.cacheDir, `${key}.postgres.json`);
  const cached = settings.fresh ? undefined : readCached(metadata);
  if (cached && (await server.databaseExists(name))) {
    progress(`postgres: reusing database ${name} (built ${cached.builtAt}; REKEY_BENCH_FRESH=1 rebuilds)`);
    return { ...cached, databaseUrl: server.urlOf(name) };
  }
  rmSync(metadata, { force: true });
  await server.admin(`drop database if exists ${name}`);
  await server.admin(`create database ${name}`);
  const databaseUrl = server.urlOf(name);
  progress(`postgres: building database ${name}`);
  return build('postgres', key, databaseUrl, metadata, settings);
}

/**
 * Builds an empty database into a dataset: Rekey bootstraps it, the generator seeds it, and the
 * metadata file is written last, so that a build that died half-way is never taken for done.
 */
async function build(
  dialect: Dataset['dialect'],
  key: string,
  databaseUrl: string,
  metadata: string,
  settings: DatasetSettings,
): Promise<Dataset> {
  await bootstrap(databaseUrl);
  const started = performance.now();
  const summary = await seed(dialect, databaseUrl, settings);
  const dataset: Dataset = {
    dialect,
    key,
    databaseUrl,
    tenantId: summary.tenantId,
    signIns: settings.signIns,
    audits: settings.audits,
    windowStart: summary.windowStart,
    windowEnd: summary.windowEnd,
    seedingSeconds: (performance.now() - started) / 1000,
    phaseSeconds: summary.seconds,
    builtAt: new Date().toISOString(),
    reused: false,
  };
  writeFileSync(metadata, `${JSON.stringify(dataset, null, 2)}\n`);
  return dataset;
}

/** Bytes a SQLite database takes on disk (the file and any WAL). */
export function sqliteBytes(databaseUrl: string): number {
  const file = databaseUrl.slice('sqlite:'.length);
  return [file, `${file}-wal`].reduce((sum, path) => sum + (existsSync(path) ? statSync(path).size : 0), 0);
}
