import { copyFileSync, rmSync } from 'node:fs';
import { type CpuSnapshot, cpuSnapshot, freeCores, interference } from '../lib/cpu-accounting.js';
import { jsonStringField, send } from '../lib/http.js';
import { runLoad } from '../lib/load.js';
import {
  childEnv,
  freePort,
  type MemoryUsage,
  makeTempDir,
  readMemory,
  removeTempDir,
  startServer,
} from '../lib/processes.js';
import type { LatencySummary } from '../lib/stats.js';
import { benchPasswords } from '../password-change/passwords.js';
import type { Dataset } from './dataset.js';
import { logsContract, rekeyArgs } from './dataset.js';
import type { BenchPostgres } from './postgres.js';

/** Virtual users signing in at once: saturates two cores of argon2id several times over. */
const concurrentUsers = 16;
const warmupMs = 2_000;
const drainTimeoutMs = 30_000;
/** off, on, off, on: alternating halves what a slow drift of the machine does to the ratio. */
const rounds = ['off', 'on', 'off', 'on'] as const;

/** One server run at full load. */
export interface ThroughputRun {
  readonly signInLog: 'on' | 'off';
  readonly signInsPerSecond: number;
  readonly cycles: number;
  readonly latency: LatencySummary;
  /** RSS of the server when the measured window closed, and its peak so far. */
  readonly memory: MemoryUsage | undefined;
  /** CPU others used during the window, in cores. */
  readonly otherCores: number | undefined;
  /** Sign-ins/s per core that was free for the benchmark (cores minus other CPU and steal). */
  readonly perFreeCore: number | undefined;
}

export interface ThroughputResult {
  readonly dialect: 'sqlite' | 'postgres';
  readonly runs: readonly ThroughputRun[];
  readonly onPerSecond: number;
  readonly offPerSecond: number;
  /** Sign-ins/s with the log over sign-ins/s without it (target ≥ 0.9). */
  readonly ratio: number;
  /**
   * The same ratio per free core: other tenants of a shared machine take CPU from some runs and
   * not others, and argon2id throughput follows the CPU it gets.
   */
  readonly adjustedRatio: number | undefined;
  readonly maxRssKib: number | undefined;
  /** Sign-in rows the log gained during the "on" runs (every attempt, warm-up included). */
  readonly rowsLogged: number;
  readonly rowsLoggedWhileOff: number;
}

const upn = (user: number): string => `logbench${user}@${logsContract.tenantDomain}`;

