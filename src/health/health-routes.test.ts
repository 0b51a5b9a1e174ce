import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';

describe.each(dialects)('health endpoints on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  it('answers /healthz and /readyz while the database is current', async () => {
    const health = await rekey.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await rekey.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', database: dialect });
  });

  it('answers /readyz with 503 7700202 while a migration is pending, and recovers once it is applied', async () => {
    const applied = await sql<{
      name: string;
      timestamp: string;
    }>`select name, timestamp from rekey_migrations`.execute(rekey.db.kysely);
    expect(applied.rows.map((r) => r.name)).toContain('0001-initial');
    await sql`delete from rekey_migrations where name = ${'0001-initial'}`.execute(rekey.db.kysely);
    try {
      const pending = await rekey.app.inject({ method: 'GET', url: '/readyz' });
      expect(pending.statusCode).toBe(503);
      const body = pending.json();
      expect(body.error.code).toBe('serviceNotAvailable');
      expect(body.error.innerError.aadstsCode).toBe(7700202);
      expect((await rekey.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      for (const row of applied.rows.filter((r) => r.name === '0001-initial')) {
        await sql`insert into rekey_migrations (name, timestamp) values (${row.name}, ${row.timestamp})`.execute(
          rekey.db.kysely,
        );
      }
    }
    expect((await rekey.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('answers /readyz with 503 7700202 once the database is unreachable, while /healthz still answers', async () => {
    const other = await startTestRekey(dialect);
    try {
      await other.db.close();
      const ready = await other.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(aadstsCodeOf(ready)).toBe(7700202);
      expect(ready.body).not.toMatch(/destroyed|pool|sqlite|ECONN/i);
      const health = await other.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
    } finally {
      await other.close();
    }
  });
});
