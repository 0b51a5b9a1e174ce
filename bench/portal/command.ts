import { launchBrowser } from '../../test/support/browser.js';
import { ensureWebBuilt } from '../../test/support/web-build.js';
import { childEnv, startServerWithDataDir } from '../lib/processes.js';
import type { BenchCommand, BenchContext } from '../lib/registry.js';
import { machineSummary, writeRunResults } from '../lib/results.js';
import { fixed, formatTable } from '../lib/table.js';
import {
  type Dataset,
  type DatasetSettings,
  datasetSettings,
  ensureBuilt,
  logsContract,
  rekeyArgs,
  sqliteDataset,
} from '../logs/dataset.js';
import {
  firstListedUserId,
  measurePage,
  type PageResult,
  type PortalPageSpec,
  signInOnce,
} from './browser.js';

/*
 * `npm run bench -- portal`: the web portal in headless Chromium against a Rekey on SQLite whose
 * directory holds 100,000 users and whose log holds 1,000,000 sign-ins (`rekey dev seed-logs`,
 * cached like the logs bench's databases). Per page: the JavaScript the browser downloads, the
 * time until the first data row is on screen (opened cold, opened warm, reached in the app), and
 * the page's data call alone as the floor.
 */

const defaultUsers = 100_000;
const defaultSignIns = 1_000_000;
const defaultRepeat = 5;
/** JavaScript of the users page, gzipped, at most (KiB). */
const targetScriptKib = 250;
/** First row on screen, at most (ms, p50). */
const targetFirstRowMs = 1000;

const progress = (message: string): void => {
  process.stderr.write(`[portal] ${message}\n`);
};

/** A row link of the users table (the users page renders data-testid="users-table"). */
const userRowLink = '[data-testid="users-table"] tbody tr a[href^="/portal/users/"]';

const usersPage: PortalPageSpec = {
  name: 'users',
  path: '/portal/users',
  firstRow: '[data-testid="users-table"] tbody tr',
  dataCall: /^\/v1\.0\/users\?/,
  inNavigation: true,
};
const signInsPage: PortalPageSpec = {
  name: 'sign-ins',
  path: '/portal/sign-ins',
  firstRow: '[data-testid="sign-ins-table"] tbody tr',
  dataCall: /^\/v1\.0\/auditLogs\/signIns\?\$top=\d+$/,
  inNavigation: true,
};

interface Collected {
  dataset?: Dataset;
  userId?: string;
  pages: PageResult[];
}

