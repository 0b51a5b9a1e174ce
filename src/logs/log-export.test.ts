import { Writable } from 'node:stream';
import type { KyselyPlugin, PluginTransformResultArgs, QueryResult, UnknownRow } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { recordAudit } from '../audit/audit-service.js';
import { isRekeyError, type RekeyError } from '../platform/errors/rekey-error.js';
import { parseQueryOptions } from '../platform/odata/index.js';
import { type RequestContext, systemContext } from '../platform/request-context.js';
import { toGraphSignIn } from '../sign-ins/sign-in-mapper.js';
import { signInsResource } from '../sign-ins/sign-in-query.js';
import { signInColumns } from '../sign-ins/sign-in-store.js';
import { buildExportQuery, csvColumns, type ExportFormat, exportLog, type LogName } from './log-export.js';
import { insertSignInRows, isoPlus, rowId, signInRow } from './log-rows.test-support.js';
import type { LogTimeRange } from './time-range.js';

/** A sink that keeps everything written to it. */
function collector(): { sink: Writable; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { sink, text: () => chunks.join('') };
}

function errorOf(action: () => unknown): RekeyError {
  try {
    action();
  } catch (error) {
    if (isRekeyError(error)) return error;
    throw error;
  }
  throw new Error('expected a RekeyError');
}

/**
 * Counts the log rows page queries return (rows with an id; the count query has none). A page
 * query reads one row more than the page to learn whether another page follows, and that row is
 * dropped at once, so only `pageSize` rows of each query are counted as held.
 */
class RowsRead implements KyselyPlugin {
  count = 0;
  constructor(readonly pageSize: number) {}
  onRead: () => void = () => {};
  transformQuery(args: Parameters<KyselyPlugin['transformQuery']>[0]) {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const first = args.result.rows[0];
    if (first !== undefined && 'id' in first) {
      this.count += Math.min(args.result.rows.length, this.pageSize);
      this.onRead();
    }
    return args.result;
  }
}

