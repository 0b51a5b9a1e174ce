import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { passwordGrant } from '../../test/support/rekey-harness.js';

/*
 * `rekey captures` on the database `rekey serve` uses: a capture started from the shell is
 * honoured by the server, listed, exported as a HAR file (mode 0600) without the password, and
 * stopped; bad flags get catalog codes.
 */
describe.each(dialects)('rekey captures on %s', (dialect) => {
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;
  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);
  const password = 'Cli-Capture-Pass-73!';

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-captures-cli-');
    env = started.env;
    await started.rekey.createUser('cli.har', password);
  });
  afterAll(async () => started?.close());

  it('starts a capture the server honours, lists, exports and stops it', async () => {
    const rekey = started?.rekey;
    if (!rekey) throw new Error('no Rekey');
    const start = await cli(
      'captures',
      'start',
      '--user',
      'cli.har@example.com',
      '--minutes',
      '15',
      '--json',
    );
    expect(start.code, start.err).toBe(0);
    const capture = JSON.parse(start.out) as { id: string; status: string; target: string };
    expect(capture).toMatchObject({
      status: 'recording',
      target: 'user',
      userPrincipalName: 'cli.har@example.com',
    });

    // The server reloads its active captures every few seconds; here, at once.
    await rekey.captures.refresh();
    const signIn = await rekey.tokenRequest(passwordGrant('cli.har@example.com', password));
    expect(signIn.statusCode).toBe(200);
    await rekey.captures.idle();

    const list = await cli('captures', 'list');
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(
      new RegExp(`${capture.id}\\s+recording\\s+user\\s+cli\\.har@example\\.com\\s+1/1000`),
    );

    const file = path.join(started?.dir ?? '', 'capture.har');
    const exported = await cli('captures', 'export', capture.id, '-o', file);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toContain('1 exchanges');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    const har = JSON.parse(text) as {
      log: { version: string; entries: Array<{ request: { method: string } }> };
    };
    expect(har.log.version).toBe('1.2');
    expect(har.log.entries.map((e) => e.request.method)).toEqual(['POST']);
    expect(text).not.toContain(password);
    expect(text).not.toContain(signIn.json<{ access_token: string }>().access_token);
    const toStdout = await cli('captures', 'export', capture.id);
    expect(JSON.parse(toStdout.out)).toEqual(har);

    const stop = await cli('captures', 'stop', capture.id);
    expect(stop.code, stop.err).toBe(0);
    expect(stop.out).toBe(`Capture ${capture.id} ended (1 exchanges recorded).`);
    expect((await cli('captures', 'list')).out).toMatch(new RegExp(`${capture.id}\\s+ended`));
  });

  it('refuses no selector, two selectors, a bad window and a bad id with catalog codes', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['captures', 'start', '--minutes', '5'], /7701401 CaptureSelectorRequired/],
      [
        ['captures', 'start', '--user', 'a@example.com', '--correlation-id', 'x', '--minutes', '5'],
        /7701401/,
      ],
      [['captures', 'start', '--user', 'a@example.com'], /7700001.*--minutes/],
      [['captures', 'start', '--user', 'a@example.com', '--minutes', '0'], /7700001.*--minutes/],
      [['captures', 'start', '--user', 'a@example.com', '--minutes', '1441'], /7700001/],
      [
        ['captures', 'start', '--user', 'a@example.com', '--minutes', '5', '--max-entries', 'lots'],
        /7700001/,
      ],
      [['captures', 'export', 'not-an-id'], /7700001/],
      [['captures', 'export', '00000000-0000-4000-8000-000000000404'], /7701403 CaptureNotFound/],
      [['captures', 'stop', '00000000-0000-4000-8000-000000000404'], /7701403/],
    ];
    for (const [args, code] of cases) {
      const run = await cli(...args);
      expect(run.code, args.join(' ')).not.toBe(0);
      expect(run.err, args.join(' ')).toMatch(code);
      expect(run.err).not.toMatch(/\n\s+at /);
    }
  });

  it('says in its help what it takes', async () => {
    const start = await cli('captures', 'start', '--help');
    for (const flag of ['--user', '--correlation-id', '--minutes', '--max-entries', '--json'])
      expect(start.out).toContain(flag);
    const exported = await cli('captures', 'export', '--help');
    expect(exported.out).toContain('-o, --output <file>');
    const top = await cli('--help');
    expect(top.out).toContain('captures');
  });
});
