import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { summarize } from '../lib/stats.js';
import { logsContract } from '../logs/dataset.js';

/*
 * The portal's pages measured in headless Chromium: the administrator signs in once through
 * Rekey's real authorize page, then each page is opened again and again, timed until its first
 * data row is on screen. The browser is the one the portal's browser tests drive
 * (test/support/browser.ts: /usr/bin/chromium through playwright-core, the same flags).
 */

/** How long one step may take before the run fails (a loaded, shared machine is slow, not stuck). */
const stepTimeoutMs = 60_000;

/** One page of the portal as the bench opens it. */
export interface PortalPageSpec {
  readonly name: string;
  /** The path under the origin (`/portal/users`). */
  readonly path: string;
  /** The first data of the page: a CSS selector visible once the page shows its first row. */
  readonly firstRow: string;
  /** The API call whose answer fills that row (matched on the request's path and query). */
  readonly dataCall: RegExp;
  /** Whether the side navigation links to the page (`nav a[href="<path>"]`). */
  readonly inNavigation?: boolean;
}

export interface Timing {
  readonly samples: number[];
  readonly p50Ms: number;
  readonly maxMs: number;
}

function timing(samples: number[]): Timing {
  const summary = summarize(samples);
  return {
    samples: samples.map((value) => Math.round(value * 10) / 10),
    p50Ms: summary.p50Ms,
    maxMs: summary.maxMs,
  };
}

/** The JavaScript the browser fetched to open a page from an empty cache. */
export interface ScriptBytes {
  /** Distinct script URLs (paths) fetched. */
  readonly files: string[];
  /** Bytes of the scripts as the browser runs them (decoded). */
  readonly plainBytes: number;
  /** The same bodies gzipped at level 9, as the build's .gz copies that Rekey sends to browsers accepting gzip. */
  readonly gzipBytes: number;
}

export interface PageResult {
  readonly name: string;
  readonly path: string;
  readonly firstRowSelector: string;
  readonly dataCall: string;
  readonly scripts: ScriptBytes;
  /** page.goto in a context with an empty HTTP cache (only the sign-in cookie carried over). */
  readonly openCold: Timing;
  /** page.goto again in a context that opened the page before (HTTP cache warm). */
  readonly openWarm: Timing;
  /** A click on the navigation link (or a row link) in the signed-in app, to the first row. */
  readonly inApp: Timing | undefined;
  /** The page's data call alone, with fetch from the page (same token, same URL). */
  readonly raw: Timing;
}

/** Fills Rekey's sign-in page (the browser is on it) and submits. */
async function submitCredentials(page: Page): Promise<void> {
  await page.locator('#username').fill(logsContract.adminUpn);
  await page.locator('#password').fill(logsContract.adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Signs the administrator in through the real authorize page (PKCE), in a fresh context, and
 * returns the context's cookies (the server's sign-in cookie) for the contexts that follow.
 */
export async function signInOnce(
  browser: Browser,
  origin: string,
): Promise<Awaited<ReturnType<BrowserContext['storageState']>>> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(stepTimeoutMs);
    await page.goto(`${origin}/portal/service-health`);
    await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
    await submitCredentials(page);
    await page.waitForURL(`${origin}/portal/service-health`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    return await context.storageState();
  } finally {
    await context.close();
  }
}

/** Opens `url` with page.goto and waits for `selector`; milliseconds from goto to visible. */
async function openAndWait(page: Page, url: string, selector: string): Promise<number> {
  const started = performance.now();
  await page.goto(url);
  await page.locator(selector).first().waitFor({ state: 'visible' });
  return performance.now() - started;
}

/**
 * Clicks `link` and waits for `selector` to be laid out, both inside the page (timed with the
 * page's clock, polled each animation frame), so the figure holds no DevTools-protocol round trips.
 */
async function clickUntilVisible(page: Page, link: string, selector: string): Promise<number> {
  // A string, not a function: tsx's transform would wrap a function's inner closures in a helper
  // (__name) that does not exist in the page.
  const args = JSON.stringify({ link, selector, timeoutMs: stepTimeoutMs });
  return page.evaluate<number>(`(() => {
    const { link, selector, timeoutMs } = ${args};
    return new Promise((resolve, reject) => {
      const anchor = document.querySelector(link);
      if (anchor === null) return reject(new Error('no ' + link + ' on the page'));
      const started = performance.now();
      anchor.click();
      const check = () => {
        const element = document.querySelector(selector);
        if (element !== null && element.getBoundingClientRect().height > 0) resolve(performance.now() - started);
        else if (performance.now() - started > timeoutMs)
          reject(new Error(selector + ' did not appear within ' + timeoutMs + ' ms of clicking ' + link));
        else requestAnimationFrame(check);
      };
      check();
    });
  })()`);
}

