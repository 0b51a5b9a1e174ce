import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { createRekey, type Rekey } from '../../src/app/create-rekey.js';
import { SeededRandom } from '../../src/dev/seeded-random.js';
import type { Clock } from '../../src/platform/clock.js';
import { loadConfig } from '../../src/platform/config.js';
import { findCatalogEntry } from '../../src/platform/errors/catalog.js';
import { createLogger } from '../../src/platform/log.js';
import { bearer, tokenRequestOptions } from '../../test/support/http-helpers.js';
import { percentile } from '../lib/stats.js';
import { type Dataset, logsContract } from '../logs/dataset.js';

/*
 * Diagnose latency on the logs bench's data set: a Rekey in this process on the built database
 * (its clock at the end of the generated window, so "the last 24 hours" is the window's last day),
 * asked POST /rekey/v1/diagnose through Fastify's inject() one call at a time by an administrator:
 * by user, by correlation ID and by error code, with the default 24 h window. Then the support
 * bundle of one user, built the same way. The samples are drawn from the window's own rows, with
 * a fixed seed, so two runs on the same data set ask the same questions.
 */

const dayMs = 86_400_000;

/** p95 target of each kind of diagnosis (the "Done when"). */
export const targetP95Ms = 300;

export interface LatencyFigures {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly met: boolean;
}

export interface CodeFigures extends LatencyFigures {
  readonly code: number;
  /** Sign-ins with the code in the window: how much the diagnosis had to count. */
  readonly signInsInWindow: number;
}

export interface DiagnoseLatencyResult {
  readonly dialect: Dataset['dialect'];
  readonly windowStart: string;
  readonly windowEnd: string;
  /** Rows of the data set beside the sign-ins and audits, counted in the database. */
  readonly rows: { readonly users: number; readonly operations: number; readonly eventLog: number };
  readonly byUser: LatencyFigures;
  readonly byCorrelationId: LatencyFigures;
  readonly byErrorCode: LatencyFigures;
  readonly perCode: readonly CodeFigures[];
  readonly bundle: {
    readonly userPrincipalName: string;
    readonly builds: number;
    readonly p50Ms: number;
    readonly maxMs: number;
    readonly bytes: number;
    readonly files: number;
  };
}

/** Users, requests and codes to diagnose: how many of each (codes: calls per code). */
const userSamples = 40;
const correlationSamples = 40;
const callsPerCode = 5;
const bundleBuilds = 5;

function figures(samplesMs: readonly number[]): LatencyFigures {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p95Ms = sorted.length > 0 ? percentile(sorted, 95) : Number.NaN;
  return {
    calls: sorted.length,
    p50Ms: sorted.length > 0 ? percentile(sorted, 50) : Number.NaN,
    p95Ms,
    maxMs: sorted.length > 0 ? percentile(sorted, 100) : Number.NaN,
    met: p95Ms < targetP95Ms,
  };
}

const silent = new Writable({
  write(_chunk, _encoding, callback) {
    callback();
  },
});

/** Starts Rekey on the data set's database, its clock stopped at the end of the window. */
async function startOnDataset(dataset: Dataset): Promise<{ rekey: Rekey; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-bench-diagnose-'));
  const config = loadConfig({
    REKEY_DATA_DIR: dataDir,
    REKEY_DATABASE_URL: dataset.databaseUrl,
    REKEY_SECRET_KEY: logsContract.secretKey,
    REKEY_TENANT_DOMAIN: logsContract.tenantDomain,
    REKEY_BOOTSTRAP_ADMIN_PASSWORD: logsContract.adminPassword,
    REKEY_LOG_LEVEL: 'warn',
    REKEY_RUN_WORKER: 'false',
    REKEY_RATE_LIMIT_PER_IP: '1000000',
    REKEY_RATE_LIMIT_PER_USER: '1000000',
  });
  const end = new Date(dataset.windowEnd);
  const clock: Clock = { now: () => new Date(end) };
  const rekey = await createRekey(config, {
    logger: createLogger('warn', silent),
    clock,
    migrate: false,
  });
  return { rekey, dataDir };
}

