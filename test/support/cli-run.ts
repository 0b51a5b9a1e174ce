import { runCli } from '../../src/cli/cli.js';

/** What one run of the CLI gave: its exit code and everything it wrote, lines joined. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `rekey <args>` in-process with `env` as its whole environment and captures its output. */
export async function runRekeyCli(env: Record<string, string>, args: readonly string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['node', 'rekey', ...args], {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
