import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRekeyCli } from '../support/cli-run.js';
import { freePort } from '../support/free-port.js';
import { startTestRekey, type TestRekey } from '../support/rekey-harness.js';
import { startSlapd, type TestSlapd } from '../support/slapd.js';
import { writeSlapdEnv } from '../support/slapd-env.js';
import { type DocCommand, docSources, extractCommands, promisedOutput } from './doc-commands.js';

/*
 * Every shell command of the README and of docs/ (every ```sh block), run in the order a reader
 * meets them, in one bash session, against a real Rekey listening on a free port, and (for the
 * README's hybrid section) a real slapd started as `npm run slapd` starts it. The commands
 * are the doc's own text; only the documented base URL is replaced by the test server's. A
 * command fails the suite when it exits non-zero, when any HTTP request it makes is answered
 * 4xx/5xx, or when a trailing comment that states its output (`# 204`, `# false`) is not what
 * it printed, unless `expected` below says otherwise.
 */

/** The address the docs use for a local Rekey; the test substitutes its own server's. */
const documentedBase = 'http://127.0.0.1:8080';

/** Commands the test does not run, each with the reason. Matched by their exact text. */
const skipped: ReadonlyMap<string, string> = new Map([
  [
    'npm install && npm start      # runs Rekey on the embedded SQLite database, nothing else needed',
    'installs packages and starts a server: the test starts its own Rekey',
  ],
  [
    'npm test                      # lint, format check, type check, and the whole test suite',
    'it is this suite',
  ],
  [
    "REKEY_BOOTSTRAP_ADMIN_PASSWORD='Harbor-Lights-42!' npm start",
    'the test starts Rekey itself, on a free port, with this bootstrap password (read from this line)',
  ],
  [
    'REKEY_DATABASE_URL=postgres://... npm run rekey -- dev seed-logs --signins 10000000 --audits 1000000 \\\n  [--days 30] [--users 20000] [--seed rekey] [--end 2026-01-31T00:00:00Z] [--json]',
    'a synopsis (with [optional] parts) of a ten-million-row seeding for the scale benchmark',
  ],
  [
    'npm run bench -- logs                      # everything (first run builds both databases)',
    'the scale benchmark: about 15 minutes and 27 GB on first run',
  ],
  ['npm run bench -- logs --only sqlite        # SQLite queries only', 'the scale benchmark'],
  ['npm run bench -- logs --only postgres,throughput-postgres', 'the scale benchmark'],
  [
    'npm run bench -- portal                                   # 100,000 users, 1,000,000 sign-ins, 5 loads per figure',
    'the portal benchmark: builds a million-row data set on first run',
  ],
  [
    'npm run bench -- portal --users 2000 --sign-ins 20000     # a small data set, for a quick look',
    'the portal benchmark',
  ],
  ['npm run bench -- portal --only users,sign-ins --repeat 10', 'the portal benchmark'],
  [
    'npm run slapd -- --dir local-slapd      # stays in the foreground; Ctrl-C stops it and removes its data',
    'runs until stopped: the test starts the same slapd itself (startSlapd with TLS) and writes local-slapd/ with writeSlapdEnv, as the command does',
  ],
]);

/** Commands whose documented result is a refusal: the exit status and HTTP status they must give. */
const expected: ReadonlyArray<{
  readonly match: string;
  readonly exit?: number;
  readonly httpStatus: number;
  readonly why: string;
}> = [
  { match: '-d password=nope', httpStatus: 400, why: 'shows the wrong-password error' },
  { match: '"newPassword":"short"', httpStatus: 400, why: 'shows the policy refusal' },
  {
    match: '| jq .error.innerError.aadstsCode   # 120000',
    httpStatus: 400,
    why: 'shows the wrong current password of a directory user',
  },
  { match: '| jq .error.innerError.aadstsCode', httpStatus: 401, why: 'shows 50133 after a password change' },
  {
    match: '.error.innerError.causeCode',
    httpStatus: 400,
    why: "shows the directory's password policy refusing a change (120008, cause 120004)",
  },
  {
    match: "npx rekey policy test --user ada@example.com 'Summer2024!'",
    exit: 1,
    httpStatus: 0,
    why: 'the policy refuses it, and rekey policy test exits 1 on a refusal (as the README says)',
  },
];

