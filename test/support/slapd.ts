import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import selfsigned from 'selfsigned';
import { freePort } from './free-port.js';
import {
  baseDn,
  fixtureLdif,
  peopleDn,
  readOnlyAccount,
  rootDn,
  rootPassword,
  serviceAccount,
  standardPolicyDn,
} from './slapd-fixtures.js';
import { ensureSlapdInstalled, slapdPaths } from './slapd-install.js';

const execFileAsync = promisify(execFile);

export interface SlapdOptions {
  /** Also listen for ldaps:// and offer StartTLS, with a throwaway certificate for 127.0.0.1/localhost. */
  readonly tls?: boolean;
  /** Lines added to the global section of slapd.conf (for example `security simple_bind=64`). */
  readonly extraGlobalConfig?: readonly string[];
  /** The mdb map size in bytes (default 64 MiB); the writeback bench loads 100,000 users. */
  readonly maxSizeBytes?: number;
}

/** A real OpenLDAP server for one test file, with the fixtures of `slapd-fixtures.ts` loaded. */
export interface TestSlapd {
  /** `ldap://127.0.0.1:<port>`. */
  readonly url: string;
  /** `ldaps://127.0.0.1:<port>`, when started with `tls`. */
  readonly ldapsUrl: string | undefined;
  /** The PEM certificate the server presents (self-signed, so also its CA), when started with `tls`. */
  readonly caCertificate: string | undefined;
  readonly port: number;
  readonly baseDn: string;
  readonly peopleDn: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  readonly serviceAccount: { readonly dn: string; readonly password: string };
  readonly readOnlyAccount: { readonly dn: string; readonly password: string };
  readonly isRunning: boolean;
  /** Stops the server cleanly (SIGTERM) and waits for it to exit; the data stays. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash or a pulled cable would. */
  kill(): Promise<void>;
  /** Starts it again on the same port over the same data, and waits until it answers. */
  start(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
  /**
   * Freezes the process (SIGSTOP): connections open, nothing answers, so clients time out.
   * Resolves once the kernel shows it stopped (a signal lands asynchronously, and a request sent
   * on an open connection at once could otherwise still be answered).
   */
  pause(): Promise<void>;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
  /** Applies LDIF change records as the root DN (ldapmodify), for arranging a test's state. */
  modify(ldif: string): Promise<void>;
  /** Stops the server and removes its files. */
  close(): Promise<void>;
}

/** Waits until /proc shows every thread of `pid` stopped (state T), for at most two seconds. */
async function waitUntilStopped(pid: number): Promise<void> {
  const giveUpAt = Date.now() + 2_000;
  // The state follows the command name in parentheses, which may itself hold spaces.
  const stopped = (task: string): boolean => {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  };
  while (Date.now() < giveUpAt) {
    if (readdirSync(`/proc/${pid}/task`).every(stopped)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`slapd (pid ${pid}) did not stop within 2 s of SIGSTOP`);
}

function slapdConf(
  dir: string,
  options: SlapdOptions,
  tlsFiles: { cert: string; key: string } | undefined,
): string {
  const schema = (name: string): string => `include ${slapdPaths.schemaDir}/${name}.schema`;
  return [
    schema('core'),
    schema('cosine'),
    schema('inetorgperson'),
    schema('nis'),
    `modulepath ${slapdPaths.modulePath}`,
    'moduleload back_mdb',
    'moduleload ppolicy',
    `pidfile ${path.join(dir, 'slapd.pid')}`,
    `argsfile ${path.join(dir, 'slapd.args')}`,
    'loglevel none',
    ...(tlsFiles
      ? [
          `TLSCertificateFile ${tlsFiles.cert}`,
          `TLSCertificateKeyFile ${tlsFiles.key}`,
          `TLSCACertificateFile ${tlsFiles.cert}`,
        ]
      : []),
    ...(options.extraGlobalConfig ?? []),
    '',
    'database mdb',
    `suffix "${baseDn}"`,
    `rootdn "${rootDn}"`,
    `rootpw ${rootPassword}`,
    `directory ${path.join(dir, 'data')}`,
    `maxsize ${options.maxSizeBytes ?? 67108864}`,
    // Tests write little and need no durability: no fsync per write.
    'dbnosync',
    'index objectClass eq',
    'index uid eq',
    '',
    'overlay ppolicy',
    `ppolicy_default "${standardPolicyDn}"`,
    // Passwords written in clear through an ordinary modify are hashed, as the exop's are.
    'ppolicy_hash_cleartext',
    // A bind to a locked account answers accountLocked in the response control, not only 49.
    'ppolicy_use_lockout',
    '',
    'access to attrs=userPassword',
    `  by dn.exact="${serviceAccount.dn}" write`,
    '  by self write',
    '  by anonymous auth',
    '  by * none',
    'access to *',
    `  by dn.exact="${serviceAccount.dn}" read`,
    `  by dn.exact="${readOnlyAccount.dn}" read`,
    '  by self read',
    '  by users read',
    '  by * none',
    '',
  ].join('\n');
}

/** Resolves once something accepts TCP connections on the port, or rejects after `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`slapd exited while starting (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    const isOpen = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (isOpen) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

/**
 * Starts Debian's `slapd` as a plain child process on 127.0.0.1 and a free port, from a temporary
 * slapd.conf (mdb in a temporary directory, the ppolicy overlay) with the fixtures loaded. One
 * per test file: tests stop, kill and pause it, and change its users' state.
 */
export async function startSlapd(options: SlapdOptions = {}): Promise<TestSlapd> {
  ensureSlapdInstalled();
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-slapd-'));
  mkdirSync(path.join(dir, 'data'));
  const port = await freePort();
  const ldapsPort = options.tls ? await freePort() : undefined;

  let tlsFiles: { cert: string; key: string } | undefined;
  let caCertificate: string | undefined;
  if (options.tls) {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      notAfterDate: new Date(Date.now() + 86_400_000),
      keySize: 2048,
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    tlsFiles = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    writeFileSync(tlsFiles.cert, pems.cert);
    writeFileSync(tlsFiles.key, pems.private, { mode: 0o600 });
    caCertificate = pems.cert;
  }

  const confPath = path.join(dir, 'slapd.conf');
  writeFileSync(confPath, slapdConf(dir, options, tlsFiles));
  const ldifPath = path.join(dir, 'fixtures.ldif');
  writeFileSync(ldifPath, fixtureLdif());
  // -q: quick mode, no consistency checks the fixtures do not need.
  await execFileAsync(slapdPaths.slapadd, ['-q', '-f', confPath, '-l', ldifPath]);

  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = ldapsPort ? `ldaps://127.0.0.1:${ldapsPort}` : undefined;
  const listen = [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(' ');
  let child: ChildProcess | undefined;

  const isRunning = (): boolean =>
    child !== undefined && child.exitCode === null && child.signalCode === null;

  async function start(): Promise<void> {
    if (isRunning()) return;
    // -d 0: stay in the foreground (a child we can signal) and print nothing.
    const started = spawn(slapdPaths.slapd, ['-d', '0', '-f', confPath, '-h', listen], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child = started;
    // A test file that dies without its afterAll must not leave a directory running.
    const killOnExit = (): void => {
      started.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    started.once('exit', () => process.removeListener('exit', killOnExit));
    try {
      await waitForPort(port, 10_000, started);
    } catch (error) {
      started.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${stderr}`);
    }
  }

  let isPaused = false;

  async function signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const running = child;
    if (!running || !isRunning()) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    // A stopped process acts on SIGTERM only once it runs again.
    if (isPaused) running.kill('SIGCONT');
    isPaused = false;
    await exited;
  }

  await start();

  const server: TestSlapd = {
    url,
    ldapsUrl,
    caCertificate,
    port,
    baseDn,
    peopleDn,
    rootDn,
    rootPassword,
    serviceAccount,
    readOnlyAccount,
    get isRunning() {
      return isRunning();
    },
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    start,
    async restart() {
      await signalAndWait('SIGTERM');
      await start();
    },
    async pause() {
      const running = child;
      if (!running?.pid || !isRunning()) return;
      running.kill('SIGSTOP');
      isPaused = true;
      await waitUntilStopped(running.pid);
    },
    resume() {
      if (!isPaused) return;
      child?.kill('SIGCONT');
      isPaused = false;
    },
    async modify(ldif: string) {
      const ldifFile = path.join(dir, `change-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
      writeFileSync(ldifFile, ldif);
      await execFileAsync(slapdPaths.ldapmodify, [
        '-x',
        '-H',
        url,
        '-D',
        rootDn,
        '-w',
        rootPassword,
        '-f',
        ldifFile,
      ]);
    },
    async close() {
      await signalAndWait('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * The body of `POST /rekey/v1/connectors` for `slapd` over StartTLS with its CA, bound as its
 * service account, over its people; `overrides` sets or adds the rest (timeouts, writeback, ...).
 */
export function connectorBodyFor(
  slapd: TestSlapd,
  displayName: string,
  overrides: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    displayName,
    flavor: 'openldap',
    url: slapd.url,
    startTls: true,
    caCertificate: slapd.caCertificate ?? null,
    bindDn: slapd.serviceAccount.dn,
    bindPassword: slapd.serviceAccount.password,
    baseDn: slapd.peopleDn,
    ...overrides,
  };
}
