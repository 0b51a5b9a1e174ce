import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { cpuSnapshot, interference } from '../lib/cpu-accounting.js';
import { childEnv, startServerWithDataDir } from '../lib/processes.js';
import type { BenchCommand, BenchContext } from '../lib/registry.js';
import { machineSummary, writeRunResults } from '../lib/results.js';
import { type LatencySummary, summarize } from '../lib/stats.js';
import { fixed, formatTable } from '../lib/table.js';
import { rekeyContract } from '../password-change/rekey-target.js';

/*
 * `npm run bench -- flood`: a legitimate user's sign-in latency with no flood, then while 100
 * concurrent sign-ins for unknown users arrive from other loopback addresses (127.0.0.2 and up,
 * one address per flooding connection, each bound with undici's `localAddress`). Rekey runs
 * with its default limits and hashing bound. The legitimate users sign in as people do: each from
 * an address of its own (127.0.1.1 and up), one sign-in every `legitimatePaceMs` between them all,
 * so none of them reaches the per-address or per-user limit and the figure is the sign-in's own
 * latency, not a throttled answer's.
 */

const floodConcurrency = 100;
/** The legitimate sign-ins rotate over this many accounts, each from its own address. */
const legitimateUsers = 16;
/** One legitimate sign-in starts this often (about 19 a minute for each user, under the default 30). */
const legitimatePaceMs = 200;
const legitimatePassword = 'Harbor-Signal-27!-bench';
/** The figure the flood must not push the legitimate p99 beyond. */
const targetP99Ms = 1_000;
const requestTimeoutMs = 30_000;

interface PhaseRecord {
  readonly phase: 'no flood' | 'flood';
  readonly legitimate: LatencySummary;
  /** Answers to the legitimate user by HTTP status (200 signed in; 503 shed; 429 throttled). */
  readonly legitimateStatuses: Readonly<Record<string, number>>;
  /** Answers to the flood by HTTP status (400 unknown user; 503 shed; 429 throttled). */
  readonly floodStatuses: Readonly<Record<string, number>>;
  readonly floodRequestsPerSecond: number;
  /** Cores other processes than the benchmark and Rekey used during the phase; undefined without /proc. */
  readonly otherCores: number | undefined;
}

function form(username: string, password: string): string {
  return new URLSearchParams({
    grant_type: 'password',
    client_id: rekeyContract.clientId,
    username,
    password,
    scope: rekeyContract.scope,
  }).toString();
}

