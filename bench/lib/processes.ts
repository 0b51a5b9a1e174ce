import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForOk } from './http.js';

/** Children and temp dirs still alive; the exit handlers below end and remove them whatever happens. */
const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let handlersInstalled = false;

function killAllNow(): void {
  for (const child of liveChildren) {
    // SIGKILL: in an exit handler there is no time left to wait for a graceful stop.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  liveChildren.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/**
 * Makes sure that no server child outlives the harness: on normal exit, on an uncaught error and on
 * SIGINT/SIGTERM every child is killed and every temp dir removed. Call once at start.
 */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping benchmark children\n`);
      killAllNow();
      process.exit(code);
    });
  }
}

/** The cores the children may use; also their libuv pool size, so argon2 uses every core and no more. */
export const cores = availableParallelism();

/** Environment for a child: the harness's own plus the thread pool sized to the cores. */
export function childEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { ...process.env, UV_THREADPOOL_SIZE: String(cores), ...extra };
}

/** Creates a temp dir that is removed when the harness exits. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a temp dir made by {@link makeTempDir} now rather than at exit. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** A loopback TCP port that was free a moment ago (the OS picks it; a race with others is unlikely). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

const outputTailChars = 8_000;

/** A spawned child whose output is kept (the tail) for error messages. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** True while the process has not exited. */
  running(): boolean;
  /** The last few KB of its stdout and stderr. */
  outputTail(): string;
  /** Everything it wrote to stdout (for children that report a result there). */
  stdout(): string;
  /** Resolves with the exit code (or signal name) once it has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `node --import tsx <script>`-style children and tracks them for cleanup. */
export function spawnChild(
  name: string,
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): Child {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  const { pid } = child;
  if (pid === undefined) throw new Error(`could not start ${name}: ${command} ${args.join(' ')}`);
  let tail = '';
  let stdout = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-outputTailChars);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    keep(chunk);
  });
  child.stderr.on('data', keep);
  // Without a listener a spawn failure would be thrown as an uncaught 'error' event.
  child.on('error', (error) => {
    tail += `\n[${name}: ${error.message}]`;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name,
    pid,
    process: child,
    running,
    outputTail: () => tail,
    stdout: () => stdout,
    exited,
    async stop(graceMs = 5_000) {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A server child that answered its readiness URL. */
export interface ServerChild extends Child {
  readonly baseUrl: string;
}

/** Starts a server child and waits until `readyPath` answers 200; kills it if it never does. */
export async function startServer(spec: {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly baseUrl: string;
  readonly readyPath: string;
  readonly readyTimeoutMs: number;
}): Promise<ServerChild> {
  const child = spawnChild(spec.name, spec.command, spec.args, { cwd: spec.cwd, env: spec.env });
  try {
    await waitForOk(
      `${spec.baseUrl}${spec.readyPath}`,
      spec.readyTimeoutMs,
      child.running,
      () => `--- ${spec.name} output (tail) ---\n${child.outputTail()}`,
    );
  } catch (error) {
    await child.stop(1_000);
    throw error;
  }
  return { ...child, baseUrl: spec.baseUrl };
}

/** A server child with a loopback port and a temp data dir of its own. */
export interface DataDirServer {
  readonly server: ServerChild;
  readonly baseUrl: string;
  /** Stops the server, then removes its data dir. */
  stop(): Promise<void>;
}

/**
 * Starts a server child on a free loopback port with a fresh temp data dir (prefix `tempPrefix`),
 * the environment `env` builds from the two, and waits until it is ready (see {@link startServer}).
 */
export async function startServerWithDataDir(spec: {
  readonly name: string;
  readonly tempPrefix: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: (port: number, dataDir: string) => NodeJS.ProcessEnv;
  readonly readyPath: string;
  readonly readyTimeoutMs: number;
}): Promise<DataDirServer> {
  const dataDir = makeTempDir(spec.tempPrefix);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await startServer({
    name: spec.name,
    command: spec.command,
    args: spec.args,
    cwd: spec.cwd,
    env: spec.env(port, dataDir),
    baseUrl,
    readyPath: spec.readyPath,
    readyTimeoutMs: spec.readyTimeoutMs,
  });
  return {
    server,
    baseUrl,
    async stop() {
      await server.stop();
      removeTempDir(dataDir);
    },
  };
}

/** Resident and peak-resident memory of a process, from /proc/<pid>/status (Linux), in KiB. */
export interface MemoryUsage {
  readonly rssKib: number;
  readonly peakRssKib: number;
}

/** Reads VmRSS and VmHWM of `pid`; undefined when /proc is unavailable or the process is gone. */
export function readMemory(pid: number): MemoryUsage | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (key: string): number | undefined => {
    const match = new RegExp(`^${key}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const rssKib = field('VmRSS');
  const peakRssKib = field('VmHWM');
  return rssKib === undefined || peakRssKib === undefined ? undefined : { rssKib, peakRssKib };
}
