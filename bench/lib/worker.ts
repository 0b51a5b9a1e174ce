import { fileURLToPath } from 'node:url';
import { childEnv, spawnChild } from './processes.js';

/** The repository root, where every worker is started (tsx and the sources resolve from there). */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs `node --import tsx <script> <args>` as a child with the thread pool sized to the cores, and
 * returns the JSON line it prints last, once `isOutput` accepts it. A worker still running after
 * `budgetMs` is killed rather than waited on; a non-zero exit, no JSON or an unexpected shape throws
 * with the worker's output tail. `passStderr` relays its progress lines as they come.
 */
export async function runJsonWorker<T>(spec: {
  /** Names the worker in errors, e.g. "limit worker". */
  readonly name: string;
  readonly script: URL;
  readonly args: readonly string[];
  readonly budgetMs: number;
  readonly passStderr?: boolean;
  readonly isOutput: (value: unknown) => value is T;
}): Promise<T> {
  const child = spawnChild(
    spec.name,
    process.execPath,
    ['--import', 'tsx', fileURLToPath(spec.script), ...spec.args],
    { cwd: repoRoot, env: childEnv({}) },
  );
  if (spec.passStderr) child.process.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const timer = setTimeout(() => child.process.kill('SIGKILL'), spec.budgetMs);
  const exit = await child.exited;
  clearTimeout(timer);
  if (exit !== 0) throw new Error(`${spec.name} exited with ${exit}\n${child.outputTail()}`);
  const lastLine = child.stdout().trim().split('\n').at(-1) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(lastLine);
  } catch {
    throw new Error(`${spec.name} printed no JSON result:\n${child.outputTail()}`);
  }
  if (!spec.isOutput(parsed)) throw new Error(`${spec.name} printed an unexpected result: ${lastLine}`);
  return parsed;
}
