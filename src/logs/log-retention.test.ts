import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  TableNode,
  type UnknownRow,
} from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { lineSink, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { recordAudit } from '../audit/audit-service.js';
import { insertCapture, insertCaptureEntryWithinCap } from '../captures/capture-store.js';
import { insertConnectorTrace } from '../connectors/connector-trace-store.js';
import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import { type Db, openDatabase } from '../platform/db/database.js';
import { createLogger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import { createLogRetention, type LogRetentionDeps } from './log-retention.js';
import { insertSignInRows, isoPlus, rowId, signInRow } from './log-rows.test-support.js';

const dayMs = 86_400_000;

/** Records the table and affected-row count of every DELETE run through it. */
class DeleteCounter implements KyselyPlugin {
  readonly deletes: Array<{ table: string; rows: number }> = [];
  readonly #tables = new WeakMap<object, string>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node;
    if (node.kind === 'DeleteQueryNode') {
      const from = node.from.froms[0];
      const table = from && TableNode.is(from) ? from.table.identifier.name : '?';
      this.#tables.set(args.queryId, table);
    }
    return node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const table = this.#tables.get(args.queryId);
    if (table !== undefined) this.deletes.push({ table, rows: Number(args.result.numAffectedRows ?? 0) });
    return args.result;
  }

  /** Rows removed by each DELETE on `table` that found something (a tenant with nothing to purge adds a 0). */
  rowsPerDelete(table: string): number[] {
    return this.deletes.filter((d) => d.table === table && d.rows > 0).map((d) => d.rows);
  }
}

describe.each(dialects)('log retention on %s', (dialect) => {
  let rekey: TestRekey;
  let dir: string;
  let now = new Date('2026-03-01T12:00:00.000Z');
  const clock = { now: () => now };
  let tenantId: string;
  const otherTenant = '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f';
  const extraDbs: Db[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rekey-retention-'));
    // A file on SQLite, so that a second connection (a second "process") can open it.
    rekey = await startTestRekey(dialect, {
      clock,
      ...(dialect === 'sqlite'
        ? { env: { REKEY_DATABASE_URL: `sqlite:${path.join(dir, 'r.sqlite')}` } }
        : {}),
    });
    tenantId = rekey.tenant.id;
    await rekey.db.kysely
      .insertInto('tenants')
      .values({ id: otherTenant, display_name: 'Other', settings: '{}', created_at: now.toISOString() })
      .execute();
  });
  afterAll(async () => {
    await rekey?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    now = new Date('2026-03-01T12:00:00.000Z');
    await rekey.db.kysely.deleteFrom('sign_ins').execute();
    await rekey.db.kysely.deleteFrom('directory_audit_targets').execute();
    await rekey.db.kysely.deleteFrom('directory_audits').execute();
    await rekey.db.kysely.deleteFrom('connector_operations').execute();
    await rekey.db.kysely.deleteFrom('event_log').execute();
    await rekey.db.kysely.deleteFrom('capture_entries').execute();
    await rekey.db.kysely.deleteFrom('captures').execute();
  });
  afterEach(async () => {
    for (const db of extraDbs.splice(0)) await db.close();
  });

  const daysAgo = (days: number, extraSeconds = 0) =>
    isoPlus(new Date(now.getTime() - days * dayMs).toISOString(), extraSeconds);

  /** `old` sign-ins 40 days back and `recent` ones a day back, for `tenant`. */
  async function seedSignIns(tenant: string, old: number, recent: number, prefix: string) {
    const rows = [
      ...Array.from({ length: old }, (_, i) =>
        signInRow(tenant, { id: rowId(`${prefix}o`, i), created_at: daysAgo(40, i) }),
      ),
      ...Array.from({ length: recent }, (_, i) =>
        signInRow(tenant, { id: rowId(`${prefix}r`, i), created_at: daysAgo(1, i) }),
      ),
    ];
    await insertSignInRows(rekey.db.kysely, rows);
  }

  async function seedAudit(at: string, targetIds: readonly string[]): Promise<string> {
    return recordAudit(
      rekey.db.kysely,
      tenantId,
      systemContext('retention-test'),
      {
        activity: 'resetPasswordByAdmin',
        result: 'success',
        targets: targetIds.map((id) => ({ id, displayName: id, userPrincipalName: null })),
      },
      at,
    );
  }

  /** One connector trace row (a directory call) per time in `at`, for `tenant`, tagged by correlation ID. */
  async function seedConnectorCalls(tenant: string, at: readonly string[], tag: string): Promise<void> {
    const records: DirectoryTraceRecord[] = at.map((time, i) => ({
      operation: 'userBind',
      dn: 'uid=ann,ou=people,dc=rekey,dc=test',
      resultCode: 0,
      diagnostic: undefined,
      ppolicy: undefined,
      startedAt: new Date(time),
      latencyMs: 3,
      correlationId: `${tag}-${i}`,
      connectorId: 'c0ffee00-0000-4000-8000-000000000001',
      operationId: undefined,
    }));
    await insertConnectorTrace(rekey.db.kysely, tenant, records);
  }

  async function connectorCallTags(): Promise<string[]> {
    const rows = await rekey.db.kysely
      .selectFrom('connector_operations')
      .select('correlation_id')
      .orderBy('correlation_id')
      .execute();
    return rows.map((row) => row.correlation_id);
  }

  async function signInIds(): Promise<string[]> {
    const rows = await rekey.db.kysely.selectFrom('sign_ins').select('id').orderBy('id').execute();
    return rows.map((row) => row.id);
  }

  function retention(overrides: Partial<LogRetentionDeps> = {}, logLines: string[] = []) {
    return createLogRetention({
      db: rekey.db,
      clock,
      logger: createLogger('info', lineSink(logLines)),
      retentionDays: 30,
      pauseMs: 1,
      ...overrides,
    });
  }

  it('purges rows past retention and keeps recent ones, targets of purged audits included (the wired instance)', async () => {
    await seedSignIns(tenantId, 3, 2, 'a');
    await seedSignIns(otherTenant, 2, 1, 'b');
    await seedAudit(daysAgo(31), ['user-1', 'user-2']);
    const recentAudit = await seedAudit(daysAgo(29), ['user-1']);

    // Just inside and just outside the 30 days, to the millisecond.
    await insertSignInRows(rekey.db.kysely, [
      signInRow(tenantId, { id: 'edge-in', created_at: daysAgo(30, 0.001) }),
      signInRow(tenantId, { id: 'edge-out', created_at: daysAgo(30, -0.001) }),
    ]);

    // The connector trace ages out with the logs, at the same cutoff.
    await seedConnectorCalls(
      tenantId,
      [daysAgo(45), daysAgo(30, -0.001), daysAgo(30, 0.001), daysAgo(2)],
      'a',
    );
    await seedConnectorCalls(otherTenant, [daysAgo(31), daysAgo(1)], 'b');

    const counts = await rekey.logRetention.purgeNow();
    expect(counts).toMatchObject({
      signIns: 6,
      audits: 1,
      auditTargets: 2,
      connectorCalls: 3,
      // The purged audit row's event-log entry, written with it.
      events: 1,
      cutoff: new Date(now.getTime() - 30 * dayMs).toISOString(),
    });
    expect(await connectorCallTags()).toEqual(['a-2', 'a-3', 'b-1']);
    expect(await signInIds()).toEqual([...['ar-00000000', 'ar-00000001', 'br-00000000'], 'edge-in']);
    const audits = await rekey.db.kysely.selectFrom('directory_audits').select('id').execute();
    expect(audits.map((row) => row.id)).toEqual([recentAudit]);
    const targets = await rekey.db.kysely
      .selectFrom('directory_audit_targets')
      .select(['audit_id', 'target_id'])
      .execute();
    expect(targets).toEqual([{ audit_id: recentAudit, target_id: 'user-1' }]);

    // Nothing left to do: a second run deletes nothing.
    expect(await rekey.logRetention.purgeNow()).toMatchObject({
      signIns: 0,
      audits: 0,
      auditTargets: 0,
      connectorCalls: 0,
    });
  });

  it('purges the entries of HTTP captures past retention, then the captures that ended before the cutoff', async () => {
    const capture = async (id: string, endsAt: string) =>
      insertCapture(rekey.db.kysely, {
        id,
        tenant_id: tenantId,
        created_at: daysAgo(60),
        created_by_user_id: null,
        created_by_upn: null,
        target: 'correlationId',
        user_principal_name: null,
        user_id: null,
        correlation_id: `corr-${id}`,
        ends_at: endsAt,
        stopped_at: null,
        max_entries: 10,
      });
    const entry = (captureId: string, id: string, at: string) =>
      insertCaptureEntryWithinCap(rekey.db.kysely, {
        id,
        tenantId,
        captureId,
        createdAt: at,
        correlationId: `corr-${captureId}`,
        userId: null,
        method: 'GET',
        url: '/v1.0/me',
        status: 200,
        harEntry: '{}',
      });
    const oldCapture = 'c0000000-0000-4000-8000-000000000001';
    const longCapture = 'c0000000-0000-4000-8000-000000000002';
    await capture(oldCapture, daysAgo(59));
    // Started long ago but still recording (a one-day window that began 60 days ago cannot be; the
    // row is made so to show that a capture goes by its end, not its start).
    await capture(longCapture, daysAgo(-1));
    await entry(oldCapture, 'e0000000-0000-4000-8000-000000000001', daysAgo(59.5));
    await entry(longCapture, 'e0000000-0000-4000-8000-000000000002', daysAgo(45));
    await entry(longCapture, 'e0000000-0000-4000-8000-000000000003', daysAgo(2));

    expect(await retention().countExpired()).toMatchObject({ captureEntries: 2, captures: 1 });
    expect(await retention().purgeNow()).toMatchObject({ captureEntries: 2, captures: 1 });
    const captures = await rekey.db.kysely.selectFrom('captures').select('id').execute();
    expect(captures.map((row) => row.id)).toEqual([longCapture]);
    const entries = await rekey.db.kysely.selectFrom('capture_entries').select('id').execute();
    expect(entries.map((row) => row.id)).toEqual(['e0000000-0000-4000-8000-000000000003']);
  });

  it('follows the clock and the configured retention', async () => {
    await seedSignIns(tenantId, 0, 3, 'c');
    expect((await retention().purgeNow()).signIns).toBe(0);
    now = new Date(now.getTime() + 30 * dayMs);
    expect((await retention().purgeNow()).signIns).toBe(3);

    await insertSignInRows(rekey.db.kysely, [
      signInRow(tenantId, { id: 'd-1', created_at: daysAgo(1.5) }),
      signInRow(tenantId, { id: 'd-2', created_at: daysAgo(1.5, 1) }),
    ]);
    expect((await retention({ retentionDays: 2 }).purgeNow()).signIns).toBe(0);
    expect((await retention({ retentionDays: 1 }).purgeNow()).signIns).toBe(2);
  });

  it('deletes in batches of the batch size, pausing between them', async () => {
    await seedSignIns(tenantId, 25, 4, 'e');
    for (let i = 0; i < 9; i += 1) await seedAudit(daysAgo(35, i), [`t-${i}`, `u-${i}`]);
    await seedConnectorCalls(
      tenantId,
      Array.from({ length: 8 }, (_, i) => daysAgo(33, i)),
      'e',
    );
    const counter = new DeleteCounter();
    const counted: Db = { ...rekey.db, kysely: rekey.db.kysely.withPlugin(counter) };
    const started = Date.now();
    const counts = await retention({ db: counted, batchSize: 7, pauseMs: 30 }).purgeNow();

    // Each audit row wrote its event-log entry at the same time, which goes with it.
    expect(counts).toMatchObject({ signIns: 25, audits: 9, auditTargets: 18, connectorCalls: 8, events: 9 });
    // 7 + 7 + 7 + 4: never more than a batch per statement, and the short one ends the loop.
    expect(counter.rowsPerDelete('sign_ins')).toEqual([7, 7, 7, 4]);
    expect(counter.rowsPerDelete('directory_audits')).toEqual([7, 2]);
    expect(counter.rowsPerDelete('directory_audit_targets')).toEqual([7, 7, 4]);
    expect(counter.rowsPerDelete('connector_operations')).toEqual([7, 1]);
    expect(counter.rowsPerDelete('event_log')).toEqual([7, 2]);
    // Plus one empty batch per log for the other tenant, and two (capture entries, captures) for each.
    expect(counts.batches).toBe(4 + 2 + 3 + 2 + 2 + 5 + 4);
    // A pause after each full batch: 3 + 1 + 2 + 1 + 1 of them (the other tenant has nothing to purge).
    expect(Date.now() - started).toBeGreaterThanOrEqual(8 * 30 - 5);
    expect(await signInIds()).toHaveLength(4);
  });

  it('counts without deleting on a dry run', async () => {
    await seedSignIns(tenantId, 5, 2, 'f');
    await seedSignIns(otherTenant, 1, 0, 'g');
    await seedAudit(daysAgo(60), ['x', 'y', 'z']);
    await seedConnectorCalls(tenantId, [daysAgo(31), daysAgo(29)], 'f');
    await seedConnectorCalls(otherTenant, [daysAgo(90)], 'g');
    const counts = await retention().countExpired();
    expect(counts).toEqual({
      signIns: 6,
      audits: 1,
      auditTargets: 3,
      connectorCalls: 2,
      events: 1,
      captureEntries: 0,
      captures: 0,
      batches: 0,
      cutoff: new Date(now.getTime() - 30 * dayMs).toISOString(),
    });
    expect(await signInIds()).toHaveLength(8);
    expect(await connectorCallTags()).toHaveLength(3);
  });

  it('runs at start in the background, logs one structured line per run, and stop() waits', async () => {
    await seedSignIns(tenantId, 4, 1, 'h');
    const lines: string[] = [];
    const background = retention({ batchSize: 2, intervalMs: 60_000 }, lines);
    background.start();
    await expect.poll(() => lines.length, { timeout: 5000 }).toBe(1);
    await background.stop();
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 30,
      msg: 'log retention: purged rows past retention',
      signIns: 4,
      audits: 0,
      auditTargets: 0,
      connectorCalls: 0,
      events: 0,
      batches: 3 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 4,
      retentionDays: 30,
      stopped: false,
    });
    expect(line['durationMs']).toBeTypeOf('number');
    expect(await signInIds()).toEqual(['hr-00000000']);
  });

  it('stops between batches: stop() returns after the running batch and nothing is deleted after it', async () => {
    await seedSignIns(tenantId, 200, 0, 'i');
    const background = retention({ batchSize: 10, pauseMs: 20 });
    background.start();
    await expect.poll(async () => (await signInIds()).length, { timeout: 5000 }).toBeLessThan(200);
    await background.stop();
    const left = (await signInIds()).length;
    expect(left).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await signInIds()).length).toBe(left);
  });

  it('is harmless when several processes purge at once', async () => {
    await seedSignIns(tenantId, 300, 5, 'j');
    for (let i = 0; i < 40; i += 1) await seedAudit(daysAgo(45, i), [`p-${i}`]);
    // Each purger has its own connection (pool), as separate processes would.
    const purgers = Array.from({ length: 3 }, () => {
      const db = openDatabase(rekey.config.databaseUrl);
      extraDbs.push(db);
      return retention({ db, batchSize: 16, pauseMs: 0 });
    });
    const results = await Promise.all(purgers.map((purger) => purger.purgeNow()));
    const sum = (key: 'signIns' | 'audits' | 'auditTargets') =>
      results.reduce((total, counts) => total + counts[key], 0);
    // Every row deleted exactly once between them; the other purgers simply found it gone.
    expect(sum('signIns')).toBe(300);
    expect(sum('audits')).toBe(40);
    expect(sum('auditTargets')).toBe(40);
    expect(await signInIds()).toHaveLength(5);
    expect(await retention().countExpired()).toMatchObject({ signIns: 0, audits: 0, auditTargets: 0 });
  });
});
