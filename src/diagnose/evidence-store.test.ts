import { type CompiledQuery, type Kysely, type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, openTestDatabase } from '../../test/support/databases.js';
import { listUserLicenses } from '../licenses/license-store.js';
import type { Db } from '../platform/db/database.js';
import type { Database } from '../platform/db/schema.js';
import {
  countSignInsWithCode,
  findUserAnyStateByUpn,
  listAuditsAboutUser,
  listAuditsOfActivities,
  listAuditsOfCorrelation,
  listConnectorCallsOfOperations,
  listFailedAuditsWithCode,
  listFailedOperations,
  listOperationEvents,
  listOperationsOfCorrelation,
  listOperationsOfUser,
  listRecentConnectorCalls,
  listSignInsOfCorrelation,
  listSignInsOfUser,
  listSignInsWithCode,
  topUsersWithSignInCode,
} from './evidence-store.js';

/*
 * Every read of the troubleshooter goes through an index that exists, on both databases: the
 * sign-in log holds millions of rows, so a scan of it would make a diagnosis take minutes. The
 * plan of each statement is read with EXPLAIN (PostgreSQL with sequential scans and sorts
 * discouraged, so it shows the plan it takes at scale rather than the one for an empty table).
 */

/** Runs `read` and returns the statements it sent. */
async function statementsOf(db: Kysely<Database>, read: (db: Kysely<Database>) => Promise<unknown>) {
  const taken: CompiledQuery[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: ({ node, queryId }) => {
      taken.push(db.getExecutor().compileQuery(node, queryId));
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  await read(db.withPlugin(plugin));
  return taken;
}

const tenant = 'tenant-1';
const since = '2026-01-01T00:00:00.000Z';

/** Each read, and the index its plan must use. */
const reads: ReadonlyArray<[string, (db: Kysely<Database>) => Promise<unknown>, string]> = [
  // Read for the licence check and on every change of a written-back user.
  ['the licences of a user', (db) => listUserLicenses(db, tenant, ['u-1']), 'user_licenses_tenant_user'],
  [
    'a user by name, deleted or not',
    (db) => findUserAnyStateByUpn(db, tenant, 'a@example.com'),
    'users_tenant_upn',
  ],
  ['sign-ins of a user', (db) => listSignInsOfUser(db, tenant, 'a@example.com', since, 200), 'sign_ins_upn'],
  ['sign-ins of a request', (db) => listSignInsOfCorrelation(db, tenant, 'c-1', 200), 'sign_ins_correlation'],
  ['sign-ins with a code', (db) => listSignInsWithCode(db, tenant, 50126, since, 200), 'sign_ins_error'],
  ['sign-ins with a code, counted', (db) => countSignInsWithCode(db, tenant, 50126, since), 'sign_ins_error'],
  ['users most hit by a code', (db) => topUsersWithSignInCode(db, tenant, 50126, since, 5), 'sign_ins_error'],
  [
    'audit rows of a request',
    (db) => listAuditsOfCorrelation(db, tenant, 'c-1', 200),
    'directory_audits_correlation',
  ],
  [
    'audit rows about a user',
    (db) => listAuditsAboutUser(db, tenant, 'u-1', since, 200),
    'directory_audit_targets_target',
  ],
  [
    'configuration changes in the window',
    (db) => listAuditsOfActivities(db, tenant, ['Update password policy'], since, 200),
    'directory_audits_activity',
  ],
  [
    'refused changes with a code',
    (db) => listFailedAuditsWithCode(db, tenant, ['Change password (self-service)'], 120002, since, 200),
    'directory_audits_result',
  ],
  ['operations of a user', (db) => listOperationsOfUser(db, 'u-1', since, 200), 'password_operations_user'],
  [
    'operations of a request',
    (db) => listOperationsOfCorrelation(db, tenant, 'c-1', 200),
    'password_operations_correlation',
  ],
  [
    'ended operations in the window (120008)',
    (db) => listFailedOperations(db, tenant, 120008, since, 200),
    'password_operations_tenant_time',
  ],
  [
    'operations failed with a code',
    (db) => listFailedOperations(db, tenant, 120013, since, 200),
    'password_operations_error',
  ],
  [
    'events of operations',
    (db) => listOperationEvents(db, ['o-1', 'o-2']),
    'password_operation_events_operation',
  ],
  [
    'connector calls of operations',
    (db) => listConnectorCallsOfOperations(db, tenant, ['o-1']),
    'connector_operations_operation',
  ],
  [
    'recent calls of a connector',
    (db) => listRecentConnectorCalls(db, tenant, 'k-1', since, 200),
    'connector_operations_connector',
  ],
];

describe.each(dialects)('the troubleshooter reads on indexes on %s', (dialect) => {
  let db: Db;
  beforeAll(async () => {
    db = await openTestDatabase(dialect);
    // Rows shaped like a real log (many users, a few codes, a month of time), then the planner's
    // statistics, so the plans are those of a used database and not of empty tables.
    await db.kysely
      .insertInto('tenants')
      .values({ id: tenant, display_name: 'Test', settings: '{}', created_at: since })
      .execute();
    const at = new Date(Date.parse(since)).toISOString();
    const users = Array.from({ length: 400 }, (_, i) => ({
      id: `u-${i}`,
      tenant_id: tenant,
      user_principal_name: `user${i}@example.com`,
      upn_key: `user${i}@example.com`,
      display_name: `User ${i}`,
      mail_nickname: `user${i}`,
      account_enabled: 1 as const,
      force_change_password_next_sign_in: 0 as const,
      force_change_password_next_sign_in_with_mfa: 0 as const,
      user_type: 'Member' as const,
      roles: '[]',
      session_version: 1,
      sign_in_sessions_valid_from: at,
      created_at: at,
      updated_at: at,
    }));
    await db.kysely.insertInto('users').values(users).execute();
    const rows = Array.from({ length: 4000 }, (_, i) => ({
      id: `s-${String(i).padStart(6, '0')}`,
      tenant_id: tenant,
      created_at: new Date(Date.parse(since) + i * 600_000).toISOString(),
      user_id: `u-${i % 400}`,
      user_principal_name: `user${i % 400}@example.com`,
      upn_key: `user${i % 400}@example.com`,
      user_display_name: null,
      app_id: 'app',
      app_display_name: null,
      client_app_used: 'Mobile Apps and Desktop clients',
      ip_address: '127.0.0.1',
      user_agent: null,
      correlation_id: `c-${i}`,
      is_interactive: 1 as const,
      error_code: [0, 0, 0, 0, 0, 50126, 50053, 50055, 120000, 50057][i % 10] ?? 0,
      failure_reason: null,
      additional_details: null,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await db.kysely
        .insertInto('sign_ins')
        .values(rows.slice(i, i + 500))
        .execute();
    // Every user holds a licence, as every user does out of the box.
    await db.kysely
      .insertInto('user_licenses')
      .values(
        users.map((user) => ({
          user_id: user.id,
          sku_id: '078d2b04-f1bd-4111-bbd4-b4b1b354cef4',
          tenant_id: tenant,
          disabled_plans: '[]',
          assigned_at: at,
        })),
      )
      .execute();
    // The connector trace: a month of calls of four connectors, a few per operation.
    const calls = Array.from({ length: 4000 }, (_, i) => ({
      id: `k-call-${String(i).padStart(6, '0')}`,
      tenant_id: tenant,
      connector_id: `k-${i % 4}`,
      operation_id: i % 5 === 0 ? null : `o-${Math.floor(i / 3)}`,
      operation: ['connect', 'userBind', 'passwordModify'][i % 3] ?? 'userBind',
      dn: `uid=user${i % 400},ou=people,dc=example,dc=com`,
      ldap_result_code: 0,
      ppolicy_error: null,
      diagnostic: null,
      latency_ms: 2,
      correlation_id: `c-${Math.floor(i / 3)}`,
      at: new Date(Date.parse(since) + i * 600_000).toISOString(),
      outcome: 'success' as const,
      failure_reason: null,
      code: null,
    }));
    for (let i = 0; i < calls.length; i += 500)
      await db.kysely
        .insertInto('connector_operations')
        .values(calls.slice(i, i + 500))
        .execute();
    await sql`analyze`.execute(db.kysely);
  });
  afterAll(async () => db?.close());

  it.each(reads)('%s', async (_name, read, index) => {
    const statements = await statementsOf(db.kysely, read);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      const plan = await db.kysely.transaction().execute(async (trx) => {
        if (dialect === 'postgres') {
          await sql`set local enable_seqscan = off`.execute(trx);
          // A sort is what an ordered read must avoid; an aggregate may hash or sort its groups.
          if (!statement.sql.includes('count(')) await sql`set local enable_sort = off`.execute(trx);
        }
        const prefix = dialect === 'sqlite' ? 'explain query plan ' : 'explain (costs off) ';
        const result = await trx.executeQuery<Record<string, unknown>>({
          ...statement,
          sql: `${prefix}${statement.sql}`,
        });
        return result.rows.map((row) => String(row['detail'] ?? row['QUERY PLAN'] ?? '')).join('\n');
      });
      expect(plan, plan).toContain(index);
      // No full scan of a table: SQLite says "SCAN <table>" without an index, PostgreSQL "Seq Scan".
      expect(plan, plan).not.toMatch(
        /SCAN (sign_ins|directory_audits|password_operations|connector_operations|user_licenses)\b(?! USING)|Seq Scan/,
      );
    }
  });
});
