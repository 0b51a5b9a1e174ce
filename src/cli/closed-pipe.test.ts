import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, startCliTestRekey } from '../../test/support/cli-run.js';

/*
 * `rekey errors | head`: the reader closes the pipe before the command has written everything.
 * The real CLI runs as its own process with its stdout piped into a reader that closes at once, so
 * every write after that fails with EPIPE. The command must end quietly with status 0.
 */

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function runWithClosedStdout(args: readonly string[], env: Record<string, string> = {}): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    // The reader goes away before the first line arrives, as `head` does after its lines.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('a closed stdout pipe', () => {
  it.each([[['errors']], [['errors', '--json']], [['errors', '50126']], [['--help']], [['users', '--help']]])(
    'ends `rekey %s` quietly with status 0',
    async (args) => {
      const ended = await runWithClosedStdout(args);
      expect(ended).toEqual({ code: 0, signal: null, stderr: '' });
    },
    30_000,
  );

  describe('for commands that read the database', () => {
    let started: CliTestRekey | undefined;
    beforeAll(async () => {
      started = await startCliTestRekey('sqlite', 'rekey-closed-pipe-');
    });
    afterAll(async () => {
      await started?.close();
    });

    it.each([
      [['users', 'list']],
      [['users', 'list', '--json']],
      [['logs', 'export', 'audits', '--quiet']],
      [['policy', 'show']],
    ])(
      'ends `rekey %s` quietly with status 0',
      async (args) => {
        const ended = await runWithClosedStdout(args, started?.env ?? {});
        expect(ended).toEqual({ code: 0, signal: null, stderr: '' });
      },
      30_000,
    );
  });
});