interface Samples {
  readonly users: string[];
  readonly correlationIds: string[];
  readonly codes: Array<{ code: number; signIns: number }>;
}

/**
 * Draws the questions from the window: users and requests at random times (so busy users and
 * busy hours come up as often as they happen), the user most hit by a failure code (the worst
 * case: the most rows), and every catalog code the window's sign-ins and operations hold.
 */
async function drawSamples(rekey: Rekey, dataset: Dataset): Promise<Samples> {
  const db = rekey.db.kysely;
  const tenantId = dataset.tenantId;
  const endMs = Date.parse(dataset.windowEnd);
  const since = new Date(endMs - dayMs).toISOString();
  const random = new SeededRandom('rekey-bench-diagnose');
  const at = () => new Date(endMs - dayMs + random.below(dayMs)).toISOString();
  const users: string[] = [];
  for (let i = 0; users.length < userSamples && i < userSamples * 4; i += 1) {
    const row = await db
      .selectFrom('sign_ins')
      .select('upn_key')
      .where('tenant_id', '=', tenantId)
      .where('created_at', '>=', at())
      .where('user_id', 'is not', null)
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst();
    if (row) users.push(row.upn_key);
  }
  const correlationIds: string[] = [];
  for (let i = 0; correlationIds.length < correlationSamples && i < correlationSamples * 4; i += 1) {
    // Half failed sign-ins, half password operations: the requests people ask about.
    const row =
      i % 2 === 0
        ? await db
            .selectFrom('sign_ins')
            .select('correlation_id')
            .where('tenant_id', '=', tenantId)
            .where('created_at', '>=', at())
            .where('error_code', '<>', 0)
            .orderBy('created_at')
            .limit(1)
            .executeTakeFirst()
        : await db
            .selectFrom('password_operations')
            .select('correlation_id')
            .where('tenant_id', '=', tenantId)
            .where('created_at', '>=', at())
            .orderBy('created_at')
            .limit(1)
            .executeTakeFirst();
    if (row) correlationIds.push(row.correlation_id);
  }
  const signInCodes = await db
    .selectFrom('sign_ins')
    .select((eb) => ['error_code', eb.fn.countAll<number | string>().as('count')])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', since)
    .groupBy('error_code')
    .execute();
  const operationCodes = await db
    .selectFrom('password_operations')
    .select('error_code')
    .distinct()
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', since)
    .where('error_code', 'is not', null)
    .execute();
  const counts = new Map<number, number>();
  for (const row of signInCodes) counts.set(row.error_code, Number(row.count));
  // 120008 is what the caller of an ended operation sees: asked about across users as often as any.
  const codes = [...new Set([...counts.keys(), ...operationCodes.map((row) => row.error_code ?? 0), 120008])]
    .filter((code) => code !== 0 && findCatalogEntry(code) !== undefined)
    .sort((a, b) => a - b)
    .map((code) => ({ code, signIns: counts.get(code) ?? 0 }));
  // The user the most frequent failure hit most: a script with a stale password, thousands of rows.
  const busiest = [...counts.entries()].filter(([code]) => code !== 0).sort((a, b) => b[1] - a[1])[0];
  if (busiest) {
    const top = await db
      .selectFrom('sign_ins')
      .select((eb) => ['upn_key', eb.fn.countAll<number | string>().as('count')])
      .where('tenant_id', '=', tenantId)
      .where('error_code', '=', busiest[0])
      .where('created_at', '>=', since)
      .groupBy('upn_key')
      .orderBy('count', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (top) users.push(top.upn_key);
  }
  return { users, correlationIds, codes };
}

async function countRows(rekey: Rekey, tenantId: string): Promise<DiagnoseLatencyResult['rows']> {
  const db = rekey.db.kysely;
  const count = async (table: 'users' | 'password_operations' | 'event_log') => {
    const result = await sql<{
      count: number | string;
    }>`select count(*) as count from ${sql.table(table)} where tenant_id = ${tenantId}`.execute(db);
    return Number(result.rows[0]?.count ?? 0);
  };
  return {
    users: await count('users'),
    operations: await count('password_operations'),
    eventLog: await count('event_log'),
  };
}

/** Measures diagnose by user, by correlation ID and by code, and one user's support bundle. */
export async function measureDiagnoseLatency(
  dataset: Dataset,
  progress: (message: string) => void,
): Promise<DiagnoseLatencyResult> {
  const label = dataset.dialect;
  const { rekey, dataDir } = await startOnDataset(dataset);
  try {
    const signedIn = await rekey.app.inject(
      tokenRequestOptions({
        grant_type: 'password',
        client_id: logsContract.clientId,
        username: logsContract.adminUpn,
        password: logsContract.adminPassword,
      }),
    );
    if (signedIn.statusCode !== 200)
      throw new Error(`the administrator could not sign in: ${signedIn.statusCode} ${signedIn.body}`);
    const token = signedIn.json<{ access_token: string }>().access_token;
    const ask = async (url: string, payload: Record<string, unknown>) => {
      const started = performance.now();
      const response = await rekey.app.inject({ method: 'POST', url, headers: bearer(token), payload });
      const ms = performance.now() - started;
      if (response.statusCode !== 200)
        throw new Error(
          `${url} ${JSON.stringify(payload)}: ${response.statusCode} ${response.body.slice(0, 300)}`,
        );
      return { ms, response };
    };
    const diagnose = async (payload: Record<string, unknown>) =>
      (await ask('/rekey/v1/diagnose', payload)).ms;

    progress(`${label}: counting rows and drawing the questions from the window's last day`);
    const rows = await countRows(rekey, dataset.tenantId);
    const samples = await drawSamples(rekey, dataset);
    // One call of each kind first: the first statement of a kind plans it and opens its pages.
    if (samples.users[0]) await diagnose({ userPrincipalName: samples.users[0] });
    if (samples.correlationIds[0]) await diagnose({ correlationId: samples.correlationIds[0] });

    progress(`${label}: diagnose by user, ${samples.users.length} users`);
    const byUser: number[] = [];
    for (const upn of samples.users) byUser.push(await diagnose({ userPrincipalName: upn }));
    progress(`${label}: diagnose by correlation ID, ${samples.correlationIds.length} requests`);
    const byCorrelation: number[] = [];
    for (const id of samples.correlationIds) byCorrelation.push(await diagnose({ correlationId: id }));
    progress(`${label}: diagnose by error code, ${samples.codes.length} codes x ${callsPerCode}`);
    const byCode: number[] = [];
    const perCode: CodeFigures[] = [];
    for (const { code, signIns } of samples.codes) {
      const calls: number[] = [];
      for (let i = 0; i < callsPerCode; i += 1) calls.push(await diagnose({ errorCode: code }));
      byCode.push(...calls);
      perCode.push({ code, signInsInWindow: signIns, ...figures(calls) });
    }

    const bundleUser = samples.users[0] ?? logsContract.adminUpn;
    progress(`${label}: support bundle of ${bundleUser}, ${bundleBuilds} builds`);
    const builds: number[] = [];
    let bytes = 0;
    let files = 0;
    for (let i = 0; i < bundleBuilds; i += 1) {
      const { ms, response } = await ask('/rekey/v1/supportBundles', { userPrincipalName: bundleUser });
      builds.push(ms);
      bytes = response.rawPayload.length;
      // Local file headers of the archive: one per file.
      files = response.rawPayload.toString('latin1').split('PK\u0003\u0004').length - 1;
    }
    const bundleFigures = figures(builds);
    return {
      dialect: dataset.dialect,
      windowStart: new Date(Date.parse(dataset.windowEnd) - dayMs).toISOString(),
      windowEnd: dataset.windowEnd,
      rows,
      byUser: figures(byUser),
      byCorrelationId: figures(byCorrelation),
      byErrorCode: figures(byCode),
      perCode,
      bundle: {
        userPrincipalName: bundleUser,
        builds: builds.length,
        p50Ms: bundleFigures.p50Ms,
        maxMs: bundleFigures.maxMs,
        bytes,
        files,
      },
    };
  } finally {
    await rekey.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