describe.each(dialects)('log export on %s', (dialect) => {
  let rekey: TestRekey;
  let tenantId: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    tenantId = rekey.tenant.id;
  });
  afterAll(async () => {
    await rekey?.close();
  });
  beforeEach(async () => {
    await rekey.db.kysely.deleteFrom('sign_ins').execute();
    await rekey.db.kysely.deleteFrom('directory_audit_targets').execute();
    await rekey.db.kysely.deleteFrom('directory_audits').execute();
  });

  const march: LogTimeRange = { since: '2021-03-01T00:00:00.000Z', until: '2021-04-01T00:00:00.000Z' };

  async function run(
    log: LogName,
    format: ExportFormat,
    options: { filter?: string; range?: LogTimeRange; pageSize?: number } = {},
  ) {
    const { sink, text } = collector();
    const query = buildExportQuery(log, options.range ?? march, options.filter);
    const result = await exportLog(rekey.db.kysely, tenantId, query, format, sink, {
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    });
    return { ...result, text: text() };
  }

  async function seedTwoSignIns() {
    await insertSignInRows(rekey.db.kysely, [
      // Written out of order: the export sorts oldest first.
      signInRow(tenantId, {
        id: 's-2',
        created_at: '2021-03-02T08:30:00.000Z',
        user_id: null,
        user_principal_name: '=HYPERLINK("http://x")@evil.example',
        user_display_name: null,
        error_code: 50126,
        failure_reason: 'Invalid username or password.',
        additional_details: 'Wrong password, or "no such user".',
        is_interactive: 0,
      }),
      signInRow(tenantId, { id: 's-1', created_at: '2021-03-01T10:00:00.000Z' }),
      // Outside the range on both sides (until is excluded).
      signInRow(tenantId, { id: 's-0', created_at: '2021-02-28T23:59:59.999Z' }),
      signInRow(tenantId, { id: 's-3', created_at: '2021-04-01T00:00:00.000Z' }),
    ]);
  }

  it('writes one Graph signIn per line as JSON lines, oldest first, inside the time range', async () => {
    await seedTwoSignIns();
    const result = await run('signins', 'jsonl');
    expect(result).toMatchObject({ rows: 2, total: 2, pages: 1 });
    const stored = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select(signInColumns)
      .where('id', 'in', ['s-1', 's-2'])
      .orderBy('created_at')
      .execute();
    expect(result.text).toBe(stored.map((row) => `${JSON.stringify(toGraphSignIn(row))}\n`).join(''));
    const lines = result.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line['id'], line['createdDateTime'], line['status']])).toEqual([
      ['s-1', '2021-03-01T10:00:00.000Z', { errorCode: 0, failureReason: null, additionalDetails: null }],
      [
        's-2',
        '2021-03-02T08:30:00.000Z',
        {
          errorCode: 50126,
          failureReason: 'Invalid username or password.',
          additionalDetails: 'Wrong password, or "no such user".',
        },
      ],
    ]);
  });

  it('writes CSV with a header, nested objects as dotted columns, JSON in cells and formulas defused', async () => {
    await seedTwoSignIns();
    const result = await run('signins', 'csv');
    const graph = '00000003-0000-0000-c000-000000000000';
    const user = '0b7d6c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e';
    const app = '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20';
    const client = 'Mobile Apps and Desktop clients';
    expect(result.text.split('\n')).toEqual([
      'id,createdDateTime,userDisplayName,userPrincipalName,userId,appId,appDisplayName,ipAddress,clientAppUsed,userAgent,correlationId,conditionalAccessStatus,isInteractive,riskDetail,riskLevelAggregated,riskLevelDuringSignIn,riskState,riskEventTypes_v2,resourceDisplayName,resourceId,status.errorCode,status.failureReason,status.additionalDetails,deviceDetail.deviceId,deviceDetail.displayName,deviceDetail.operatingSystem,deviceDetail.browser,deviceDetail.isCompliant,deviceDetail.isManaged,deviceDetail.trustType,location.city,location.state,location.countryOrRegion,location.geoCoordinates,appliedConditionalAccessPolicies',
      `s-1,2021-03-01T10:00:00.000Z,Ada Lovelace,ada@example.com,${user},${app},Rekey CLI,192.0.2.10,${client},rekey-test/1.0,corr-s-1,notApplied,true,none,none,none,none,[],Microsoft Graph,${graph},0,,,,,,,false,false,,,,,,[]`,
      `s-2,2021-03-02T08:30:00.000Z,,"'=HYPERLINK(""http://x"")@evil.example",,${app},Rekey CLI,192.0.2.10,${client},rekey-test/1.0,corr-s-2,notApplied,false,none,none,none,none,[],Microsoft Graph,${graph},50126,Invalid username or password.,"Wrong password, or ""no such user"".",,,,,false,false,,,,,,[]`,
      '',
    ]);
  });

  it('covers every property of the Graph signIn and directoryAudit in the CSV columns', async () => {
    await seedTwoSignIns();
    const leaves = (value: unknown, prefix: string): string[] =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value).flatMap(([key, inner]) => leaves(inner, prefix ? `${prefix}.${key}` : key))
        : [prefix];
    const row = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select(signInColumns)
      .where('id', '=', 's-1')
      .executeTakeFirstOrThrow();
    const columns = csvColumns('signins');
    // A leaf below a column (e.g. inside location.geoCoordinates, written as JSON) is covered by it.
    const covered = (leaf: string) =>
      columns.some((column) => leaf === column || leaf.startsWith(`${column}.`));
    expect(leaves(toGraphSignIn(row), '').filter((leaf) => !covered(leaf))).toEqual([]);
    expect(csvColumns('audits')).toEqual([
      'id',
      'category',
      'correlationId',
      'result',
      'resultReason',
      'activityDisplayName',
      'activityDateTime',
      'loggedByService',
      'operationType',
      'initiatedBy.user.id',
      'initiatedBy.user.displayName',
      'initiatedBy.user.userPrincipalName',
      'initiatedBy.user.ipAddress',
      'initiatedBy.app.appId',
      'initiatedBy.app.displayName',
      'targetResources',
      'additionalDetails',
    ]);
  });

  it('exports audit events as JSON lines and CSV', async () => {
    const admin: RequestContext = {
      correlationId: 'corr-audit-1',
      ipAddress: '198.51.100.7',
      userAgent: undefined,
      actor: {
        userId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
        userPrincipalName: 'admin@example.com',
        displayName: 'Admin',
        roles: ['Global Administrator'],
        appId: '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45',
        appDisplayName: 'Rekey portal',
      },
    };
    const first = await recordAudit(
      rekey.db.kysely,
      tenantId,
      admin,
      {
        activity: 'resetPasswordByAdmin',
        result: 'success',
        targets: [{ id: 'u-1', displayName: 'Ada', userPrincipalName: 'ada@example.com' }],
      },
      '2021-03-05T12:00:00.000Z',
    );
    const second = await recordAudit(
      rekey.db.kysely,
      tenantId,
      systemContext('corr-audit-2'),
      {
        activity: 'updatePasswordPolicy',
        result: 'failure',
        resultReason: 'Rejected, invalid value',
        targets: [],
        additionalDetails: [{ key: 'minimumLength', value: '=1+1' }],
      },
      '2021-03-06T12:00:00.000Z',
    );

    const jsonl = await run('audits', 'jsonl');
    const objects = jsonl.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects.map((o) => o['id'])).toEqual([first, second]);
    expect(objects[0]).toEqual({
      id: first,
      category: 'UserManagement',
      correlationId: 'corr-audit-1',
      result: 'success',
      resultReason: '',
      activityDisplayName: 'Reset password (by admin)',
      activityDateTime: '2021-03-05T12:00:00.000Z',
      loggedByService: 'Self-service Password Management',
      operationType: 'Update',
      initiatedBy: {
        user: {
          id: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
          displayName: 'Admin',
          userPrincipalName: 'admin@example.com',
          ipAddress: '198.51.100.7',
        },
        app: { appId: '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45', displayName: 'Rekey portal' },
      },
      targetResources: [
        {
          id: 'u-1',
          displayName: 'Ada',
          type: 'User',
          userPrincipalName: 'ada@example.com',
          modifiedProperties: [],
        },
      ],
      additionalDetails: [],
    });

    const csv = await run('audits', 'csv');
    expect(csv.text.split('\n')).toEqual([
      'id,category,correlationId,result,resultReason,activityDisplayName,activityDateTime,loggedByService,operationType,initiatedBy.user.id,initiatedBy.user.displayName,initiatedBy.user.userPrincipalName,initiatedBy.user.ipAddress,initiatedBy.app.appId,initiatedBy.app.displayName,targetResources,additionalDetails',
      `${first},UserManagement,corr-audit-1,success,,Reset password (by admin),2021-03-05T12:00:00.000Z,Self-service Password Management,Update,9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a,Admin,admin@example.com,198.51.100.7,7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45,Rekey portal,"[{""id"":""u-1"",""displayName"":""Ada"",""type"":""User"",""userPrincipalName"":""ada@example.com"",""modifiedProperties"":[]}]",[]`,
      // The system actor has no user: its columns are empty. JSON text is never formula-escaped
      // (it starts with [ or {), and a formula inside it stays inert text.
      `${second},Policy,corr-audit-2,failure,"Rejected, invalid value",Update password policy,2021-03-06T12:00:00.000Z,Authentication Methods,Update,,,,,,Rekey,[],"[{""key"":""minimumLength"",""value"":""=1+1""}]"`,
      '',
    ]);

    // The audit filter, lambda included, works on the export as on the API.
    const targeted = await run('audits', 'jsonl', { filter: "targetResources/any(t: t/id eq 'u-1')" });
    expect(targeted.rows).toBe(1);
    expect(JSON.parse(targeted.text)).toMatchObject({ id: first });
  });

  it('combines --filter with the time range', async () => {
    await insertSignInRows(
      rekey.db.kysely,
      Array.from({ length: 12 }, (_, i) =>
        signInRow(tenantId, {
          id: rowId('f', i),
          created_at: isoPlus('2021-03-10T00:00:00.000Z', i * 60),
          error_code: i % 3 === 0 ? 50126 : 0,
          user_principal_name: i % 2 === 0 ? 'Even@Example.com' : 'odd@example.com',
        }),
      ),
    );
    const failed = await run('signins', 'jsonl', { filter: 'status/errorCode eq 50126' });
    expect(failed.total).toBe(4);
    const ids = (text: string) =>
      text
        .trimEnd()
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { id: string }).id);
    expect(ids(failed.text)).toEqual([0, 3, 6, 9].map((i) => rowId('f', i)));
    const evenFailed = await run('signins', 'jsonl', {
      filter: "userPrincipalName eq 'even@example.com' and status/errorCode ne 0",
      range: { since: isoPlus('2021-03-10T00:00:00.000Z', 60), until: '2021-04-01T00:00:00.000Z' },
    });
    expect(ids(evenFailed.text)).toEqual([rowId('f', 6)]);
  });

  it('rejects a bad --filter with the same 7700007 and message as the API', () => {
    for (const filter of [
      'nonsense eq 1',
      "userPrincipalName gt 'a'",
      'status/errorCode eq',
      "ipAddress eq 'x' or",
    ]) {
      const fromExport = errorOf(() => buildExportQuery('signins', march, filter));
      const fromApi = errorOf(() => parseQueryOptions({ $filter: filter }, signInsResource));
      expect(fromExport.code).toBe(7700007);
      expect(fromExport.message).toBe(fromApi.message);
      expect(fromExport.details).toEqual(fromApi.details);
    }
  });

  it('exports 2500 rows over several pages, complete and in order (ties broken by id)', async () => {
    // Three rows share each second, so the id decides their order.
    await insertSignInRows(
      rekey.db.kysely,
      Array.from({ length: 2500 }, (_, i) =>
        signInRow(tenantId, {
          id: rowId('m', i),
          created_at: isoPlus('2021-03-15T00:00:00.000Z', Math.floor(i / 3)),
        }),
      ),
    );
    const result = await run('signins', 'jsonl');
    expect(result).toMatchObject({ rows: 2500, total: 2500, pages: 3 });
    const ids = result.text
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: string }).id);
    expect(ids).toEqual(Array.from({ length: 2500 }, (_, i) => rowId('m', i)));
    const csv = await run('signins', 'csv', { pageSize: 999 });
    const lines = csv.text.trimEnd().split('\n');
    // One header, whatever the number of pages.
    expect(lines).toHaveLength(2501);
    expect(lines.filter((line) => line.startsWith('id,'))).toHaveLength(1);
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(ids);
  });

  it('holds one page at a time: never more rows read than written plus one page, with a slow output', async () => {
    await insertSignInRows(
      rekey.db.kysely,
      Array.from({ length: 2500 }, (_, i) =>
        signInRow(tenantId, { id: rowId('k', i), created_at: isoPlus('2021-03-20T00:00:00.000Z', i) }),
      ),
    );
    const pageSize = 100;
    const reads = new RowsRead(pageSize);
    let processed = 0;
    let mostHeld = 0;
    reads.onRead = () => {
      mostHeld = Math.max(mostHeld, reads.count - processed);
    };
    // A slow output with a one-byte buffer: every page fills it, so the export must wait for it.
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        setTimeout(() => {
          processed += chunk.toString('utf8').split('\n').length - 1;
          callback();
        }, 5);
      },
    });
    const query = buildExportQuery('signins', march, undefined);
    const result = await exportLog(rekey.db.kysely.withPlugin(reads), tenantId, query, 'jsonl', slow, {
      pageSize,
    });
    expect(result.rows).toBe(2500);
    expect(processed).toBe(2500);
    expect(reads.count).toBeGreaterThanOrEqual(2500);
    // Reading everything first would hold 2500 rows here, and not waiting for 'drain' several pages.
    expect(mostHeld).toBeLessThanOrEqual(pageSize);
    expect(mostHeld).toBeGreaterThan(0);
  });

  it('fails with the output error when the output breaks', async () => {
    await seedTwoSignIns();
    const broken = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    broken.on('error', () => {});
    const query = buildExportQuery('signins', march, undefined);
    await expect(exportLog(rekey.db.kysely, tenantId, query, 'jsonl', broken)).rejects.toThrow('disk full');
  });
});