async function passwordGrant(baseUrl: string, username: string, password: string, signal?: AbortSignal) {
  const reply = await send({
    method: 'POST',
    url: `${baseUrl}/${logsContract.tenantDomain}/oauth2/v2.0/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: logsContract.clientId,
      username,
      password,
      scope: 'https://graph.microsoft.com/.default',
    }).toString(),
    expect: [200],
    signal,
  });
  return jsonStringField(reply, 'access_token', `sign-in of ${username}`);
}

/** Creates the load's users through the API (once per database copy). */
async function createUsers(baseUrl: string): Promise<void> {
  const token = await passwordGrant(baseUrl, logsContract.adminUpn, logsContract.adminPassword);
  for (let user = 1; user <= concurrentUsers; user += 1) {
    await send({
      method: 'POST',
      url: `${baseUrl}/v1.0/users`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        accountEnabled: true,
        displayName: `Log Bench ${user}`,
        mailNickname: `logbench${user}`,
        userPrincipalName: upn(user),
        passwordProfile: { password: benchPasswords(user)[0], forceChangePasswordNextSignIn: false },
      }),
      expect: [201],
    });
  }
}

async function countSignIns(dataset: Dataset, databaseUrl: string): Promise<number> {
  const { openDatabase } = await import('../../src/platform/db/database.js');
  const db = openDatabase(databaseUrl, { poolSize: 1 });
  try {
    const row = await db.kysely
      .selectFrom('sign_ins')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('tenant_id', '=', dataset.tenantId)
      .where('created_at', '>', dataset.windowEnd)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  } finally {
    await db.close();
  }
}

/**
 * Sign-ins/s of a real Rekey server process with the sign-in log on and off, on a copy of the
 * ten-million-row database (so the log's inserts land in full-size indexes, and the cached
 * database stays as generated). Each sign-in is a resource-owner password grant: one argon2id
 * verify, a refresh token written, and, with the log on, one sign-in row.
 */
export async function measureThroughput(
  dataset: Dataset,
  durationSeconds: number,
  progress: (message: string) => void,
  postgres: BenchPostgres | undefined,
): Promise<ThroughputResult> {
  let databaseUrl: string;
  let dropCopy: () => Promise<void>;
  if (dataset.dialect === 'sqlite') {
    const file = dataset.databaseUrl.slice('sqlite:'.length);
    const copy = `${file}.throughput-copy`;
    progress('throughput: copying the SQLite database');
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${copy}${suffix}`, { force: true });
    copyFileSync(file, copy);
    databaseUrl = `sqlite:${copy}`;
    dropCopy = async () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${copy}${suffix}`, { force: true });
    };
  } else {
    if (!postgres) throw new Error('the PostgreSQL throughput run needs the PostgreSQL server');
    const source = new URL(dataset.databaseUrl).pathname.slice(1);
    const copy = `${source}_throughput`;
    progress('throughput: copying the PostgreSQL database (create database ... template)');
    await postgres.admin(`drop database if exists ${copy}`);
    await postgres.admin(`create database ${copy} template ${source}`);
    databaseUrl = postgres.urlOf(copy);
    dropCopy = () => postgres.admin(`drop database if exists ${copy}`);
  }
  const runs: ThroughputRun[] = [];
  let rowsLogged = 0;
  let rowsLoggedWhileOff = 0;
  try {
    let usersCreated = false;
    for (const signInLog of rounds) {
      const dataDir = makeTempDir('rekey-bench-logs-');
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      progress(
        `throughput (${dataset.dialect}): sign-in log ${signInLog}, ${concurrentUsers} users, ${durationSeconds} s`,
      );
      const server = await startServer({
        name: `rekey (sign-in log ${signInLog})`,
        command: process.execPath,
        args: rekeyArgs(['serve', '--no-worker']),
        cwd: logsContract.cwd,
        env: childEnv({
          REKEY_DATA_DIR: dataDir,
          REKEY_DATABASE_URL: databaseUrl,
          REKEY_PORT: String(port),
          REKEY_HOST: '127.0.0.1',
          REKEY_TENANT_DOMAIN: logsContract.tenantDomain,
          REKEY_SECRET_KEY: logsContract.secretKey,
          REKEY_LOG_LEVEL: 'warn',
          REKEY_SIGN_IN_LOG: signInLog,
          // The data is up to weeks old when the cache is reused; nothing may be purged while measuring.
          REKEY_LOG_RETENTION_DAYS: '3650',
        }),
        baseUrl,
        readyPath: logsContract.readyPath,
        readyTimeoutMs: logsContract.readyTimeoutMs,
      });
      try {
        if (!usersCreated) {
          await createUsers(baseUrl);
          usersCreated = true;
        }
        const before = await countSignIns(dataset, databaseUrl);
        const result = await runLoad<{ cpu: CpuSnapshot | undefined; memory: MemoryUsage | undefined }>({
          users: concurrentUsers,
          warmupMs,
          durationMs: durationSeconds * 1000,
          drainTimeoutMs,
          cycle: async (user, signal) => {
            await passwordGrant(baseUrl, upn(user + 1), benchPasswords(user + 1)[0], signal);
          },
          probe: () => ({ cpu: cpuSnapshot([server.pid]), memory: readMemory(server.pid) }),
        });
        const added = (await countSignIns(dataset, databaseUrl)) - before;
        if (signInLog === 'on') rowsLogged += added;
        else rowsLoggedWhileOff += added;
        const { probeAtStart, probeAtEnd } = result;
        const measured =
          probeAtStart.cpu && probeAtEnd.cpu ? interference(probeAtStart.cpu, probeAtEnd.cpu) : undefined;
        runs.push({
          signInLog,
          signInsPerSecond: result.cyclesPerSecond,
          cycles: result.cycles,
          latency: result.latency,
          memory: probeAtEnd.memory,
          otherCores: measured?.otherCores,
          perFreeCore: measured ? result.cyclesPerSecond / freeCores(measured) : undefined,
        });
      } catch (error) {
        const died = server.running() ? '' : `\nserver exited; its output (tail):\n${server.outputTail()}`;
        throw new Error(`${error instanceof Error ? error.message : String(error)}${died}`, { cause: error });
      } finally {
        await server.stop();
        removeTempDir(dataDir);
      }
    }
  } finally {
    await dropCopy();
  }
  const mean = (mode: 'on' | 'off') => {
    const chosen = runs.filter((run) => run.signInLog === mode);
    return chosen.reduce((sum, run) => sum + run.signInsPerSecond, 0) / Math.max(1, chosen.length);
  };
  const meanPerFreeCore = (mode: 'on' | 'off') => {
    const chosen = runs.filter((run) => run.signInLog === mode).map((run) => run.perFreeCore);
    if (chosen.some((value) => value === undefined)) return undefined;
    return chosen.reduce((sum: number, value) => sum + (value ?? 0), 0) / Math.max(1, chosen.length);
  };
  const onAdjusted = meanPerFreeCore('on');
  const offAdjusted = meanPerFreeCore('off');
  const rss = runs.map((run) => run.memory?.rssKib).filter((value): value is number => value !== undefined);
  return {
    dialect: dataset.dialect,
    runs,
    onPerSecond: mean('on'),
    offPerSecond: mean('off'),
    ratio: mean('on') / mean('off'),
    adjustedRatio:
      onAdjusted !== undefined && offAdjusted !== undefined ? onAdjusted / offAdjusted : undefined,
    maxRssKib: rss.length > 0 ? Math.max(...rss) : undefined,
    rowsLogged,
    rowsLoggedWhileOff,
  };
}
