import { afterEach, describe, expect, it } from 'vitest';
import { dialects, freshDatabaseUrl } from '../../../../test/support/databases.js';
import { type Db, migrateToLatest, migrateUpTo, openDatabase } from '../database.js';

/*
 * Migration 0016 on both databases: connector trace rows kept before it (no reason, no outcome)
 * get the outcome connector health counts them by, from their LDAP result alone.
 */

describe.each(dialects)('migration 0016-connector-health on %s', (dialect) => {
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('classifies the rows kept before it by their LDAP result', async () => {
    const opened = openDatabase(await freshDatabaseUrl(dialect));
    db = opened;
    await migrateUpTo(opened, '0012-connector-operations');
    const row = (id: string, operation: string, ldapResultCode: number | null) => ({
      id,
      tenant_id: 'tenant',
      connector_id: 'connector',
      operation_id: null,
      operation,
      dn: null,
      ldap_result_code: ldapResultCode,
      ppolicy_error: null,
      diagnostic: null,
      latency_ms: 1,
      correlation_id: 'c',
      at: '2026-12-01T00:00:00.000Z',
    });
    // Columns 0016 adds are not there yet: insert through an untyped table.
    await opened.kysely
      .withTables<{ connector_operations: ReturnType<typeof row> }>()
      .insertInto('connector_operations')
      .values([
        row('a', 'serviceBind', 0),
        row('b', 'userBind', 49),
        row('c', 'serviceBind', 49),
        row('d', 'connect', null),
        row('e', 'passwordModify', 19),
      ])
      .execute();

    expect(await migrateToLatest(opened)).toContain('0016-connector-health');
    const rows = await opened.kysely
      .selectFrom('connector_operations')
      .select(['id', 'outcome', 'failure_reason', 'code'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { id: 'a', outcome: 'success', failure_reason: null, code: null },
      { id: 'b', outcome: 'refused', failure_reason: null, code: null },
      { id: 'c', outcome: 'error', failure_reason: null, code: null },
      { id: 'd', outcome: 'error', failure_reason: null, code: null },
      { id: 'e', outcome: 'error', failure_reason: null, code: null },
    ]);
  });
});