async function measure(
  context: BenchContext,
  settings: DatasetSettings,
  collected: Collected,
): Promise<void> {
  const repeat = context.repeat ?? defaultRepeat;
  ensureBuilt(progress);
  // Running the sources (REKEY_BENCH_ENTRY=src/main.ts) skips `npm run build`; the app must still be built.
  ensureWebBuilt();
  const dataset = await sqliteDataset(settings);
  collected.dataset = dataset;
  const server = await startServerWithDataDir({
    name: 'rekey (portal)',
    tempPrefix: 'rekey-bench-portal-',
    command: process.execPath,
    args: rekeyArgs(['serve', '--no-worker']),
    cwd: logsContract.cwd,
    env: (port, dataDir) =>
      childEnv({
        REKEY_DATA_DIR: dataDir,
        REKEY_DATABASE_URL: dataset.databaseUrl,
        REKEY_PORT: String(port),
        REKEY_HOST: '127.0.0.1',
        REKEY_TENANT_DOMAIN: logsContract.tenantDomain,
        REKEY_SECRET_KEY: logsContract.secretKey,
        REKEY_LOG_LEVEL: 'warn',
        REKEY_LOG_RETENTION_DAYS: '3650',
      }),
    readyPath: logsContract.readyPath,
    readyTimeoutMs: logsContract.readyTimeoutMs,
  });
  const browser = await launchBrowser();
  try {
    const origin = server.baseUrl;
    progress(`signing the administrator in at ${origin}`);
    const signedIn = await signInOnce(browser, origin);
    for (const spec of [usersPage, signInsPage]) {
      if (!context.parts.has(spec.name)) continue;
      collected.pages.push(await measurePage(browser, origin, signedIn, spec, repeat, progress));
    }
    if (context.parts.has('user-detail')) {
      const userId = await firstListedUserId(browser, origin, signedIn, userRowLink);
      collected.userId = userId;
      const detail: PortalPageSpec = {
        name: 'user-detail',
        path: `/portal/users/${userId}`,
        // The facts list (sign-in status) renders once the user's record has arrived.
        firstRow: '[data-testid="sign-in-status"]',
        dataCall: new RegExp(`^/v1\\.0/users/${userId}\\?`),
      };
      collected.pages.push(
        await measurePage(browser, origin, signedIn, detail, repeat, progress, {
          path: '/portal/users',
          ready: userRowLink,
          link: `${userRowLink}[href="/portal/users/${userId}"]`,
        }),
      );
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}

const kib = (bytes: number): string => (bytes / 1024).toFixed(1);
const ms = (value: number | undefined): string => fixed(value, 0);

function render(
  collected: Collected,
  settings: DatasetSettings,
  repeat: number,
  file: string,
  failure: string | undefined,
): string {
  const out: string[] = [];
  out.push(`portal benchmark — ${machineSummary()}; headless Chromium (${repeat} loads per figure)`);
  if (failure !== undefined) out.push('INCOMPLETE: the run failed (see the error below); figures so far:');
  const dataset = collected.dataset;
  if (dataset !== undefined) {
    out.push(
      `Database: SQLite, ${settings.users.toLocaleString('en-US')} users, ${settings.signIns.toLocaleString('en-US')} sign-ins, ${settings.audits.toLocaleString('en-US')} audits (${dataset.reused ? `from cache, built ${dataset.builtAt.slice(0, 16)}` : `built in ${dataset.seedingSeconds.toFixed(0)} s`}; ${dataset.databaseUrl})`,
    );
  }
  out.push('');
  if (collected.pages.length > 0) {
    out.push(
      'JavaScript the browser downloads to open each page from an empty cache (plain, and gzipped as Rekey sends it)',
      formatTable(
        [
          { header: 'page' },
          { header: 'files', align: 'right' },
          { header: 'plain KiB', align: 'right' },
          { header: 'gzip KiB', align: 'right' },
          { header: 'target', align: 'right' },
          { header: 'verdict' },
        ],
        collected.pages.map((page) => {
          const gated = page.name === 'users';
          return [
            page.name,
            String(page.scripts.files.length),
            kib(page.scripts.plainBytes),
            kib(page.scripts.gzipBytes),
            gated ? `< ${targetScriptKib}` : '',
            gated ? (page.scripts.gzipBytes / 1024 < targetScriptKib ? 'MET' : 'NOT MET') : '',
          ];
        }),
      ),
      '',
      "Time to the first data row on screen, ms (p50 / max); raw = the page's data call alone, fetch from the page",
      formatTable(
        [
          { header: 'page' },
          { header: 'open cold', align: 'right' },
          { header: 'open warm', align: 'right' },
          { header: 'in app', align: 'right' },
          { header: 'raw call', align: 'right' },
          { header: 'in app - raw', align: 'right' },
          { header: 'target p50', align: 'right' },
          { header: 'verdict' },
        ],
        collected.pages.map((page) => {
          const worst = Math.max(page.openWarm.p50Ms, page.inApp?.p50Ms ?? 0);
          return [
            page.name,
            `${ms(page.openCold.p50Ms)} / ${ms(page.openCold.maxMs)}`,
            `${ms(page.openWarm.p50Ms)} / ${ms(page.openWarm.maxMs)}`,
            page.inApp ? `${ms(page.inApp.p50Ms)} / ${ms(page.inApp.maxMs)}` : 'n/a',
            `${fixed(page.raw.p50Ms, 1)} / ${fixed(page.raw.maxMs, 1)}`,
            page.inApp ? ms(page.inApp.p50Ms - page.raw.p50Ms) : 'n/a',
            `< ${targetFirstRowMs}`,
            worst < targetFirstRowMs ? 'MET' : 'NOT MET',
          ];
        }),
      ),
      '',
      'open cold: page.goto in a new browser context (empty HTTP cache, the sign-in cookie kept): loads the app, runs the',
      '  silent authorize round trip (tokens live in memory only), then the page and its data. open warm: the same in a',
      "  context that opened it before. in app: a click on the navigation (the users page's row link for user-detail)",
      '  after a full load of another page. The verdict takes the worse p50 of "open warm" and "in app".',
      ...collected.pages.map(
        (page) => `- ${page.name}: first row ${page.firstRowSelector}; data call ${page.dataCall}`,
      ),
      '',
    );
  }
  out.push(
    'Note: a shared machine; figures move with the other work on it. REKEY_BENCH_CACHE sets the cache directory, REKEY_BENCH_FRESH=1 rebuilds the database.',
    `Results: ${file}`,
  );
  return out.join('\n');
}

async function run(context: BenchContext): Promise<void> {
  const settings = datasetSettings({
    signIns: context.signIns ?? defaultSignIns,
    audits: context.audits,
    users: context.users ?? defaultUsers,
  });
  const repeat = context.repeat ?? defaultRepeat;
  const collected: Collected = { pages: [] };
  let failure: unknown;
  try {
    await measure(context, settings, collected);
  } catch (error) {
    failure = error;
  }
  const { file, failureMessage } = writeRunResults(
    'portal',
    context,
    {
      settings: {
        parts: [...context.parts],
        users: settings.users,
        signIns: settings.signIns,
        audits: settings.audits,
        cacheDir: settings.cacheDir,
        repeat,
        targetScriptKib,
        targetFirstRowMs,
      },
      dataset: collected.dataset,
      userId: collected.userId,
      pages: collected.pages,
    },
    failure,
  );
  process.stdout.write(`${render(collected, settings, repeat, file, failureMessage)}\n`);
  if (failure !== undefined) throw failure;
}

/** `portal`: the web portal's pages in Chromium on a 100,000-user, 1,000,000-sign-in SQLite database. */
export const portal: BenchCommand = {
  name: 'portal',
  description:
    'portal pages in headless Chromium at 100k users / 1M sign-ins: JavaScript per page, time to first row',
  parts: [
    { name: 'users', description: 'the users page (/portal/users)' },
    { name: 'sign-ins', description: 'the sign-ins page (/portal/sign-ins)' },
    { name: 'user-detail', description: "a user's page (/portal/users/<id>)" },
  ],
  run,
};