/** Collects the scripts a page fetches, and the first request of its data call. */
function watch(page: Page, dataCall: RegExp) {
  const scripts = new Map<string, Buffer>();
  const pending: Promise<void>[] = [];
  let data: { url: string; authorization: string } | undefined;
  page.on('request', (request: Request) => {
    const url = new URL(request.url());
    const authorization = request.headers()['authorization'];
    if (data === undefined && authorization && dataCall.test(`${url.pathname}${url.search}`))
      data = { url: `${url.pathname}${url.search}`, authorization };
  });
  page.on('response', (response) => {
    if (response.request().resourceType() !== 'script') return;
    const path = new URL(response.url()).pathname;
    pending.push(
      response
        .body()
        .then((body) => {
          scripts.set(path, body);
        })
        .catch(() => undefined),
    );
  });
  return {
    async scripts(): Promise<ScriptBytes> {
      await Promise.all(pending);
      let plainBytes = 0;
      let gzipBytes = 0;
      for (const body of scripts.values()) {
        plainBytes += body.length;
        gzipBytes += gzipSync(body, { level: 9 }).length;
      }
      return { files: [...scripts.keys()].sort(), plainBytes, gzipBytes };
    },
    data: () => data,
  };
}

/** Times `url` with fetch inside the page, `times` times; the floor the page stands on. */
async function rawCalls(
  page: Page,
  call: { url: string; authorization: string },
  times: number,
): Promise<number[]> {
  return page.evaluate(
    async ({ url, authorization, times }) => {
      const samples: number[] = [];
      for (let index = 0; index < times; index += 1) {
        const started = performance.now();
        const response = await fetch(url, { headers: { accept: 'application/json', authorization } });
        await response.text();
        if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
        samples.push(performance.now() - started);
      }
      return samples;
    },
    { ...call, times },
  );
}

/** Measures one page: cold opens, warm opens, in-app navigation, and its data call alone. */
export async function measurePage(
  browser: Browser,
  origin: string,
  signedIn: Awaited<ReturnType<BrowserContext['storageState']>>,
  spec: PortalPageSpec,
  repeat: number,
  progress: (message: string) => void,
  /** Where an in-app navigation starts and what it clicks, when the page has no navigation link. */
  inAppFrom?: { readonly path: string; readonly ready: string; readonly link: string },
): Promise<PageResult> {
  const url = `${origin}${spec.path}`;
  const cold: number[] = [];
  let scripts: ScriptBytes | undefined;
  let dataCall: { url: string; authorization: string } | undefined;
  for (let index = 0; index < repeat; index += 1) {
    // A new context: empty HTTP cache and memory; the sign-in cookie carried over, so opening the
    // page runs the app's silent authorize round trip (tokens live in memory only) as a new tab does.
    const context = await browser.newContext({ storageState: signedIn });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(stepTimeoutMs);
      const watcher = watch(page, spec.dataCall);
      cold.push(await openAndWait(page, url, spec.firstRow));
      if (index === 0) {
        scripts = await watcher.scripts();
        dataCall = watcher.data();
      }
    } finally {
      await context.close();
    }
  }
  progress(`${spec.name}: cold opens ${cold.map((value) => value.toFixed(0)).join(', ')} ms`);
  if (scripts === undefined || dataCall === undefined)
    throw new Error(`${spec.name}: the page made no call matching ${spec.dataCall}`);

  const context = await browser.newContext({ storageState: signedIn });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(stepTimeoutMs);
    const watcher = watch(page, spec.dataCall);
    await openAndWait(page, url, spec.firstRow);
    const warm: number[] = [];
    for (let index = 0; index < repeat; index += 1) warm.push(await openAndWait(page, url, spec.firstRow));
    progress(`${spec.name}: warm opens ${warm.map((value) => value.toFixed(0)).join(', ')} ms`);

    let inApp: number[] | undefined;
    const from =
      inAppFrom ??
      (spec.inNavigation ? { path: '/portal/service-health', ready: 'h1', link: '' } : undefined);
    if (from !== undefined) {
      inApp = [];
      for (let index = 0; index < repeat; index += 1) {
        // A full load of another page each time, so the app holds none of this page's data.
        await openAndWait(page, `${origin}${from.path}`, from.ready);
        const link = from.link !== '' ? from.link : `nav a[href="${spec.path}"]`;
        await page.locator(link).first().waitFor({ state: 'visible' });
        inApp.push(await clickUntilVisible(page, link, spec.firstRow));
      }
      progress(`${spec.name}: in-app ${inApp.map((value) => value.toFixed(0)).join(', ')} ms`);
    }
    // The data call alone, from the signed-in page (its token), after one untimed call.
    const call = watcher.data() ?? dataCall;
    await rawCalls(page, call, 1);
    const raw = await rawCalls(page, call, Math.max(repeat, 5));
    return {
      name: spec.name,
      path: spec.path,
      firstRowSelector: spec.firstRow,
      dataCall: call.url,
      scripts,
      openCold: timing(cold),
      openWarm: timing(warm),
      inApp: inApp === undefined ? undefined : timing(inApp),
      raw: timing(raw),
    };
  } finally {
    await context.close();
  }
}

/** The id of a user of the users page's first page (its row link), for the detail page. */
export async function firstListedUserId(
  browser: Browser,
  origin: string,
  signedIn: Awaited<ReturnType<BrowserContext['storageState']>>,
  rowLink: string,
): Promise<string> {
  const context = await browser.newContext({ storageState: signedIn });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(stepTimeoutMs);
    await openAndWait(page, `${origin}/portal/users`, rowLink);
    const href = (await page.locator(rowLink).nth(1).getAttribute('href')) ?? '';
    const id = /\/portal\/users\/([^/?#]+)$/.exec(href)?.[1];
    if (id === undefined) throw new Error(`the users page links no user (${rowLink}: ${href})`);
    return id;
  } finally {
    await context.close();
  }
}
