import { type CompiledQuery, type Kysely, type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, openTestDatabase } from '../../test/support/databases.js';
import type { Db } from '../platform/db/database.js';
import type { Database } from '../platform/db/schema.js';
import { parseQueryOptions } from '../platform/odata/index.js';
import { systemContext } from '../platform/request-context.js';
import { directoryAuditsResource } from './audit-query.js';
import { type AuditEntry, recordAudit } from './audit-service.js';
import { listAuditsPage } from './audit-store.js';

const tenantId = '5b0d8c1e-3f4a-4b6c-9d2e-7a1f0c3b5e88';
const target = 'target-of-history';

function entry(targets: readonly string[], result: 'success' | 'failure'): AuditEntry {
  return {
    activity: result === 'success' ? 'updateUser' : 'resetPasswordByAdmin',
    result,
    targets: targets.map((id) => ({ id, displayName: null, userPrincipalName: null })),
  };
}

/** Every page of `filter` under `orderBy`, `top` rows at a time, following the skip tokens. */
async function readPages(db: Db, filter: string, orderBy: string, top: number): Promise<string[][]> {
  const pages: string[][] = [];
  let skipToken: string | undefined;
  do {
    const options = parseQueryOptions(
      {
        $filter: filter,
        $orderby: orderBy,
        $top: String(top),
        ...(skipToken === undefined ? {} : { $skiptoken: skipToken }),
      },
      directoryAuditsResource,
    );
    const page = await listAuditsPage(db.kysely, tenantId, {
      filter: options.filter,
      page: options,
      count: false,
    });
    pages.push(page.rows.map((row) => row.id));
    skipToken = page.nextSkipToken;
  } while (skipToken !== undefined);
  return pages;
}

/** Records the SQL that a Kysely built on `db` runs, compiled by `db` itself. */
function capturing(db: Kysely<Database>): {
  readonly kysely: Kysely<Database>;
  readonly taken: CompiledQuery[];
} {
  const taken: CompiledQuery[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: ({ node, queryId }) => {
      taken.push(db.getExecutor().compileQuery(node, queryId));
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return { kysely: db.withPlugin(plugin), taken };
}

describe.each(dialects)('one target’s audit history on %s', (dialect) => {
  let db: Db;
  /** The target's audits as written: [id, time, result], in insertion order. */
  const written: Array<{ id: string; at: string; result: 'success' | 'failure' }> = [];

  beforeAll(async () => {
    db = await openTestDatabase(dialect);
    // 30 audits of the target over 10 instants, three at each, so the id decides among ties;
    // some name a second target too, and other targets' audits are interleaved.
    for (let i = 0; i < 30; i++) {
      const at = `2026-03-${String(10 + Math.floor(i / 3)).padStart(2, '0')}T08:00:00.000Z`;
      const result = i % 4 === 0 ? 'failure' : 'success';
      const targets = i % 5 === 0 ? [target, 'second-target'] : [target];
      const id = await recordAudit(db.kysely, tenantId, systemContext(`c-${i}`), entry(targets, result), at);
      written.push({ id, at, result });
      await recordAudit(db.kysely, tenantId, systemContext(`o-${i}`), entry([`other-${i % 3}`], result), at);
    }
    // Another tenant's audit of the same target id is never seen.
    await recordAudit(
      db.kysely,
      '00000000-0000-4000-8000-00000000aaaa',
      systemContext('elsewhere'),
      entry([target], 'success'),
      '2026-03-15T08:00:00.000Z',
    );
  });
  afterAll(async () => db?.close());

  const single = `targetResources/any(t: t/id eq '${target}')`;
  // The same condition in a form the one-target path does not take: the general path's answer.
  const general = `targetResources/any(t: t/id eq '${target}' or t/id eq '${target}')`;

  const cases: ReadonlyArray<[string, string, (row: (typeof written)[number]) => boolean]> = [
    ['alone', '', () => true],
    [
      'and a time range',
      ' and activityDateTime ge 2026-03-12T08:00:00Z',
      (r) => r.at >= '2026-03-12T08:00:00.000Z',
    ],
    ['and a result', " and result eq 'failure'", (r) => r.result === 'failure'],
  ];

  it.each(cases)(
    'pages the target’s history %s exactly as the general path does, both orders',
    async (_name, extra, keep) => {
      for (const direction of ['desc', 'asc'] as const) {
        const fast = await readPages(db, `${single}${extra}`, `activityDateTime ${direction}`, 4);
        const slow = await readPages(db, `${general}${extra}`, `activityDateTime ${direction}`, 4);
        expect(fast).toEqual(slow);
        // And both are the target's audits in the keyset order: time, then id, in one direction.
        const expected = written
          .filter(keep)
          .sort((a, b) => (a.at === b.at ? a.id.localeCompare(b.id) : a.at.localeCompare(b.at)))
          .map((row) => row.id);
        if (direction === 'desc') expected.reverse();
        expect(fast.flat()).toEqual(expected);
        expect(fast.slice(0, -1).every((page) => page.length === 4)).toBe(true);
      }
    },
  );

  it('reads a page in the order of the target index, with no sort of the target’s history', async () => {
    const capture = capturing(db.kysely);
    const options = parseQueryOptions({ $filter: single, $top: '5' }, directoryAuditsResource);
    const page = await listAuditsPage(capture.kysely, tenantId, {
      filter: options.filter,
      page: options,
      count: false,
    });
    expect(page.rows).toHaveLength(5);
    const [statement] = capture.taken;
    if (!statement) throw new Error('no statement was run');
    const plan = await db.kysely.transaction().execute(async (trx) => {
      if (dialect === 'postgres') {
        // A handful of rows would be read by a sequential scan and sorted: make the planner show
        // the plan it takes at scale, when the index order is available.
        await sql`set local enable_seqscan = off`.execute(trx);
        await sql`set local enable_sort = off`.execute(trx);
      }
      const prefix = dialect === 'sqlite' ? 'explain query plan ' : 'explain (costs off) ';
      const result = await trx.executeQuery<Record<string, unknown>>({
        ...statement,
        sql: `${prefix}${statement.sql}`,
      });
      return result.rows.map((row) => String(row['detail'] ?? row['QUERY PLAN'] ?? '')).join('\n');
    });
    expect(plan).toContain('directory_audit_targets_target');
    expect(plan).not.toMatch(/TEMP B-TREE|Sort/);
  });
});
