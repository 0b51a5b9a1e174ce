import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { recordAudit } from '../audit/audit-service.js';
import { insertSignInRows, isoPlus, rowId, signInRow } from '../logs/log-rows.test-support.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import { parseQueryOptions } from '../platform/odata/index.js';
import { systemContext } from '../platform/request-context.js';
import { signInsResource } from '../sign-ins/sign-in-query.js';
import type { CliIo } from './context.js';
import { formatExportProgress, registerLogsCommand } from './logs-command.js';

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

describe.each(dialects)('rekey logs on %s', (dialect) => {
  let started: CliTestRekey | undefined;
  let rekey: TestRekey;
  let env: Record<string, string>;
  let dir: string;
  let tenantId: string;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-logs-cli-');
    ({ rekey, env, dir } = started);
    tenantId = rekey.tenant.id;
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(async () => {
    await rekey.db.kysely.deleteFrom('sign_ins').execute();
    await rekey.db.kysely.deleteFrom('directory_audit_targets').execute();
    await rekey.db.kysely.deleteFrom('directory_audits').execute();
    await rekey.db.kysely.deleteFrom('event_log').execute();
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const march = ['--since', '2021-03-01T00:00:00Z', '--until', '2021-04-01T00:00:00Z'];

  function expectFailure(run: CliRun, code: number, name: string): string {
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    const first = run.err.split('\n')[0] ?? '';
    expect(first).toMatch(new RegExp(`^error ${code} ${name}: `));
    return first.replace(/^error \d+ \w+: /, '');
  }

  async function seedMarch(count: number) {
    await insertSignInRows(
      rekey.db.kysely,
      Array.from({ length: count }, (_, i) =>
        signInRow(tenantId, {
          id: rowId('c', i),
          created_at: isoPlus('2021-03-10T00:00:00.000Z', i),
          error_code: i % 2 === 0 ? 0 : 50126,
        }),
      ),
    );
  }

  const idsOf = (jsonl: string) =>
    jsonl
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { id: string }).id);

  it('explains itself with --help at every level', async () => {
    const logs = await cli('logs', '--help');
    expect(logs.code).toBe(0);
    for (const sub of ['export', 'summary', 'purge']) expect(logs.out).toContain(sub);
    const exportHelp = await cli('logs', 'export', '--help');
    for (const flag of ['<log>', '--since', '--until', '--format', '--filter', '--output', '--quiet']) {
      expect(exportHelp.out).toContain(flag);
    }
    expect(exportHelp.out).toContain('signins or audits');
    expect((await cli('logs', 'summary', '--help')).out).toMatch(/--since[\s\S]*--json/);
    expect((await cli('logs', 'purge', '--help')).out).toMatch(/--dry-run[\s\S]*--json/);
  });

  it('exports to a file, oldest first, and says what it wrote on stderr', async () => {
    await seedMarch(3);
    const file = path.join(dir, 'march.jsonl');
    const run = await cli('logs', 'export', 'signins', ...march, '--output', file);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toBe('');
    expect(run.err).toBe(
      `Exported 3 sign-ins (jsonl, 2021-03-01T00:00:00.000Z to 2021-04-01T00:00:00.000Z) to ${file}.`,
    );
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(idsOf(text)).toEqual([0, 1, 2].map((i) => rowId('c', i)));
    expect(JSON.parse(text.split('\n')[1] ?? '')).toMatchObject({
      id: rowId('c', 1),
      createdDateTime: '2021-03-10T00:00:01.000Z',
      status: { errorCode: 50126 },
    });
    // Written under a temporary name, renamed when complete: nothing else is left behind.
    expect(readdirSync(dir).filter((name) => name.startsWith('march'))).toEqual(['march.jsonl']);
  });

  it('exports CSV to standard output, with --filter, and nothing on stderr with --quiet', async () => {
    await seedMarch(4);
    const run = await cli(
      'logs',
      'export',
      'signins',
      ...march,
      '--format',
      'csv',
      '--filter',
      'status/errorCode eq 50126',
      '--quiet',
    );
    expect(run.code, run.err).toBe(0);
    expect(run.err).toBe('');
    const lines = run.out.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^id,createdDateTime,.*,status\.errorCode,status\.failureReason,/);
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual([rowId('c', 1), rowId('c', 3)]);
  });

  it('exports 2500 rows over several pages, complete and in order', async () => {
    await seedMarch(2500);
    const file = path.join(dir, 'big.jsonl');
    const run = await cli('logs', 'export', 'signins', ...march, '--output', file);
    expect(run.code, run.err).toBe(0);
    expect(idsOf(readFileSync(file, 'utf8'))).toEqual(Array.from({ length: 2500 }, (_, i) => rowId('c', i)));
  });

  it('takes --since as a duration back from now', async () => {
    await insertSignInRows(rekey.db.kysely, [
      signInRow(tenantId, { id: 'recent', created_at: ago(hourMs) }),
      signInRow(tenantId, { id: 'older', created_at: ago(8 * dayMs) }),
    ]);
    const week = await cli('logs', 'export', 'signins', '--quiet');
    expect(idsOf(week.out)).toEqual(['recent']);
    const twoWeeks = await cli('logs', 'export', 'signins', '--since', '14d', '--quiet');
    expect(idsOf(twoWeeks.out)).toEqual(['older', 'recent']);
    const minutes = await cli('logs', 'export', 'signins', '--since', '30m', '--quiet');
    expect(idsOf(minutes.out)).toEqual([]);
  });

  it('exports audit events', async () => {
    const id = await recordAudit(
      rekey.db.kysely,
      tenantId,
      systemContext('corr-cli-audit'),
      {
        activity: 'updatePasswordPolicy',
        result: 'success',
        targets: [{ id: 'policy', displayName: 'Password policy', userPrincipalName: null }],
      },
      '2021-03-03T03:03:03.000Z',
    );
    const run = await cli('logs', 'export', 'audits', ...march, '--format', 'csv');
    expect(run.code, run.err).toBe(0);
    expect(run.err).toContain('Exported 1 audit events (csv,');
    const lines = run.out.split('\n');
    expect(lines[0]).toContain('initiatedBy.user.id');
    expect(lines[1]).toMatch(new RegExp(`^${id},Policy,corr-cli-audit,success,`));
  });

  it('refuses a bad --since, --until, --filter, log or format with the catalog code', async () => {
    const since = expectFailure(
      await cli('logs', 'export', 'signins', '--since', 'yesterday'),
      7700601,
      'InvalidLogTimeRange',
    );
    expect(since).toContain('--since "yesterday" is not valid');
    expectFailure(await cli('logs', 'export', 'signins', '--since', '0d'), 7700601, 'InvalidLogTimeRange');
    expectFailure(
      await cli('logs', 'export', 'signins', '--since', '2021-02-30'),
      7700601,
      'InvalidLogTimeRange',
    );
    expectFailure(await cli('logs', 'export', 'signins', '--until', '5x'), 7700601, 'InvalidLogTimeRange');
    const reversed = expectFailure(
      await cli('logs', 'export', 'signins', '--since', '1d', '--until', '2d'),
      7700601,
      'InvalidLogTimeRange',
    );
    expect(reversed).toMatch(/^--since \(.*\) must be earlier than --until/);
    expectFailure(await cli('logs', 'summary', '--since', 'soon'), 7700601, 'InvalidLogTimeRange');

    for (const filter of ['nonsense eq 1', "userPrincipalName gt 'a'", 'status/errorCode eq']) {
      const message = expectFailure(
        await cli('logs', 'export', 'signins', '--filter', filter),
        7700007,
        'InvalidQueryOption',
      );
      let apiMessage = '';
      try {
        parseQueryOptions({ $filter: filter }, signInsResource);
      } catch (error) {
        if (isRekeyError(error)) apiMessage = error.message;
      }
      // The API's message, in the CLI's words: the option is --filter, not $filter.
      expect(message).toBe(apiMessage.replaceAll('$filter', '--filter'));
      expect(message).not.toContain('$filter');
    }
    expectFailure(await cli('logs', 'export', 'events'), 7700001, 'RequestValidationFailed');
    expectFailure(
      await cli('logs', 'export', 'signins', '--format', 'xml'),
      7700001,
      'RequestValidationFailed',
    );
    const json = await cli('logs', 'summary', '--since', 'soon', '--json');
    expect(JSON.parse(json.err)).toMatchObject({ error: { code: 7700601, name: 'InvalidLogTimeRange' } });
  });

  it('summarises sign-ins per error code with the catalog names', async () => {
    const codes = [0, 0, 0, 50126, 50126, 50053, 4242];
    await insertSignInRows(rekey.db.kysely, [
      ...codes.map((code, i) =>
        signInRow(tenantId, { id: rowId('s', i), created_at: ago(hourMs + i), error_code: code }),
      ),
      signInRow(tenantId, { id: 'old', created_at: ago(2 * dayMs), error_code: 50126 }),
    ]);
    const json = await cli('logs', 'summary', '--json');
    expect(json.code, json.err).toBe(0);
    const summary = JSON.parse(json.out) as Record<string, unknown>;
    expect(summary).toMatchObject({
      total: 7,
      succeeded: 3,
      failed: 4,
      errorCodes: [
        { errorCode: 0, name: 'Success', count: 3 },
        { errorCode: 50126, name: 'InvalidUserNameOrPassword', count: 2 },
        { errorCode: 4242, name: 'Unknown', count: 1 },
        { errorCode: 50053, name: 'IdsLocked', count: 1 },
      ],
    });
    expect(Date.parse(String(summary['until'])) - Date.parse(String(summary['since']))).toBe(dayMs);

    const text = await cli('logs', 'summary', '--since', '3d');
    expect(text.code, text.err).toBe(0);
    expect(text.out.split('\n')).toEqual([
      expect.stringMatching(/^Sign-ins since \d{4}-.*Z: 8 \(3 succeeded, 5 failed\)\.$/),
      '',
      '  count   share  code      name',
      '      3   37.5%  0         Success',
      '      3   37.5%  50126     InvalidUserNameOrPassword',
      '      1   12.5%  4242      Unknown',
      '      1   12.5%  50053     IdsLocked',
      '',
      '`rekey errors <code>` explains a code and what to do about it.',
    ]);
    await rekey.db.kysely.deleteFrom('sign_ins').execute();
    expect((await cli('logs', 'summary')).out).toMatch(/^No sign-ins since .*Z\.$/);
  });

  it('purges past retention now, or only counts with --dry-run', async () => {
    await insertSignInRows(rekey.db.kysely, [
      signInRow(tenantId, { id: 'p-old-1', created_at: ago(40 * dayMs) }),
      signInRow(tenantId, { id: 'p-old-2', created_at: ago(31 * dayMs) }),
      signInRow(tenantId, { id: 'p-new', created_at: ago(29 * dayMs) }),
    ]);
    await recordAudit(
      rekey.db.kysely,
      tenantId,
      systemContext('corr-purge'),
      {
        activity: 'deleteUser',
        result: 'success',
        targets: [{ id: 'gone', displayName: 'Gone', userPrincipalName: null }],
      },
      ago(45 * dayMs),
    );

    const dry = await cli('logs', 'purge', '--dry-run');
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(
      /^Would purge 2 sign-ins, 1 audit events \(1 audit target rows\), 0 connector calls, 1 event-log entries and 0 captured exchanges \(0 ended captures\) older than \d{4}-.*Z \(retention: 30 days\)\. Nothing was deleted\.$/,
    );
    expect(await rekey.db.kysely.selectFrom('sign_ins').select('id').execute()).toHaveLength(3);

    const longer = await runRekeyCli({ ...env, REKEY_LOG_RETENTION_DAYS: '60' }, ['logs', 'purge', '--json']);
    expect(JSON.parse(longer.out)).toMatchObject({ dryRun: false, retentionDays: 60, signIns: 0, audits: 0 });

    const run = await cli('logs', 'purge');
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(
      /^Purged 2 sign-ins, 1 audit events \(1 audit target rows\), 0 connector calls, 1 event-log entries and 0 captured exchanges \(0 ended captures\) older than .*Z \(retention: 30 days\), in \d+ batches\.$/,
    );
    const left = await rekey.db.kysely.selectFrom('sign_ins').select('id').execute();
    expect(left.map((row) => row.id)).toEqual(['p-new']);
    // The purged event and its target row are gone; each of the two purges left its own audit row.
    const targets = await rekey.db.kysely.selectFrom('directory_audit_targets').select('target_id').execute();
    expect(targets.map((row) => row.target_id)).toEqual(['auditLogs', 'auditLogs']);
    const purges = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'operation_type', 'additional_details'])
      .where('activity_display_name', '=', 'Purge logs past retention')
      .orderBy('activity_at')
      .execute();
    expect(purges.map((row) => JSON.parse(row.additional_details))).toEqual([
      expect.arrayContaining([
        { key: 'signIns', value: '0' },
        { key: 'retentionDays', value: '60' },
      ]),
      expect.arrayContaining([
        { key: 'signIns', value: '2' },
        { key: 'audits', value: '1' },
        { key: 'retentionDays', value: '30' },
      ]),
    ]);
  });

  it('draws a progress bar on a terminal, and none with --quiet', async () => {
    await seedMarch(3);
    async function runWithTty(args: string[]) {
      const tty = new PassThrough();
      const drawn: string[] = [];
      tty.on('data', (chunk: Buffer) => drawn.push(chunk.toString()));
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { out: (text) => out.push(text), err: (text) => err.push(text), env };
      const program = new Command('rekey').exitOverride();
      registerLogsCommand(program, io, { stdout: undefined, progressTty: tty });
      await program.parseAsync(['node', 'rekey', 'logs', 'export', 'signins', ...march, ...args]);
      return { drawn, out, err };
    }
    const shown = await runWithTty([]);
    const last = shown.drawn.at(-1) ?? '';
    expect(last.startsWith('\r[########################] 100.0%  3 / 3 rows  ')).toBe(true);
    expect(last.endsWith('\x1b[K\n')).toBe(true);
    expect(shown.out).toHaveLength(3);
    const quiet = await runWithTty(['--quiet']);
    expect(quiet.drawn).toEqual([]);
    expect(quiet.err).toEqual([]);
  });
});

describe('export progress line', () => {
  it('shows the bar, rows of the total, rate and time left', () => {
    expect(formatExportProgress({ written: 250_000, total: 1_000_000, elapsedMs: 5_000 })).toBe(
      '[######..................]  25.0%  250,000 / 1,000,000 rows  50,000/s  0:15 left',
    );
    expect(formatExportProgress({ written: 0, total: 0, elapsedMs: 10 })).toBe(
      '[########################] 100.0%  0 / 0 rows  0/s  0:00 left',
    );
  });
});