const commands: readonly DocCommand[] = docSources().flatMap((source) => extractCommands(source));
const runnable = commands.filter((command) => !skipped.has(command.text));

interface Outcome {
  readonly exit: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly httpStatuses: readonly number[];
}

/** The bootstrap password the README starts Rekey with, so its sign-in commands work as written. */
function readmeBootstrapPassword(): string {
  const start = commands.find((command) => command.text.includes('REKEY_BOOTSTRAP_ADMIN_PASSWORD='));
  const password = /REKEY_BOOTSTRAP_ADMIN_PASSWORD='([^']+)'/.exec(start?.text ?? '')?.[1];
  if (!password) throw new Error('the README no longer starts Rekey with REKEY_BOOTSTRAP_ADMIN_PASSWORD');
  return password;
}

/** Runs `script` in bash; resolves when it ends (its own status is in the files it writes). */
function runBash(
  script: string,
  options: { readonly cwd: string; readonly timeout: number; readonly env: NodeJS.ProcessEnv },
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], options, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Answers `rekey <args>` (NUL-terminated arguments posted to the unix socket `socket`) by running the CLI
 * in-process with `env` as its whole environment and `cwd` as its working directory.
 */
async function serveCli(socket: string, cwd: string, env: Record<string, string>): Promise<Server> {
  let queue: Promise<unknown> = Promise.resolve();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      queue = queue.then(async () => {
        const home = process.cwd();
        try {
          const args = Buffer.concat(chunks).toString('utf8').split('\0').slice(0, -1);
          process.chdir(cwd);
          response.end(JSON.stringify(await runRekeyCli(env, args)));
        } catch (error) {
          response.end(
            JSON.stringify({ code: 99, out: '', err: `the test could not run the CLI: ${String(error)}` }),
          );
        } finally {
          process.chdir(home);
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

describe('the shell commands of the README and docs/', () => {
  let rekey: TestRekey | undefined;
  let dir: string;
  let cli: Server | undefined;
  let slapd: TestSlapd | undefined;
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rekey-docs-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    rekey = await startTestRekey('sqlite', {
      env: {
        REKEY_DATABASE_URL: `sqlite:${path.join(dir, 'rekey.sqlite')}`,
        REKEY_BOOTSTRAP_ADMIN_PASSWORD: readmeBootstrapPassword(),
        REKEY_PUBLIC_URL: base,
        REKEY_PORT: String(port),
      },
    });
    await rekey.app.listen({ port, host: '127.0.0.1' });
    // As `rekey serve` does: the worker carries out resets in the background.
    rekey.worker.start();

    // `curl` records each response's headers beside the command that sent it. `npx rekey` runs
    // the CLI's own code (runCli, as dist/main.js does) in this process, in the reader's working
    // directory: a build of dist/ and a Node start per command would take minutes on a busy machine.
    const bin = path.join(dir, 'bin');
    const trace = path.join(dir, 'trace');
    const work = path.join(dir, 'work');
    const socket = path.join(dir, 'cli.sock');
    for (const made of [bin, trace, work]) mkdirSync(made);
    // What the README's `npm run slapd -- --dir local-slapd` does, from the same code.
    slapd = await startSlapd({ tls: true });
    mkdirSync(path.join(work, 'local-slapd'));
    writeSlapdEnv(slapd, path.join(work, 'local-slapd'));
    const realCurl = spawnSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      path.join(bin, 'curl'),
      `#!/bin/bash\nexec ${realCurl} -D "${trace}/$REKEY_DOCS_STEP.$(date +%s%N)" "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      path.join(bin, 'npx'),
      [
        '#!/bin/bash',
        'if [ "$1" != rekey ]; then exec npx "$@"; fi',
        'shift',
        `answer=$(printf '%s\\0' "$@" | ${realCurl} -s --max-time 60 --unix-socket "${socket}" --data-binary @- http://cli/)`,
        'printf "%s" "$(jq -j .out <<< "$answer")"; [ -n "$(jq -j .out <<< "$answer")" ] && echo',
        'printf "%s" "$(jq -j .err <<< "$answer")" >&2; [ -n "$(jq -j .err <<< "$answer")" ] && echo >&2',
        'exit "$(jq -j \'.code // 98\' <<< "$answer")"',
      ].join('\n'),
      { mode: 0o755 },
    );
    cli = await serveCli(socket, work, {
      REKEY_DATABASE_URL: rekey.config.databaseUrl,
      REKEY_DATA_DIR: rekey.dataDir,
      REKEY_ARGON2_MEMORY_KIB: '1024',
      REKEY_ARGON2_ITERATIONS: '1',
      REKEY_LOG_LEVEL: 'error',
    });
    // The list `rekey breached import pwned-passwords-sha1.txt` reads: two entries in its format.
    writeFileSync(
      path.join(work, 'pwned-passwords-sha1.txt'),
      '7C4A8D09CA3762AF61E59520943DC26494F8941B:24230577\nB1B3773A05C0ED0176787A4F1574FF0075F7521E:3645804\n',
    );

    const script = ['set -o pipefail'];
    runnable.forEach((command, step) => {
      const text = command.text.replaceAll(documentedBase, base);
      script.push(
        `export REKEY_DOCS_STEP=${step}`,
        `{ ${text}\n} > "${dir}/out.${step}" 2> "${dir}/err.${step}" < /dev/null`,
        `echo $? > "${dir}/exit.${step}"`,
      );
    });
    // Asynchronously: the server answers from this same process.
    await runBash(script.join('\n'), {
      cwd: work,
      timeout: 240_000,
      env: {
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
        HOME: process.env['HOME'] ?? dir,
      },
    });

    const traces = readdirSync(trace);
    runnable.forEach((_command, step) => {
      const read = (name: string) => readFileSync(path.join(dir, `${name}.${step}`), 'utf8');
      const httpStatuses = traces
        .filter((name) => name.startsWith(`${step}.`))
        .sort()
        .flatMap((name) =>
          [...readFileSync(path.join(trace, name), 'utf8').matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].map((m) =>
            Number(m[1]),
          ),
        );
      outcomes.push({ exit: Number(read('exit')), stdout: read('out'), stderr: read('err'), httpStatuses });
    });
  }, 360_000);

  afterAll(async () => {
    await new Promise((resolve) => (cli ? cli.close(resolve) : resolve(undefined)));
    await rekey?.close();
    await slapd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('are found, and every skipped one is still in the docs', () => {
    expect(runnable.length).toBeGreaterThan(60);
    for (const text of skipped.keys()) expect(commands.map((c) => c.text)).toContain(text);
    for (const { match } of expected)
      expect(
        runnable.some((c) => c.text.includes(match)),
        match,
      ).toBe(true);
  });

  it.each(runnable.map((command, step) => ({ ...command, step })))(
    '$source:$line works as written',
    ({ step, text }) => {
      const outcome = outcomes[step];
      if (!outcome) throw new Error('the command did not run');
      const refusal = expected.find(({ match }) => text.includes(match));
      const context = `${text}\nexit ${outcome.exit}, HTTP ${outcome.httpStatuses.join(', ')}\nstdout: ${outcome.stdout}\nstderr: ${outcome.stderr}`;
      expect(outcome.exit, context).toBe(refusal?.exit ?? 0);
      for (const status of outcome.httpStatuses)
        expect(status, context).toBe(
          refusal && refusal.httpStatus !== 0 ? refusal.httpStatus : status < 400 ? status : 0,
        );
      const promised = promisedOutput({ source: '', line: 0, text });
      if (promised) {
        const printed = spawnSync('jq', ['-cs', '.'], { input: outcome.stdout, encoding: 'utf8' });
        expect(JSON.parse(printed.stdout) as unknown, context).toEqual(promised);
      }
    },
  );
});
