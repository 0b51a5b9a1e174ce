import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArgon2Hasher } from '../../src/platform/crypto/password-hasher.js';
import { sambaUsers, startSambaDc, type TestSambaDc, unicodePwd } from '../../test/support/samba.js';
import type { TestSlapd } from '../../test/support/slapd.js';
import { slapdPaths } from '../../test/support/slapd-install.js';
import { cpuSnapshot, interference, processCpuMs } from '../lib/cpu-accounting.js';
import { jsonStringField, send } from '../lib/http.js';
import { runLoad } from '../lib/load.js';
import { childEnv, type DataDirServer, startServerWithDataDir } from '../lib/processes.js';
import type { BenchCommand, BenchContext } from '../lib/registry.js';
import { machineSummary, writeRunResults } from '../lib/results.js';
import { type LatencySummary, summarize } from '../lib/stats.js';
import { fixed, formatTable } from '../lib/table.js';
import { benchLimitSettings, rekeyContract } from '../password-change/rekey-target.js';
import {
  benchEntry,
  ldappasswdChange,
  passwordFor,
  rawChange,
  startLoadedSlapd,
  touchUsers,
} from './directory.js';

/*
 * `npm run bench -- writeback`: one real slapd (the test suite's, with TLS), Rekey as a child with
 * its limits raised out of the way, a writeback connector over StartTLS. Measures Rekey's self
 * changes of synced users (tokenless `/{tenant}/password/change`: pass-through check, then the
 * writeback operation binding as the user) beside the same RFC 3062 changes made by a loop of
 * `ldappasswd` processes (issue 10's baseline) and by ldapts in this process (stricter: no process
 * start per change), at the same concurrency; a cloud-only change's time beyond its hashing; and the full and
 * incremental sync of `--sync-users` directory users. The `activeDirectory` part does the same
 * self changes against a real Samba AD domain controller beside `ldapmodify` writing `unicodePwd`.
 */

/** Concurrent users changing their passwords, in Rekey and in the raw loop alike. */
const concurrency = 8;
const warmupMs = 1_000;
const changedForIncremental = 100;
const targetRatio = 0.8;
const targetEngineOverheadMs = 5;
const targetFullSyncSeconds = 60;
const targetIncrementalSeconds = 2;
const syncTimeoutMs = 15 * 60_000;
/** Cloud-only changes measured one after another (after three that warm the path up). */
const cloudChanges = 200;
/** /healthz round trips for the transport's own share of a change's time. */
const idleRoundTrips = 100;

interface LoadRecord {
  readonly name: string;
  readonly changesPerSecond: number;
  readonly latency: LatencySummary;
  readonly otherCores: number | undefined;
  /** Cores Rekey's server and slapd used on average over the run (warm-up included); undefined without /proc. */
  readonly rekeyCores: number | undefined;
  readonly slapdCores: number | undefined;
}

/**
 * Pids of this process's live children named `name` (slapd, which test/support starts without
 * naming its pid), so their CPU counts as the benchmark's own and not as "other"; [] without /proc.
 */
