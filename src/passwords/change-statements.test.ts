import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { fixtureUsers } from '../../test/support/slapd-fixtures.js';
import { systemContext } from '../platform/request-context.js';

/*
 * What one password change costs the database, counted statement by statement (transaction
 * control included) against a real slapd and SQLite: a synced user's own change written back to
 * the directory, and a cloud-only user's. The writeback bench is bound by these statements
 * (issue 10: Rekey's main thread spends most of a change in them), so a change that adds one
 * must lower the count elsewhere or raise the budget here on purpose, saying why.
 *
 * The budgets are the counts as they stand: a change below them should lower them too.
 */

/** Statements of one written-back change through `/{tenant}/password/change` (56, then 44, before they were cut). */
const writtenBackBudget = 40;
/** Statements of one cloud-only change through the same endpoint. */
const cloudOnlyBudget = 28;

describe('the statements of one password change (SQLite, real slapd)', () => {
  let slapd: TestSlapd;
  let rekey: TestRekey;
  let recorded: string[] | undefined;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    rekey = await startTestRekey('sqlite', {
      onQuery: (sql) => recorded?.push(sql),
    });
    const admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, 'Head office', { writeback: true, syncIntervalSeconds: null }) as Json,
    });
    expect(created.statusCode, created.body).toBe(201);
    const synced = await rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/connectors/${String(created.json<Json>()['id'])}/sync`,
      headers: bearer(admin),
    });
    expect(synced.json<Json>()['result'], synced.body).toBe('success');
  });
  afterAll(async () => {
    await rekey?.close();
    await slapd?.close();
  });

  /** The statements one change of `upn`'s password runs, from the request to its 204. */
  async function statementsOfChange(upn: string, currentPassword: string, newPassword: string) {
    // The trace of an earlier change's pass-through bind is written in a batch up to 100 ms
    // later (connector-trace-writer.ts): written now, so it is not counted as this change's.
    await rekey.connectors.flushTrace();
    recorded = [];
    try {
      const response = await rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        payload: { userPrincipalName: upn, currentPassword, newPassword },
      });
      expect(response.statusCode, response.body).toBe(204);
      // The change's own pass-through trace, whenever its batch is written: counted here as a
      // batch of its own (under load, several changes share one).
      await rekey.connectors.flushTrace();
      return recorded;
    } finally {
      recorded = undefined;
    }
  }

  it('keeps a written-back change within its budget, every guarantee still written', async () => {
    const user = fixtureUsers.dan;
    // The first change of a user may set up rows later changes find (its lockout counter...).
    await statementsOfChange(user.mail, user.password, 'Quarry-Lantern-62!');
    const statements = await statementsOfChange(user.mail, 'Quarry-Lantern-62!', 'Meadow-Cipher-37!');
    const text = statements.join('\n');
    expect(statements.length, text).toBeLessThanOrEqual(writtenBackBudget);
    // The count went down without dropping what a change must leave behind: the operation and
    // its history, the directory trace, the new hash and its history, the audit row and its event.
    for (const table of [
      'password_operations',
      'password_operation_events',
      'connector_operations',
      'credentials',
      'password_history',
      'directory_audits',
      'event_log',
    ])
      expect(text, table).toContain(`insert into "${table}"`);
    // The operation is recorded in a transaction of its own before the directory is written.
    const inserted = statements.findIndex((sql) => sql.startsWith('insert into "password_operations"'));
    const written = statements.findLastIndex((sql) => sql.startsWith('insert into "connector_operations"'));
    expect(statements.slice(inserted, written)).toContain('commit');
  });

  it('keeps a cloud-only change within its budget', async () => {
    const cloud = await rekey.createUser('cloud-counted', 'Harbor-Lattice-19!');
    await statementsOfChange(cloud.userPrincipalName, 'Harbor-Lattice-19!', 'Thistle-Orbit-84!');
    const statements = await statementsOfChange(
      cloud.userPrincipalName,
      'Thistle-Orbit-84!',
      'Cinder-Parable-53!',
    );
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(cloudOnlyBudget);
    expect(statements.join('\n')).toContain('insert into "directory_audits"');
  });
});