/** Posts a password grant through `agent`; returns its status and how long it took. */
async function signIn(baseUrl: string, agent: Agent, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await request(`${baseUrl}${rekeyContract.tokenPath(rekeyContract.tenantDomain)}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  await response.body.text();
  return { status: response.statusCode, ms: performance.now() - started };
}

function tally(counts: Record<string, number>, status: number): void {
  counts[String(status)] = (counts[String(status)] ?? 0) + 1;
}

/** Signs the legitimate users in one after another, one every `legitimatePaceMs`, for `durationMs`. */
async function legitimateLoop(baseUrl: string, agents: readonly Agent[], durationMs: number) {
  const samples: number[] = [];
  const statuses: Record<string, number> = {};
  const end = performance.now() + durationMs;
  for (let i = 0; performance.now() < end; i += 1) {
    const started = performance.now();
    const user = (i % legitimateUsers) + 1;
    const agent = agents[user - 1];
    if (agent === undefined) throw new Error(`no agent for legit${user}`);
    const { status, ms } = await signIn(
      baseUrl,
      agent,
      form(`legit${user}@${rekeyContract.tenantDomain}`, legitimatePassword),
    );
    samples.push(ms);
    tally(statuses, status);
    const rest = legitimatePaceMs - (performance.now() - started);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  }
  return { latency: summarize(samples), statuses };
}

/** 100 loops, each from its own loopback address, signing in unknown users until `stop`. */
function startFlood(baseUrl: string, agents: readonly Agent[]) {
  let running = true;
  let sent = 0;
  const statuses: Record<string, number> = {};
  const loops = agents.map(async (agent, index) => {
    for (let n = 0; running; n += 1) {
      try {
        const { status } = await signIn(
          baseUrl,
          agent,
          form(`nobody-${index}-${n}@${rekeyContract.tenantDomain}`, 'Guess-1234!'),
        );
        tally(statuses, status);
      } catch {
        tally(statuses, 0);
      }
      sent += 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { statuses, sent };
    },
  };
}

/** A keep-alive client whose sockets leave from `localAddress` (the address Rekey counts by). */
function agentFrom(localAddress: string): Agent {
  // The client's own `localAddress`: undici passes it to every socket it connects.
  return new Agent({ localAddress });
}

async function run(context: BenchContext): Promise<void> {
  const durationMs = context.durationSeconds * 1000;
  const started = await startServerWithDataDir({
    name: 'rekey',
    tempPrefix: 'rekey-flood-',
    command: process.execPath,
    args: ['--import', 'tsx', rekeyContract.entry, 'serve'],
    cwd: rekeyContract.cwd,
    env: (port, dataDir) =>
      childEnv({
        REKEY_DATA_DIR: dataDir,
        REKEY_PORT: String(port),
        REKEY_HOST: '0.0.0.0',
        REKEY_PUBLIC_URL: `http://127.0.0.1:${port}`,
        REKEY_TENANT_DOMAIN: rekeyContract.tenantDomain,
        REKEY_BOOTSTRAP_ADMIN_PASSWORD: rekeyContract.adminPassword,
        REKEY_LOG_LEVEL: 'error',
      }),
    readyPath: rekeyContract.readyPath,
    readyTimeoutMs: rekeyContract.readyTimeoutMs,
  });
  const { baseUrl } = started;
  const legitimateAgent = agentFrom('127.0.0.1');
  const legitimateAgents = Array.from({ length: legitimateUsers }, (_, i) => agentFrom(`127.0.1.${i + 1}`));
  const floodAgents = Array.from({ length: floodConcurrency }, (_, i) => agentFrom(`127.0.0.${i + 2}`));
  const phases: PhaseRecord[] = [];
  let failure: unknown;
  try {
    const admin = await signIn(
      baseUrl,
      legitimateAgent,
      form(rekeyContract.adminUpn, rekeyContract.adminPassword),
    );
    if (admin.status !== 200) throw new Error(`the administrator could not sign in (${admin.status})`);
    const tokenReply = await request(`${baseUrl}${rekeyContract.tokenPath(rekeyContract.tenantDomain)}`, {
      method: 'POST',
      dispatcher: legitimateAgent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form(rekeyContract.adminUpn, rekeyContract.adminPassword),
    });
    const adminToken = ((await tokenReply.body.json()) as { access_token: string }).access_token;
    for (let user = 1; user <= legitimateUsers; user += 1) {
      const created = await request(`${baseUrl}${rekeyContract.createUserPath}`, {
        method: 'POST',
        dispatcher: legitimateAgent,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          accountEnabled: true,
          displayName: `Legitimate ${user}`,
          mailNickname: `legit${user}`,
          userPrincipalName: `legit${user}@${rekeyContract.tenantDomain}`,
          passwordProfile: { password: legitimatePassword, forceChangePasswordNextSignIn: false },
        }),
      });
      await created.body.text();
      if (created.statusCode !== 201) throw new Error(`creating legit${user} answered ${created.statusCode}`);
    }

    const pids = [started.server.pid];
    const quietBefore = cpuSnapshot(pids);
    const quiet = await legitimateLoop(baseUrl, legitimateAgents, durationMs);
    const quietAfter = cpuSnapshot(pids);
    phases.push({
      otherCores: quietBefore && quietAfter ? interference(quietBefore, quietAfter).otherCores : undefined,
      phase: 'no flood',
      legitimate: quiet.latency,
      legitimateStatuses: quiet.statuses,
      floodStatuses: {},
      floodRequestsPerSecond: 0,
    });

    const before = cpuSnapshot(pids);
    const flood = startFlood(baseUrl, floodAgents);
    // Let the flood fill the queue before measuring.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const flooded = await legitimateLoop(baseUrl, legitimateAgents, durationMs);
    const floodResult = await flood.stop();
    const after = cpuSnapshot(pids);
    phases.push({
      otherCores: before && after ? interference(before, after).otherCores : undefined,
      phase: 'flood',
      legitimate: flooded.latency,
      legitimateStatuses: flooded.statuses,
      floodStatuses: floodResult.statuses,
      floodRequestsPerSecond: floodResult.sent / (durationMs / 1000 + 1),
    });
  } catch (error) {
    failure = error;
  } finally {
    await Promise.all([legitimateAgent, ...legitimateAgents, ...floodAgents].map((agent) => agent.close()));
    await started.stop();
  }

  const statusText = (counts: Readonly<Record<string, number>>) =>
    Object.entries(counts)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, count]) => `${status}:${count}`)
      .join(' ') || '-';
  process.stdout.write(
    `\nflood: a legitimate sign-in under 100 concurrent unknown-user sign-ins — ${machineSummary()}\n`,
  );
  process.stdout.write(
    `${formatTable(
      [
        { header: 'phase' },
        { header: 'sign-ins', align: 'right' },
        { header: 'p50 ms', align: 'right' },
        { header: 'p99 ms', align: 'right' },
        { header: 'max ms', align: 'right' },
        { header: 'legitimate answers' },
        { header: 'flood req/s', align: 'right' },
        { header: 'flood answers' },
        { header: 'other cores', align: 'right' },
      ],
      phases.map((phase) => [
        phase.phase,
        String(phase.legitimate.count),
        fixed(phase.legitimate.p50Ms, 1),
        fixed(phase.legitimate.p99Ms, 1),
        fixed(phase.legitimate.maxMs, 1),
        statusText(phase.legitimateStatuses),
        fixed(phase.floodRequestsPerSecond, 0),
        statusText(phase.floodStatuses),
        fixed(phase.otherCores, 2),
      ]),
    )}\n`,
  );
  const flooded = phases.find((phase) => phase.phase === 'flood');
  const met = flooded !== undefined && flooded.legitimate.p99Ms < targetP99Ms;
  process.stdout.write(
    `target: legitimate p99 under the flood < ${targetP99Ms} ms: ${flooded ? (met ? 'met' : 'NOT met') : 'not measured'}\n`,
  );
  if (flooded !== undefined) {
    const signedIn = flooded.legitimateStatuses['200'] ?? 0;
    process.stdout.write(
      `legitimate sign-ins answered 200 under the flood: ${signedIn} of ${flooded.legitimate.count}` +
        ' (the rest were shed with 503 and Retry-After, or throttled with 429)\n',
    );
  }
  const written = writeRunResults(
    'flood',
    context,
    { targetP99Ms, floodConcurrency, legitimateUsers, targetMet: met, phases },
    failure,
  );
  process.stdout.write(`results: ${written.file}\n`);
  if (written.failureMessage !== undefined) throw new Error(written.failureMessage);
}

/** `npm run bench -- flood`. */
export const flood: BenchCommand = {
  name: 'flood',
  description: "a legitimate user's sign-in p50/p99, alone and under 100 concurrent unknown-user sign-ins",
  parts: [{ name: 'flood', description: 'the two phases: no flood, then the flood from 127.0.0.2 and up' }],
  run,
};