function childPidsNamed(name: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((entry) => {
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
          const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return comm === name && ppid === process.pid ? [Number(entry)] : [];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}

/** Signs the administrator in and returns the bearer token. */
async function adminToken(baseUrl: string): Promise<string> {
  const reply = await send({
    method: 'POST',
    url: `${baseUrl}${rekeyContract.tokenPath(rekeyContract.tenantDomain)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: rekeyContract.clientId,
      username: rekeyContract.adminUpn,
      password: rekeyContract.adminPassword,
      scope: rekeyContract.scope,
    }).toString(),
    expect: [200],
  });
  return jsonStringField(reply, 'access_token', 'admin sign-in');
}

/** A self change without a token, as `/{tenant}/password/change` takes it; 204 expected. */
async function selfChange(
  baseUrl: string,
  userPrincipalName: string,
  currentPassword: string,
  newPassword: string,
  signal?: AbortSignal,
): Promise<void> {
  await send({
    method: 'POST',
    url: `${baseUrl}${rekeyContract.tokenlessChangePath(rekeyContract.tenantDomain)}`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userPrincipalName, currentPassword, newPassword }),
    expect: [204],
    signal,
  });
}

/** Mean wall time of one argon2id hash and one verify with Rekey's default parameters, one at a time. */
async function hashingMs(): Promise<{ hashMs: number; verifyMs: number }> {
  const hasher = createArgon2Hasher({ memoryKib: 19456, iterations: 2, parallelism: 1 });
  const phc = await hasher.hash('Warm-Up-Password-1!');
  const rounds = 20;
  let started = performance.now();
  for (let i = 0; i < rounds; i += 1) await hasher.hash(`Harbor-Hash-${i}-Qz!`);
  const hashMs = (performance.now() - started) / rounds;
  started = performance.now();
  for (let i = 0; i < rounds; i += 1) await hasher.verify(phc, 'Warm-Up-Password-1!');
  const verifyMs = (performance.now() - started) / rounds;
  return { hashMs, verifyMs };
}

async function measureLoad(
  name: string,
  durationMs: number,
  pids: readonly number[],
  cycle: (user: number, signal: AbortSignal) => Promise<void>,
): Promise<LoadRecord> {
  const [rekeyPid, ...slapdPids] = pids;
  const cpuOf = (list: readonly number[]): number | undefined =>
    list.reduce<number | undefined>((sum, pid) => {
      const ms = processCpuMs(pid);
      return sum === undefined || ms === undefined ? undefined : sum + ms;
    }, 0);
  const rekeyBefore = cpuOf(rekeyPid === undefined ? [] : [rekeyPid]);
  const slapdBefore = cpuOf(slapdPids);
  const wallStart = performance.now();
  const result = await runLoad({
    users: concurrency,
    warmupMs,
    durationMs,
    drainTimeoutMs: 60_000,
    probe: () => cpuSnapshot(pids),
    cycle,
  });
  const { probeAtStart, probeAtEnd } = result;
  const wallMs = performance.now() - wallStart;
  const rekeyAfter = cpuOf(rekeyPid === undefined ? [] : [rekeyPid]);
  const slapdAfter = cpuOf(slapdPids);
  return {
    rekeyCores:
      rekeyBefore !== undefined && rekeyAfter !== undefined ? (rekeyAfter - rekeyBefore) / wallMs : undefined,
    slapdCores:
      slapdBefore !== undefined && slapdAfter !== undefined ? (slapdAfter - slapdBefore) / wallMs : undefined,
    name,
    changesPerSecond: result.cyclesPerSecond,
    latency: result.latency,
    otherCores: probeAtStart && probeAtEnd ? interference(probeAtStart, probeAtEnd).otherCores : undefined,
  };
}

/** The bearer of the main Rekey's /metrics (REKEY_METRICS_TOKEN), for its own hashing time. */
const metricsToken = 'rekey-bench-metrics-token';

/**
 * Seconds Rekey has spent in argon2id so far (hashes and verifications), from its /metrics;
 * undefined when they cannot be read.
 */
async function serverHashSeconds(baseUrl: string): Promise<number | undefined> {
  try {
    const reply = await send({
      method: 'GET',
      url: `${baseUrl}/metrics`,
      headers: { authorization: `Bearer ${metricsToken}` },
      expect: [200],
    });
    const sums = reply.body
      .split('\n')
      .filter((line) => line.startsWith('rekey_password_hash_duration_seconds_sum{'))
      .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
    return sums.length > 0 ? sums.reduce((a, b) => a + b, 0) : undefined;
  } catch {
    return undefined;
  }
}

/** Argon2id at the floor Rekey's configuration accepts: what a change costs when hashing costs next to nothing. */
const floorHashing = { REKEY_ARGON2_MEMORY_KIB: '1024', REKEY_ARGON2_ITERATIONS: '1' } as const;

interface BenchRekey {
  readonly rekey: DataDirServer;
  readonly auth: { readonly authorization: string; readonly 'content-type': string };
  readonly connectorId: string;
}

/**
 * Starts Rekey as a child (limits raised out of the way, plus `env`) with a writeback connector to
 * `slapd` over StartTLS, reading the users `userFilter` selects (all bench users when undefined).
 */
function startBenchRekey(
  slapd: TestSlapd,
  env: Readonly<Record<string, string>>,
  userFilter?: string,
): Promise<BenchRekey> {
  return startBenchRekeyWith(
    {
      flavor: 'openldap',
      url: slapd.url,
      startTls: true,
      caCertificate: slapd.caCertificate ?? null,
      bindDn: slapd.serviceAccount.dn,
      bindPassword: slapd.serviceAccount.password,
      baseDn: slapd.peopleDn,
      ...(userFilter ? { userFilter } : {}),
    },
    env,
  );
}

/** `--cpu-prof` for Rekey's child when `REKEY_BENCH_PROFILE_DIR` names a directory (Node refuses it in NODE_OPTIONS). */
function profileArgs(): string[] {
  const dir = process.env['REKEY_BENCH_PROFILE_DIR'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** Starts Rekey as a child with a writeback connector of `connector`'s settings. */
async function startBenchRekeyWith(
  connector: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string>>,
): Promise<BenchRekey> {
  const domain = rekeyContract.tenantDomain;
  const rekey = await startServerWithDataDir({
    name: 'rekey',
    tempPrefix: 'rekey-writeback-',
    command: process.execPath,
    args: [...profileArgs(), '--import', 'tsx', rekeyContract.entry, 'serve'],
    cwd: rekeyContract.cwd,
    env: (port, dataDir) =>
      childEnv({
        REKEY_DATA_DIR: dataDir,
        REKEY_PORT: String(port),
        REKEY_HOST: '127.0.0.1',
        REKEY_TENANT_DOMAIN: domain,
        REKEY_BOOTSTRAP_ADMIN_PASSWORD: rekeyContract.adminPassword,
        REKEY_LOG_LEVEL: 'warn',
        ...benchLimitSettings,
        ...env,
      }),
    readyPath: rekeyContract.readyPath,
    readyTimeoutMs: rekeyContract.readyTimeoutMs,
  });
  try {
    const token = await adminToken(rekey.baseUrl);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await send({
      method: 'POST',
      url: `${rekey.baseUrl}/rekey/v1/connectors`,
      headers: auth,
      body: JSON.stringify({
        displayName: 'Bench directory',
        ...connector,
        writeback: true,
        // Only the syncs the bench asks for: a scheduled one (due at once for a new connector)
        // would read the whole directory again in the middle of the measured changes.
        syncIntervalSeconds: null,
      }),
      expect: [201],
    });
    return { rekey, auth, connectorId: jsonStringField(created, 'id', 'connector creation') };
  } catch (error) {
    await rekey.stop();
    throw error;
  }
}

/** Runs a sync of the bench connector (full or incremental) and returns its time and report. */
async function runSync(target: BenchRekey, full: boolean): Promise<{ seconds: number; report: string }> {
  const started = performance.now();
  const reply = await send({
    method: 'POST',
    url: `${target.rekey.baseUrl}/rekey/v1/connectors/${target.connectorId}/sync${full ? '?full=true' : ''}`,
    headers: { authorization: target.auth.authorization },
    expect: [200],
    timeoutMs: syncTimeoutMs,
  });
  const seconds = (performance.now() - started) / 1000;
  if (jsonStringField(reply, 'result', 'sync') !== 'success') throw new Error(`sync failed: ${reply.body}`);
  return { seconds, report: reply.body };
}

/** A load of `concurrency` synced users changing their own passwords through Rekey, users `first`.. on. */
function selfChangeLoad(
  name: string,
  target: BenchRekey,
  directory: TestSlapd,
  first: number,
  durationMs: number,
): Promise<LoadRecord> {
  const domain = rekeyContract.tenantDomain;
  const counts = new Map<number, number>();
  const pids = [target.rekey.server.pid, ...childPidsNamed('slapd')];
  return measureLoad(name, durationMs, pids, async (index, signal) => {
    const n = first + index;
    const k = counts.get(n) ?? 0;
    const entry = benchEntry(n, domain, directory.peopleDn);
    await selfChange(target.rekey.baseUrl, entry.mail, passwordFor(n, k), passwordFor(n, k + 1), signal);
    counts.set(n, k + 1);
  });
}

/** The loads as a table; `directory` names the directory server's CPU column. */
function loadTable(loads: readonly LoadRecord[], directory: string): string {
  return formatTable(
    [
      { header: 'path' },
      { header: 'changes/s', align: 'right' },
      { header: 'p50 ms', align: 'right' },
      { header: 'p99 ms', align: 'right' },
      { header: 'mean ms', align: 'right' },
      { header: 'Rekey cores', align: 'right' },
      { header: `${directory} cores`, align: 'right' },
      { header: 'other CPU (cores)', align: 'right' },
    ],
    loads.map((load) => [
      load.name,
      fixed(load.changesPerSecond, 1),
      fixed(load.latency.p50Ms, 1),
      fixed(load.latency.p99Ms, 1),
      fixed(load.latency.meanMs, 1),
      fixed(load.rekeyCores, 2),
      fixed(load.slapdCores, 2),
      fixed(load.otherCores, 2),
    ]),
  );
}

async function run(context: BenchContext): Promise<void> {
  if (context.parts.has('writeback')) await runOpenLdap(context);
  if (context.parts.has('activeDirectory')) await runActiveDirectory(context);
}

/**
 * The Active Directory part: one real Samba AD domain controller (test/support/samba.ts, LDAPS),
 * Rekey with an activeDirectory writeback connector, and `concurrency` synced users changing
 * their own passwords through Rekey beside the same `unicodePwd` changes (delete the old value,
 * add the new, bound as the user) made by a loop of `ldapmodify` processes at the same
 * concurrency, on other users of the same domain controller.
 */
async function runActiveDirectory(context: BenchContext): Promise<void> {
  const durationMs = context.durationSeconds * 1000;
  const domain = rekeyContract.tenantDomain;
  const loads: LoadRecord[] = [];
  let failure: unknown;
  let dc: TestSambaDc | undefined;
  let target: BenchRekey | undefined;
  let caDir: string | undefined;
  let syncSeconds: number | undefined;
  try {
    process.stdout.write('writeback (activeDirectory): provisioning a Samba AD domain controller…\n');
    dc = await startSambaDc();
    const controller = dc;
    const users = adBenchUsers(controller, domain, 2 * concurrency);
    await controller.admin(async (client) => {
      for (const user of users) await client.add(user.dn, user.attributes);
    });
    target = await startBenchRekeyWith(
      {
        flavor: 'activeDirectory',
        url: controller.url,
        caCertificate: controller.caCertificate,
        bindDn: controller.serviceAccount.upn,
        bindPassword: controller.serviceAccount.password,
        baseDn: controller.peopleDn,
        userFilter: '(&(objectCategory=person)(objectClass=user)(sAMAccountName=wb*))',
      },
      {},
    );
    syncSeconds = (await runSync(target, true)).seconds;
    const pids = [target.rekey.server.pid, ...(controller.pid === undefined ? [] : [controller.pid])];
    const viaRekey = target;
    const rekeyCounts = new Map<number, number>();
    loads.push(
      await measureLoad('Rekey self change (AD writeback)', durationMs, pids, async (index, signal) => {
        const n = index + 1;
        const k = rekeyCounts.get(n) ?? 0;
        await selfChange(
          viaRekey.rekey.baseUrl,
          `wb${n}@${domain}`,
          passwordFor(n, k),
          passwordFor(n, k + 1),
          signal,
        );
        rekeyCounts.set(n, k + 1);
      }),
    );
    caDir = mkdtempSync(path.join(tmpdir(), 'rekey-wb-ad-'));
    const caFile = path.join(caDir, 'ca.pem');
    writeFileSync(caFile, controller.caCertificate);
    const rawCounts = new Map<number, number>();
    loads.push(
      await measureLoad('raw unicodePwd (ldapmodify)', durationMs, pids, async (index) => {
        const n = concurrency + index + 1;
        const k = rawCounts.get(n) ?? 0;
        const user = users[n - 1];
        if (!user) throw new Error(`no bench user ${n}`);
        await ldapmodifyChange(controller.url, caFile, user.dn, passwordFor(n, k), passwordFor(n, k + 1));
        rawCounts.set(n, k + 1);
      }),
    );
  } catch (error) {
    failure = error;
  } finally {
    await target?.rekey.stop();
    await dc?.close();
    if (caDir) rmSync(caDir, { recursive: true, force: true });
  }
  const [viaRekey, raw] = loads;
  const ratio = viaRekey && raw ? viaRekey.changesPerSecond / raw.changesPerSecond : undefined;
  process.stdout.write(
    `\nwriteback (activeDirectory): ${concurrency} concurrent users, one Samba AD DC (LDAPS) — ${machineSummary()}\n`,
  );
  process.stdout.write(`${loadTable(loads, 'samba')}\n`);
  process.stdout.write(
    `ratio Rekey/raw: ${fixed(ratio, 2)} (the raw loop starts one ldapmodify process per change)\n` +
      `full sync of ${2 * concurrency + Object.keys(sambaUsers).length} domain users (${2 * concurrency} selected): ${fixed(syncSeconds, 2)} s\n`,
  );
  const written = writeRunResults(
    'writeback-activeDirectory',
    context,
    { concurrency, loads, ratio, syncSeconds },
    failure,
  );
  process.stdout.write(`results: ${written.file}\n`);
  if (written.failureMessage !== undefined) throw new Error(written.failureMessage);
}

/** The AD bench users 1..`count`: CN=wbN in OU=People, UPN and mail in Rekey's tenant domain. */
function adBenchUsers(dc: TestSambaDc, domain: string, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    return {
      dn: `CN=wb${n},${dc.peopleDn}`,
      attributes: {
        objectClass: 'user',
        sAMAccountName: `wb${n}`,
        userPrincipalName: `wb${n}@${domain}`,
        mail: `wb${n}@${domain}`,
        displayName: `Bench User ${n}`,
        unicodePwd: unicodePwd(passwordFor(n, 0)) as unknown as string,
        userAccountControl: '512',
      },
    };
  });
}

/** One change as an administrator would script it: `ldapmodify` bound as the user, delete old + add new. */
function ldapmodifyChange(
  url: string,
  caFile: string,
  dn: string,
  oldPassword: string,
  newPassword: string,
): Promise<void> {
  const value = (password: string) => unicodePwd(password).toString('base64');
  const ldif = [
    `dn: ${dn}`,
    'changetype: modify',
    'delete: unicodePwd',
    `unicodePwd:: ${value(oldPassword)}`,
    '-',
    'add: unicodePwd',
    `unicodePwd:: ${value(newPassword)}`,
    '-',
    '',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(slapdPaths.ldapmodify, ['-x', '-H', url, '-D', dn, '-w', oldPassword], {
      env: { ...process.env, LDAPTLS_CACERT: caFile },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`ldapmodify exited ${code}: ${stderr.trim()}`)),
    );
    child.stdin?.end(ldif);
  });
}

async function runOpenLdap(context: BenchContext): Promise<void> {
  const durationMs = context.durationSeconds * 1000;
  // Rekey's users are 1..c, the ldapts loop's c+1..2c, the floor-hashing Rekey's 2c+1..3c, the
  // ldappasswd loop's 3c+1..4c.
  const syncUsers = Math.max(context.syncUsers ?? 100_000, 4 * concurrency + changedForIncremental);
  const domain = rekeyContract.tenantDomain;
  const loads: LoadRecord[] = [];
  const sync: Record<string, number | string> = { users: syncUsers };
  let hashing: { hashMs: number; verifyMs: number } | undefined;
  let cloud: LatencySummary | undefined;
  /** Rekey's own argon2id time per cloud-only change, from its metrics. */
  let serverHashMsPerChange: number | undefined;
  /** A /healthz round trip after the server idled as long as a change's hashing keeps it waiting. */
  let idleRoundTrip: LatencySummary | undefined;
  let failure: unknown;
  let slapd: TestSlapd | undefined;
  let main: BenchRekey | undefined;
  let floor: BenchRekey | undefined;
  try {
    process.stdout.write(`writeback: loading ${syncUsers} users into slapd…\n`);
    const loaded = await startLoadedSlapd(syncUsers, domain);
    slapd = loaded.slapd;
    sync['loadSeconds'] = loaded.loadSeconds;
    main = await startBenchRekey(slapd, { REKEY_METRICS_TOKEN: metricsToken });
    const { baseUrl } = main.rekey;
    const { auth } = main;
    const full = await runSync(main, true);
    sync['fullSeconds'] = full.seconds;
    sync['fullReport'] = full.report;
    // The incremental cursor is the directory's modifyTimestamp, in whole seconds: step past it.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await touchUsers(slapd, changedForIncremental, domain);
    const incremental = await runSync(main, false);
    sync['incrementalSeconds'] = incremental.seconds;
    sync['incrementalReport'] = incremental.report;

    const directory = slapd;
    loads.push(await selfChangeLoad('Rekey self change (writeback)', main, directory, 1, durationMs));
    const mainPid = main.rekey.server.pid;
    /** A load of raw changes of users `first`.., each user's `k`-th change by `change`. */
    const rawLoad = (
      name: string,
      first: number,
      change: (dn: string, oldPassword: string, newPassword: string) => Promise<void>,
    ) => {
      const counts = new Map<number, number>();
      return measureLoad(name, durationMs, [mainPid, ...childPidsNamed('slapd')], async (index) => {
        const n = first + index;
        const k = counts.get(n) ?? 0;
        await change(benchEntry(n, domain, directory.peopleDn).dn, passwordFor(n, k), passwordFor(n, k + 1));
        counts.set(n, k + 1);
      });
    };
    loads.push(
      await rawLoad('raw RFC 3062 (ldapts)', concurrency + 1, (dn, oldPassword, newPassword) =>
        rawChange(directory, dn, oldPassword, newPassword),
      ),
    );
    // The baseline issue 10 names: OpenLDAP's ldappasswd, one process a change, on users 3c+1..4c.
    const caDir = mkdtempSync(path.join(tmpdir(), 'rekey-wb-ldappasswd-'));
    try {
      const caFile = path.join(caDir, 'ca.pem');
      writeFileSync(caFile, directory.caCertificate ?? '');
      loads.push(
        await rawLoad(
          'raw ldappasswd (a process a change)',
          3 * concurrency + 1,
          (dn, oldPassword, newPassword) => ldappasswdChange(directory, caFile, dn, oldPassword, newPassword),
        ),
      );
    } finally {
      rmSync(caDir, { recursive: true, force: true });
    }
    // The same changes through a second Rekey whose hashing is at its floor: the measured answer
    // to "how fast is Rekey's writeback without its own hashing", in place of an estimate.
    const floorUsers = Array.from({ length: concurrency }, (_, i) => `(uid=wb${2 * concurrency + 1 + i})`);
    floor = await startBenchRekey(
      slapd,
      floorHashing,
      `(&(objectClass=inetOrgPerson)(|${floorUsers.join('')}))`,
    );
    await runSync(floor, true);
    loads.push(
      await selfChangeLoad(
        'Rekey self change, argon2id at its floor',
        floor,
        directory,
        2 * concurrency + 1,
        durationMs,
      ),
    );
    await floor.rekey.stop();
    floor = undefined;

    // A cloud-only user changing its own password, one change at a time.
    const cloudUpn = `cloud-bench@${domain}`;
    await send({
      method: 'POST',
      url: `${baseUrl}${rekeyContract.createUserPath}`,
      headers: auth,
      body: JSON.stringify({
        accountEnabled: true,
        displayName: 'Cloud Bench',
        mailNickname: 'cloud-bench',
        userPrincipalName: cloudUpn,
        passwordProfile: { password: passwordFor(0, 0), forceChangePasswordNextSignIn: false },
      }),
      expect: [201],
    });
    // The first three warm the path up.
    for (let k = 0; k < 3; k += 1)
      await selfChange(baseUrl, cloudUpn, passwordFor(0, k), passwordFor(0, k + 1));
    const hashedBefore = await serverHashSeconds(baseUrl);
    const cloudSamples: number[] = [];
    for (let k = 3; k < cloudChanges + 3; k += 1) {
      const started = performance.now();
      await selfChange(baseUrl, cloudUpn, passwordFor(0, k), passwordFor(0, k + 1));
      cloudSamples.push(performance.now() - started);
    }
    const hashedAfter = await serverHashSeconds(baseUrl);
    cloud = summarize(cloudSamples);
    if (hashedBefore !== undefined && hashedAfter !== undefined)
      serverHashMsPerChange = ((hashedAfter - hashedBefore) * 1000) / cloudChanges;
    // For scale, not subtracted: what the HTTP exchange alone costs on this machine when the server
    // has been idle for as long as it waits on a change's hashing (a sleeping core wakes slowly).
    const idleMs = serverHashMsPerChange ?? 20;
    const roundTrips: number[] = [];
    for (let i = 0; i < idleRoundTrips; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, idleMs));
      const started = performance.now();
      await send({ method: 'GET', url: `${baseUrl}/healthz`, expect: [200] });
      roundTrips.push(performance.now() - started);
    }
    idleRoundTrip = summarize(roundTrips);
    hashing = await hashingMs();
  } catch (error) {
    failure = error;
  } finally {
    await floor?.rekey.stop();
    await main?.rekey.stop();
    await slapd?.close();
  }

  const loadNamed = (name: string) => loads.find((load) => load.name === name);
  const viaRekey = loadNamed('Rekey self change (writeback)');
  const rawLibrary = loadNamed('raw RFC 3062 (ldapts)');
  const rawTool = loadNamed('raw ldappasswd (a process a change)');
  const viaFloorRekey = loadNamed('Rekey self change, argon2id at its floor');
  const ratioOf = (rekey: LoadRecord | undefined, raw: LoadRecord | undefined) =>
    rekey && raw ? rekey.changesPerSecond / raw.changesPerSecond : undefined;
  // A synced user's change checks the current password with a bind (pass-through, no verify) and
  // hashes the new one (password-operation.ts `begin`); a cloud-only change verifies and hashes.
  const hashPerChangeMs = hashing ? hashing.hashMs + hashing.verifyMs : undefined;
  // The baseline is the ldappasswd loop. Rekey's hashing taken out is measured, not
  // estimated: the same changes through a Rekey hashing at its floor (about a millisecond per
  // hash, which stays in: the figure errs against Rekey).
  const ratio = ratioOf(viaRekey, rawTool);
  const ratioWithoutHashing = ratioOf(viaFloorRekey, rawTool);
  // Beside it, the same operations from ldapts in this process: no process start per change, so
  // a stricter baseline than the issue asks for; reported, with no target of its own.
  const libraryRatio = ratioOf(viaRekey, rawLibrary);
  const libraryRatioWithoutHashing = ratioOf(viaFloorRekey, rawLibrary);
  // Rekey's hashing as Rekey timed it (its metrics, over the same changes), not as this process
  // times argon2id apart: the two differ by several milliseconds from one run to the next, as
  // much as the overhead measured. This process's figure stands in only without the metrics.
  const hashOfCloudChangeMs = serverHashMsPerChange ?? hashPerChangeMs;
  const engineOverheadMs =
    cloud && hashOfCloudChangeMs !== undefined ? cloud.p50Ms - hashOfCloudChangeMs : undefined;

  process.stdout.write(
    `\nwriteback: ${concurrency} concurrent users, one slapd (StartTLS) — ${machineSummary()}\n`,
  );
  process.stdout.write(`${loadTable(loads, 'slapd')}\n`);
  const verdict = (value: number | undefined, met: (v: number) => boolean) =>
    value === undefined || !Number.isFinite(value) ? 'not measured' : met(value) ? 'met' : 'NOT met';
  const lines = [
    `argon2id alone in this process: hash ${fixed(hashing?.hashMs, 1)} ms, verify ${fixed(hashing?.verifyMs, 1)} ms` +
      ' (a synced change hashes once, its current password checked by a bind; a cloud-only change verifies and hashes)',
    `ratio Rekey/ldappasswd with Rekey's hashing in: ${fixed(ratio, 2)} (the target applies with it taken out, next line)`,
    `ratio Rekey/ldappasswd with Rekey's hashing at its floor (argon2id m=${floorHashing.REKEY_ARGON2_MEMORY_KIB} KiB, t=${floorHashing.REKEY_ARGON2_ITERATIONS}): ${fixed(ratioWithoutHashing, 2)}` +
      ` (target >= ${targetRatio}: ${verdict(ratioWithoutHashing, (v) => v >= targetRatio)})`,
    `ratio Rekey/ldapts in this process (stricter: no process start per change; no target): ${fixed(libraryRatio, 2)} with Rekey's hashing, ${fixed(libraryRatioWithoutHashing, 2)} at its floor`,
    `cloud-only self change: p50 ${fixed(cloud?.p50Ms, 1)} ms end to end, ${fixed(engineOverheadMs, 1)} ms beyond its hashing` +
      ` (${fixed(hashOfCloudChangeMs, 1)} ms a change, ${serverHashMsPerChange === undefined ? "argon2id timed in this process: Rekey's metrics were not read" : "as Rekey's own metrics timed it"})` +
      ` (target < ${targetEngineOverheadMs} ms: ${verdict(engineOverheadMs, (v) => v < targetEngineOverheadMs)})`,
    `for scale, not subtracted: a /healthz round trip after ${fixed(hashOfCloudChangeMs ?? 20, 0)} ms idle: p50 ${fixed(idleRoundTrip?.p50Ms, 1)} ms`,
    `slapd load of ${syncUsers} users: ${fixed(Number(sync['loadSeconds']), 1)} s`,
    `full sync of ${syncUsers} users: ${fixed(Number(sync['fullSeconds']), 2)} s` +
      ` (target < ${targetFullSyncSeconds} s for 100000: ${syncUsers >= 100_000 ? verdict(Number(sync['fullSeconds']), (v) => v < targetFullSyncSeconds) : 'not measured, too few users'})`,
    `incremental sync, ${changedForIncremental} changed: ${fixed(Number(sync['incrementalSeconds']), 2)} s` +
      ` (target < ${targetIncrementalSeconds} s: ${verdict(Number(sync['incrementalSeconds']), (v) => v < targetIncrementalSeconds)})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const written = writeRunResults(
    'writeback',
    context,
    {
      concurrency,
      loads,
      hashing,
      baseline: 'raw ldappasswd (a process a change)',
      ratio,
      ratioWithoutHashing,
      libraryRatio,
      libraryRatioWithoutHashing,
      cloudOnly: cloud,
      cloudChanges,
      engineOverheadMs,
      idleRoundTrip,
      serverHashMsPerChange,
      sync,
      targets: {
        // Issue 10: ">= 0.8 after subtracting Rekey's own hashing", against the ldappasswd loop.
        ratio: targetRatio,
        ratioAppliesTo: 'ratioWithoutHashing',
        engineOverheadMs: targetEngineOverheadMs,
        fullSyncSeconds: targetFullSyncSeconds,
        incrementalSeconds: targetIncrementalSeconds,
      },
    },
    failure,
  );
  process.stdout.write(`results: ${written.file}\n`);
  if (written.failureMessage !== undefined) throw new Error(written.failureMessage);
}

/** `npm run bench -- writeback`. */
export const writeback: BenchCommand = {
  name: 'writeback',
  description:
    'writeback changes/s through Rekey vs raw RFC 3062 changes (ldappasswd, and ldapts in process) on one slapd, and vs raw unicodePwd changes on a Samba AD DC; job overhead; directory sync',
  parts: [
    { name: 'writeback', description: 'load slapd, sync, then Rekey vs raw changes and a cloud-only change' },
    {
      name: 'activeDirectory',
      description: 'a Samba AD DC: Rekey self changes vs raw unicodePwd changes with ldapmodify',
    },
  ],
  run,
};
