import { sql } from 'kysely';
import { version as uuidVersion } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { listAuditActivities } from '../audit/audit-activities.js';
import { toGraphDirectoryAudit } from '../audit/audit-mapper.js';
import { directoryAuditsResource } from '../audit/audit-query.js';
import { recordAudit } from '../audit/audit-service.js';
import { listAuditsPage } from '../audit/audit-store.js';
import type { DirectoryAuditRow, SignInRow } from '../platform/db/schema.js';
import { findCatalogEntry } from '../platform/errors/catalog.js';
import { parseQueryOptions } from '../platform/odata/index.js';
import { toGraphSignIn } from '../sign-ins/sign-in-mapper.js';
import { signInsResource } from '../sign-ins/sign-in-query.js';
import { countSignInsByErrorCode, listSignInsPage, signInColumns } from '../sign-ins/sign-in-store.js';
import { builtinApplications } from '../tenant/builtin-applications.js';
import { buildLogModel, generateAudits, generateSignIns, type LogModelOptions } from './log-generator.js';

const end = new Date('2026-03-20T12:00:00.000Z');
const days = 7;
const signIns = 6000;
const audits = 800;

/** The v7 timestamp of a UUID: its first 48 bits, in Unix milliseconds. */
function uuidMillis(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

function modelOptions(seed: string): LogModelOptions {
  return { tenantId: 'tenant', tenantDomain: 'example.com', users: 300, days, end, seed };
}

describe('log generator (in memory)', () => {
  it('gives the same rows for the same seed and other rows for another', () => {
    const first = [...generateSignIns(buildLogModel(modelOptions('a')), 2000, 500)].flat();
    const again = [...generateSignIns(buildLogModel(modelOptions('a')), 2000, 500)].flat();
    const other = [...generateSignIns(buildLogModel(modelOptions('b')), 2000, 500)].flat();
    expect(first).toHaveLength(2000);
    expect(again).toEqual(first);
    expect(other.map((row) => row.correlation_id)).not.toEqual(first.map((row) => row.correlation_id));
    const auditsA = [...generateAudits(buildLogModel(modelOptions('a')), 300, 100)].flat();
    const auditsB = [...generateAudits(buildLogModel(modelOptions('a')), 300, 100)].flat();
    expect(auditsB).toEqual(auditsA);
  });

  it('follows a working-day rhythm: weekday office hours are far busier than nights', () => {
    const rows = [...generateSignIns(buildLogModel(modelOptions('rhythm')), 20_000, 5000)].flat();
    const hourOf = (row: SignInRow) => new Date(row.created_at).getUTCHours();
    const weekday = (row: SignInRow) => ![0, 6].includes(new Date(row.created_at).getUTCDay());
    const office = rows.filter((row) => weekday(row) && hourOf(row) >= 9 && hourOf(row) < 12).length;
    const night = rows.filter((row) => weekday(row) && hourOf(row) >= 1 && hourOf(row) < 4).length;
    expect(office).toBeGreaterThan(night * 8);
    // Scripts do not sleep: the nights are not empty.
    expect(night).toBeGreaterThan(0);
  });
});

describe.each(dialects)('rekey dev seed-logs on %s', (dialect) => {
  let cli: CliTestRekey;
  let tenantId: string;
  let rows: SignInRow[];
  let auditRows: DirectoryAuditRow[];
  let indexesBefore: string[];

  /** The log tables' indexes, as the database lists them (Kysely's introspection does not). */
  const listIndexes = async (): Promise<string[]> => {
    const db = cli.rekey.db.kysely;
    const result =
      dialect === 'sqlite'
        ? await sql<{
            name: string;
          }>`select name from sqlite_master where type = 'index' and tbl_name in ('sign_ins', 'directory_audits', 'directory_audit_targets', 'event_log', 'password_operations', 'password_operation_events') order by name`.execute(
            db,
          )
        : await sql<{
            name: string;
          }>`select indexname as name from pg_indexes where tablename in ('sign_ins', 'directory_audits', 'directory_audit_targets', 'event_log', 'password_operations', 'password_operation_events') order by indexname`.execute(
            db,
          );
    return result.rows.map((row) => row.name);
  };

  beforeAll(async () => {
    cli = await startCliTestRekey(dialect, 'rekey-seed-logs-');
    tenantId = cli.rekey.tenant.id;
    indexesBefore = await listIndexes();
    const run = await runRekeyCli(cli.env, [
      'dev',
      'seed-logs',
      '--signins',
      String(signIns),
      '--audits',
      String(audits),
      '--days',
      String(days),
      '--users',
      '300',
      '--seed',
      'test',
      '--end',
      end.toISOString(),
      '--json',
    ]);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.out) as {
      signIns: number;
      audits: number;
      tenantId: string;
      dialect: string;
    };
    expect(summary).toMatchObject({ signIns, audits, tenantId, dialect });
    rows = await cli.rekey.db.kysely
      .selectFrom('sign_ins')
      .select(signInColumns)
      .where('tenant_id', '=', tenantId)
      // The generated window ends at `end`, long before anything the harness itself logged.
      .where('created_at', '<', end.toISOString())
      .orderBy('id')
      .execute();
    auditRows = await cli.rekey.db.kysely
      .selectFrom('directory_audits')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('activity_at', '<', end.toISOString())
      .orderBy('id')
      .execute();
  }, 120_000);

  afterAll(async () => {
    await cli?.close();
  });

  it('writes exactly the rows the generator makes, and rebuilds every index it dropped', async () => {
    expect(rows).toHaveLength(signIns);
    const model = buildLogModel({
      tenantId,
      tenantDomain: 'example.com',
      users: 300,
      days,
      end,
      seed: 'test',
    });
    const expected = [...generateSignIns(model, signIns, 1000)].flat();
    expect(rows).toEqual(expected);
    expect(await listIndexes()).toEqual(indexesBefore);
    const targets = await cli.rekey.db.kysely
      .selectFrom('directory_audit_targets')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('activity_at', '<', end.toISOString())
      .executeTakeFirstOrThrow();
    // Every generated audit has exactly one target.
    expect(Number(targets.count)).toBe(audits);
  });

  it('writes rows in the shape the product writes them', () => {
    const startMs = end.getTime() - days * 86_400_000;
    let previous = '';
    for (const row of rows) {
      expect(row.upn_key).toBe(row.user_principal_name.toLowerCase());
      expect(uuidVersion(row.id)).toBe(7);
      expect(uuidMillis(row.id)).toBe(Date.parse(row.created_at));
      // Ids sort as times do, so the keyset order (created_at, id) is also the id order.
      expect(row.created_at >= previous).toBe(true);
      previous = row.created_at;
      expect(Date.parse(row.created_at)).toBeGreaterThanOrEqual(startMs);
      expect(Date.parse(row.created_at)).toBeLessThan(end.getTime());
      expect(row.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(row.client_app_used).toBe('Mobile Apps and Desktop clients');
      expect(row.correlation_id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      if (row.error_code === 0) {
        expect(row.failure_reason).toBeNull();
        expect(row.additional_details).toBeNull();
      } else {
        expect(row.failure_reason).toBe(findCatalogEntry(row.error_code)?.message);
        expect(row.additional_details).not.toBeNull();
      }
      if (row.error_code === 50034) expect(row.user_id).toBeNull();
      else expect(row.user_id).not.toBeNull();
      expect(row.is_interactive === 1 || [0, 50173].includes(row.error_code)).toBe(true);
    }
    const builtinIds: string[] = builtinApplications.map((app) => app.appId);
    expect(rows.some((row) => builtinIds.includes(row.app_id))).toBe(true);
    expect(rows.some((row) => !builtinIds.includes(row.app_id))).toBe(true);
    expect(rows.some((row) => row.user_principal_name !== row.upn_key)).toBe(true);
    const graph = toGraphSignIn(rows[0] as SignInRow);
    expect(graph).toMatchObject({ id: rows[0]?.id, status: { errorCode: rows[0]?.error_code } });
  });

  it('mixes error codes like a healthy tenant with a few noisy scripts', () => {
    const byCode = new Map<number, number>();
    for (const row of rows) byCode.set(row.error_code, (byCode.get(row.error_code) ?? 0) + 1);
    const share = (code: number) => (byCode.get(code) ?? 0) / rows.length;
    expect(share(0)).toBeGreaterThan(0.82);
    expect(share(0)).toBeLessThan(0.95);
    expect(share(50126)).toBeGreaterThan(0.02);
    for (const code of [50053, 50034, 50173, 50055]) expect(byCode.get(code) ?? 0).toBeGreaterThan(0);
    expect([...byCode.keys()].every((code) => code === 0 || findCatalogEntry(code) !== undefined)).toBe(true);
    // The account failing most is a script: one address, and it almost never gets in.
    const perUser = new Map<string, SignInRow[]>();
    for (const row of rows)
      if (row.user_id) perUser.set(row.user_id, [...(perUser.get(row.user_id) ?? []), row]);
    const failures = (list: readonly SignInRow[]) =>
      list.filter((row) => row.error_code === 50126 || row.error_code === 50053).length;
    const noisiest = [...perUser.values()].sort((a, b) => failures(b) - failures(a))[0] ?? [];
    expect(failures(noisiest)).toBeGreaterThan(rows.length * 0.005);
    expect(failures(noisiest) / noisiest.length).toBeGreaterThan(0.5);
    expect(new Set(noisiest.filter((row) => row.error_code !== 0).map((row) => row.ip_address)).size).toBe(1);
    expect(perUser.size).toBeGreaterThan(200);
  });

  it('is read by listSignInsPage and countSignInsByErrorCode, as the API reads the log', async () => {
    const db = cli.rekey.db.kysely;
    const sample = rows.find((row) => row.user_id !== null && row.upn_key !== row.user_principal_name);
    if (!sample) throw new Error('no mixed-case sample row');
    const since = new Date(Date.parse(sample.created_at) - 86_400_000).toISOString();
    const options = parseQueryOptions(
      new URLSearchParams({
        $filter: `userPrincipalName eq '${sample.user_principal_name.toUpperCase()}' and createdDateTime ge ${since} and createdDateTime le ${sample.created_at}`,
        $top: '50',
        $count: 'true',
      }),
      signInsResource,
    );
    const page = await listSignInsPage(db, tenantId, { filter: options.filter, page: options, count: true });
    const expected = rows
      .filter(
        (row) =>
          row.upn_key === sample.upn_key && row.created_at >= since && row.created_at <= sample.created_at,
      )
      .sort((a, b) =>
        a.created_at === b.created_at ? b.id.localeCompare(a.id) : b.created_at.localeCompare(a.created_at),
      );
    expect(page.count).toBe(expected.length);
    expect(page.rows.map((row) => row.id)).toEqual(expected.slice(0, 50).map((row) => row.id));

    const byCorrelation = parseQueryOptions(
      new URLSearchParams({ $filter: `correlationId eq '${sample.correlation_id}'` }),
      signInsResource,
    );
    const found = await listSignInsPage(db, tenantId, {
      filter: byCorrelation.filter,
      page: byCorrelation,
      count: false,
    });
    expect(found.rows.map((row) => row.id)).toEqual([sample.id]);

    const countSince = new Date(end.getTime() - 86_400_000).toISOString();
    const counts = await countSignInsByErrorCode(db, tenantId, countSince);
    const recent = rows.filter((row) => row.created_at >= countSince);
    expect(counts.reduce((sum, entry) => sum + entry.count, 0)).toBe(recent.length);
    expect(counts[0]?.errorCode).toBe(0);
  });

  it('writes audits with their target rows, found by targetResources/any()', async () => {
    expect(auditRows).toHaveLength(audits);
    const activities = new Set(auditRows.map((row) => row.activity_display_name));
    expect(activities.has('Change password (self-service)')).toBe(true);
    expect(activities.size).toBeGreaterThan(5);
    const sample = auditRows.find((row) => row.initiated_by_user_id !== null && row.result === 'failure');
    if (!sample) throw new Error('no failed audit with an initiator');
    expect(sample.result_reason).toMatch(/^AADSTS\d+: /);
    const graph = toGraphDirectoryAudit(sample);
    const target = (graph['targetResources'] as Array<{ id: string }>)[0];
    if (!target) throw new Error('audit without a target');
    const options = parseQueryOptions(
      new URLSearchParams({ $filter: `targetResources/any(t: t/id eq '${target.id}')`, $top: '1000' }),
      directoryAuditsResource,
    );
    const page = await listAuditsPage(cli.rekey.db.kysely, tenantId, {
      filter: options.filter,
      page: options,
      count: false,
    });
    // Only the generated audits: the harness's own are from today, after `end`.
    const expected = auditRows.filter((row) => row.target_resources.includes(`"id":"${target.id}"`));
    expect(page.rows.map((row) => row.id).sort()).toEqual(expected.map((row) => row.id).sort());
    expect(page.rows.map((row) => row.id)).toContain(sample.id);
  });

  it('writes only activities of the audit catalog, as the catalog describes them', () => {
    for (const row of auditRows) {
      const activity = listAuditActivities().find(
        (entry) =>
          entry.displayName === row.activity_display_name && entry.operationType === row.operation_type,
      );
      expect(activity, row.activity_display_name).toBeDefined();
      const targets = JSON.parse(row.target_resources) as Array<{ type: string }>;
      expect({
        category: row.category,
        loggedByService: row.logged_by_service,
        targetTypes: targets.map((target) => target.type),
      }).toEqual({
        category: activity?.category,
        loggedByService: activity?.loggedByService,
        targetTypes: [activity?.targetType],
      });
    }
  });

  it('shapes initiatedBy and targetResources exactly as recordAudit does', async () => {
    const generated = auditRows.find(
      (row) => row.activity_display_name === 'Reset password (by admin)' && row.initiated_by_user_id !== null,
    );
    if (!generated) throw new Error('no admin reset generated');
    const actor = JSON.parse(generated.initiated_by) as {
      user: { id: string; displayName: string; userPrincipalName: string; ipAddress: string };
      app: { appId: string; displayName: string };
    };
    const id = await recordAudit(
      cli.rekey.db.kysely,
      tenantId,
      {
        correlationId: generated.correlation_id,
        ipAddress: actor.user.ipAddress,
        userAgent: undefined,
        actor: {
          userId: actor.user.id,
          userPrincipalName: actor.user.userPrincipalName,
          displayName: actor.user.displayName,
          roles: ['Global Administrator'],
          appId: actor.app.appId,
          appDisplayName: actor.app.displayName,
        },
      },
      {
        activity: 'resetPasswordByAdmin',
        result: generated.result,
        resultReason: generated.result_reason,
        targets: JSON.parse(generated.target_resources),
        additionalDetails: JSON.parse(generated.additional_details),
      },
      generated.activity_at,
    );
    const written = await cli.rekey.db.kysely
      .selectFrom('directory_audits')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const { id: _writtenId, ...writtenRest } = written;
    const { id: _generatedId, ...generatedRest } = generated;
    expect(writtenRest).toEqual(generatedRest);
  });

  it('writes the people, the operations behind the password audits and the event log beside the rows', async () => {
    const db = cli.rekey.db.kysely;
    // Every person a sign-in names is a user of the tenant, so the troubleshooter finds the account.
    const named = [...new Set(rows.map((row) => row.user_id).filter((id): id is string => id !== null))];
    const users = await db
      .selectFrom('users')
      .select(['id', 'upn_key', 'account_enabled', 'deleted_at'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', named)
      .execute();
    expect(users).toHaveLength(named.length);
    expect(users.every((user) => user.account_enabled === 1 && user.deleted_at === null)).toBe(true);
    // One operation per password change or reset, with its request's correlation ID and its history.
    const passwordAudits = auditRows.filter((row) =>
      [
        'Change password (self-service)',
        'Reset password (self-service)',
        'Reset password (by admin)',
      ].includes(row.activity_display_name),
    );
    const operations = await db
      .selectFrom('password_operations')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('created_at', '<', end.toISOString())
      .execute();
    expect(operations.map((op) => op.correlation_id).sort()).toEqual(
      passwordAudits.map((row) => row.correlation_id).sort(),
    );
    const failedAudit = passwordAudits.find((row) => row.result === 'failure');
    const failedOperation = operations.find((op) => op.correlation_id === failedAudit?.correlation_id);
    expect(failedOperation).toMatchObject({ state: 'terminated', step: 'validate' });
    expect(failedAudit?.result_reason.startsWith(`AADSTS${failedOperation?.error_code}:`)).toBe(true);
    const history = await db
      .selectFrom('password_operation_events')
      .select(['state', 'code'])
      .where('operation_id', '=', failedOperation?.id ?? '')
      .orderBy('id')
      .execute();
    expect(history).toEqual([
      { state: 'notStarted', code: null },
      { state: 'running', code: null },
      { state: 'terminated', code: failedOperation?.error_code },
    ]);
    // The event log: a 5001 for every failed sign-in, and the audits' own entries.
    const events = await db
      .selectFrom('event_log')
      .select(['event_id', 'correlation_id', 'channel', 'source'])
      .where('tenant_id', '=', tenantId)
      .where('created_at', '<', end.toISOString())
      .execute();
    const failedSignIns = rows.filter((row) => row.error_code !== 0);
    expect(events.filter((event) => event.event_id === 5001)).toHaveLength(failedSignIns.length);
    expect(events.some((event) => event.event_id === 5101)).toBe(true);
    expect(events.some((event) => event.event_id === 5102)).toBe(true);
    expect(events.find((event) => event.event_id === 5001)).toMatchObject({
      channel: 'security',
      source: 'Rekey-SignIn',
    });
  });

  it('refuses a bad count with a catalog code', async () => {
    const run = await runRekeyCli(cli.env, ['dev', 'seed-logs', '--signins', 'lots']);
    expect(run.code).toBe(1);
    expect(run.err).toContain('error 7700001');
    expect(run.err).toContain('--signins');
  });
});
