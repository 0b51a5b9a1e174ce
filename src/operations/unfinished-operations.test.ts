import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import type { OperationState, PasswordOperationRow } from '../platform/db/schema.js';
import { insertOperation, listUnfinishedOperationIds } from './operation-store.js';

/*
 * Every change asks whether its user has an operation still going. The answer must not cost more
 * with each operation the user ever had: it reads password_operations_unfinished, the index of
 * the operations still going, on both databases.
 */

describe.each(dialects)('the unfinished operations of a user on %s', (dialect) => {
  let rekey: TestRekey;
  let tenantId: string;
  const users: string[] = [];
  const statements: string[] = [];
  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { onQuery: (sql) => statements.push(sql) });
    tenantId = rekey.tenant.id;
    for (const alias of ['going.user', 'other.user'])
      users.push((await rekey.createUser(alias, 'Harbor-Lattice-19!')).id);
  });
  afterAll(async () => rekey?.close());

  function operation(userId: string, state: OperationState): PasswordOperationRow {
    const at = '2026-01-01T00:00:00.000Z';
    return {
      id: randomUUID(),
      tenant_id: tenantId,
      user_id: userId,
      kind: 'selfChange',
      requested_by_user_id: userId,
      requested_by_app_id: null,
      correlation_id: randomUUID(),
      idempotency_key: null,
      idempotency_fingerprint: null,
      state,
      step: state === 'succeeded' ? 'completed' : 'validate',
      attempts: 1,
      next_attempt_at: at,
      deadline_at: at,
      lease_owner: null,
      lease_expires_at: null,
      error_code: null,
      error_retryable: null,
      error_detail: null,
      secret_ciphertext: null,
      force_change: 0,
      created_at: at,
      updated_at: at,
      completed_at: state === 'succeeded' || state === 'terminated' ? at : null,
    };
  }

  it('finds the operations still going, of that user only, through the index of those', async () => {
    const [u = '', v = ''] = users;
    const going = [operation(u, 'notStarted'), operation(u, 'running'), operation(u, 'retryScheduled')];
    const ended = [operation(u, 'succeeded'), operation(u, 'terminated')];
    for (const row of [...going, ...ended, operation(v, 'running')])
      await insertOperation(rekey.db.kysely, row);
    const [first] = going;
    if (!first) throw new Error('no operation');

    statements.length = 0;
    const found = await listUnfinishedOperationIds(rekey.db.kysely, u, first.id);
    expect(found.sort()).toEqual(
      going
        .slice(1)
        .map((row) => row.id)
        .sort(),
    );

    const [text] = statements;
    if (!text) throw new Error('the read sent no statement');
    const plan = await rekey.db.kysely.transaction().execute(async (trx) => {
      if (dialect === 'postgres') {
        // As at scale: PostgreSQL would scan a table this small rather than read an index.
        await sql`set local enable_seqscan = off`.execute(trx);
        await sql`set local enable_bitmapscan = off`.execute(trx);
      }
      const prefix = dialect === 'sqlite' ? 'explain query plan ' : 'explain (costs off) ';
      const result = await trx.executeQuery<Record<string, unknown>>({
        query: { kind: 'RawNode', sqlFragments: [], parameters: [] },
        queryId: { queryId: 'plan' },
        sql: `${prefix}${text}`,
        parameters: [u, first.id],
      } as never);
      return result.rows.map((row) => String(row['detail'] ?? row['QUERY PLAN'] ?? '')).join('\n');
    });
    expect(plan, plan).toContain('password_operations_unfinished');
  });
});
