import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { systemContext } from '../platform/request-context.js';
import type { SyncedUserInput, SyncedUserResult } from './synced-users.js';
import { markUserDeleted } from './user-store.js';

/*
 * A sync page applied at once (startSyncRun().applyPage, what the LDAP sync calls per page) on
 * both databases: every entry ends as applying the entries one by one (applySyncedUser) ends it,
 * the licences for new users included when a subscription has fewer units left than the page has
 * new users; entries whose UPN or immutable id an earlier entry of the page used; UPNs outside the
 * verified domains; soft-deleted synced users and deleted cloud users; two runs racing for the
 * last units.
 */

const p1 = '078d2b04-f1bd-4111-bbd4-b4b1b354cef4';
const p2 = '84a661c4-e949-4bd2-a560-ed7766fcaf2b';
const password = 'Quiet-Harbor-7!';

/** One directory entry of the tests' connector. */
function entry(
  connectorId: string,
  alias: string,
  overrides: Partial<SyncedUserInput> = {},
): SyncedUserInput {
  return {
    connectorId,
    immutableId: `${alias}-immutable`,
    distinguishedName: `uid=${alias},ou=people,dc=example,dc=com`,
    userPrincipalName: `${alias}@example.com`,
    displayName: `${alias} Directory`,
    givenName: alias,
    surname: 'Directory',
    mail: `${alias}@example.com`,
    mailNickname: alias,
    samAccountName: alias,
    accountEnabled: true,
    ...overrides,
  };
}

/** A result with user ids left out, so two databases' runs compare. */
function comparable(result: SyncedUserResult): string {
  return result.outcome === 'failed'
    ? `failed: ${result.reason.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')}`
    : result.outcome;
}

describe.each(dialects)('a sync page at once on %s', (dialect) => {
  /** Two Rekeys given the same users: one applies the page at once, the other entry by entry. */
  let batched: TestRekey;
  let single: TestRekey;

  beforeAll(async () => {
    [batched, single] = await Promise.all([startTestRekey(dialect), startTestRekey(dialect)]);
  });
  afterAll(async () => {
    await batched?.close();
    await single?.close();
  });

  async function adminCall(rekey: TestRekey, method: 'GET' | 'PUT', url: string, payload?: Json) {
    const response = await rekey.app.inject({
      method,
      url,
      headers: bearer(await rekey.adminToken()),
      ...(payload ? { payload } : {}),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Json>();
  }

  /** Leaves `left` units of P1 and `p2Left` of P2, both given to every new user. */
  async function leaveUnits(rekey: TestRekey, left: number, p2Left: number): Promise<void> {
    const skus = (await adminCall(rekey, 'GET', '/v1.0/subscribedSkus'))['value'] as Json[];
    const consumed = (skuId: string) =>
      Number(skus.find((sku) => sku['skuId'] === skuId)?.['consumedUnits'] ?? 0);
    await adminCall(rekey, 'PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM', {
      prepaidUnits: { enabled: consumed(p1) + left },
    });
    await adminCall(rekey, 'PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2', {
      prepaidUnits: { enabled: consumed(p2) + p2Left },
      assignToNewUsers: true,
    });
  }

  /** Each UPN's licences (SKU ids, in SKU order) and whether the user is live. */
  async function usersByUpn(
    rekey: TestRekey,
    upns: readonly string[],
  ): Promise<Record<string, { skus: string[]; live: boolean; immutableId: string | null } | undefined>> {
    const rows = await rekey.db.kysely
      .selectFrom('users')
      .leftJoin('user_licenses', 'user_licenses.user_id', 'users.id')
      .select(['users.upn_key', 'users.deleted_at', 'users.on_premises_immutable_id', 'user_licenses.sku_id'])
      .where('users.tenant_id', '=', rekey.tenant.id)
      .where(
        'users.upn_key',
        'in',
        upns.map((upn) => upn.toLowerCase()),
      )
      .orderBy('users.upn_key')
      .orderBy('user_licenses.sku_id')
      .execute();
    const result: Record<string, { skus: string[]; live: boolean; immutableId: string | null } | undefined> =
      Object.fromEntries(upns.map((upn) => [upn, undefined]));
    for (const row of rows) {
      const held = result[row.upn_key] ?? {
        skus: [],
        live: row.deleted_at === null,
        immutableId: row.on_premises_immutable_id,
      };
      if (row.sku_id !== null) held.skus.push(row.sku_id);
      result[row.upn_key] = held;
    }
    return result;
  }

  async function units(rekey: TestRekey): Promise<Record<string, { consumed: number; enabled: number }>> {
    const rows = await rekey.db.kysely
      .selectFrom('subscribed_skus')
      .select(['sku_id', 'consumed_units', 'enabled_units'])
      .where('tenant_id', '=', rekey.tenant.id)
      .execute();
    return Object.fromEntries(
      rows.map((row) => [row.sku_id, { consumed: row.consumed_units, enabled: row.enabled_units }]),
    );
  }

  /**
   * The same users in a Rekey: cloud users to soft-match (one holding a role, one deleted), a
   * synced user soft-deleted since, one about to be renamed, and a domain not verified.
   */
  async function prepare(rekey: TestRekey, connectorId: string): Promise<void> {
    const context = systemContext('sync-page-setup');
    await rekey.createUser('cloud1', password);
    await rekey.createUser('boss', password, { roles: ['Helpdesk Administrator'] });
    const gone = await rekey.createUser('gone', password);
    await markUserDeleted(rekey.db.kysely, gone.id, new Date().toISOString());
    for (const alias of ['was', 'renamed']) {
      const result = await rekey.users.applySyncedUser(context, entry(connectorId, alias));
      expect(result.outcome).toBe('created');
    }
    // `was` left the directory: the next full run soft-deleted it.
    const removed = await rekey.users.removeMissingSyncedUsers(
      context,
      connectorId,
      new Set(['renamed-immutable']),
    );
    expect(removed.deleted).toBe(1);
    await rekey.db.kysely
      .insertInto('domains')
      .values({
        name: 'pending.example',
        tenant_id: rekey.tenant.id,
        authentication_type: 'Managed',
        is_default: 0,
        is_initial: 0,
        is_verified: 0,
        created_at: new Date().toISOString(),
      })
      .execute();
    await leaveUnits(rekey, 4, 2);
  }

  it('ends every entry of a page as one by one would, licences for new users included when units run out part-way', async () => {
    const connectorId = randomUUID();
    await Promise.all([prepare(batched, connectorId), prepare(single, connectorId)]);
    const page = [
      entry(connectorId, 'a'),
      // The UPN the entry before just took, under another immutable id.
      entry(connectorId, 'a-twin', { userPrincipalName: 'a@example.com' }),
      entry(connectorId, 'cloud1'),
      entry(connectorId, 'boss'),
      entry(connectorId, 'gone'),
      entry(connectorId, 'was', { displayName: 'Was Back' }),
      entry(connectorId, 'renamed', { userPrincipalName: 'fresh@example.com' }),
      // The UPN the entry before moved away from: free again.
      entry(connectorId, 'heir', { userPrincipalName: 'renamed@example.com' }),
      entry(connectorId, 'far', { userPrincipalName: 'far@unknown.example' }),
      entry(connectorId, 'pend', { userPrincipalName: 'pend@pending.example' }),
      // The immutable id of the first entry again, with another name.
      entry(connectorId, 'a', { displayName: 'A Again' }),
      entry(connectorId, 'b'),
      entry(connectorId, 'c'),
      entry(connectorId, 'd'),
      entry(connectorId, 'e'),
    ];
    const context = systemContext('sync-page');
    const atOnce = await batched.users.startSyncRun().applyPage(context, page);
    const oneByOne: SyncedUserResult[] = [];
    for (const input of page) oneByOne.push(await single.users.applySyncedUser(context, input));

    const expected = [
      'created',
      'failed: the UPN a@example.com belongs to a user with another immutable id',
      'updated',
      'failed: the UPN boss@example.com belongs to a cloud user holding a directory role, which a sync never takes over',
      'failed: the UPN gone@example.com belongs to a deleted cloud user; restore or purge it first',
      'updated',
      'updated',
      'created',
      'failed: the UPN far@unknown.example is not in a verified domain of the tenant',
      'failed: the UPN pend@pending.example is not in a verified domain of the tenant',
      'updated',
      'created',
      'created',
      'created',
      'created',
    ];
    expect(atOnce.map(comparable)).toEqual(expected);
    expect(oneByOne.map(comparable)).toEqual(expected);

    const upns = [
      'a@example.com',
      'cloud1@example.com',
      'boss@example.com',
      'was@example.com',
      'fresh@example.com',
      'renamed@example.com',
      'far@unknown.example',
      'pend@pending.example',
      'b@example.com',
      'c@example.com',
      'd@example.com',
      'e@example.com',
    ];
    const state = await usersByUpn(batched, upns);
    expect(state).toEqual(await usersByUpn(single, upns));
    // Four P1 units and two P2 units were left: the first new users in page order got them.
    expect(state).toMatchObject({
      'a@example.com': { skus: [p1, p2], live: true, immutableId: 'a-immutable' },
      'renamed@example.com': { skus: [p1, p2], live: true, immutableId: 'heir-immutable' },
      'b@example.com': { skus: [p1], live: true },
      'c@example.com': { skus: [p1], live: true },
      'd@example.com': { skus: [], live: true },
      'e@example.com': { skus: [], live: true },
      'fresh@example.com': { live: true, immutableId: 'renamed-immutable' },
      'was@example.com': { live: true, immutableId: 'was-immutable' },
      'cloud1@example.com': { live: true, immutableId: 'cloud1-immutable' },
      'boss@example.com': { live: true, immutableId: null },
      'far@unknown.example': undefined,
      'pend@pending.example': undefined,
    });
    for (const rekey of [batched, single]) {
      const left = await units(rekey);
      expect(left[p1]?.consumed).toBe(left[p1]?.enabled);
      expect(left[p2]?.consumed).toBe(left[p2]?.enabled);
    }
    const displayName = await batched.db.kysely
      .selectFrom('users')
      .select(['display_name'])
      .where('upn_key', '=', 'a@example.com')
      .executeTakeFirstOrThrow();
    expect(displayName.display_name).toBe('A Again');
    // The restored user and the soft match are on record one by one, as before.
    const audits = await batched.db.kysely
      .selectFrom('directory_audits')
      .select('activity_display_name')
      .where('correlation_id', '=', context.correlationId)
      .orderBy('activity_at')
      .execute();
    expect(audits.map((row) => row.activity_display_name).sort()).toEqual(['Restore user', 'Update user']);
  });

  it('writes nothing for a page the users already match, and creates nothing twice', async () => {
    const connectorId = randomUUID();
    const page = ['p', 'q', 'r'].map((alias) => entry(connectorId, alias));
    const run = batched.users.startSyncRun();
    const context = systemContext('sync-page-again');
    expect((await run.applyPage(context, page)).map(comparable)).toEqual(['created', 'created', 'created']);
    const before = await batched.db.kysely
      .selectFrom('users')
      .select(['upn_key', 'updated_at', 'on_premises_last_sync_at'])
      .where('on_premises_connector_id', '=', connectorId)
      .orderBy('upn_key')
      .execute();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await run.applyPage(context, page)).map(comparable)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    const after = await batched.db.kysely
      .selectFrom('users')
      .select(['upn_key', 'updated_at', 'on_premises_last_sync_at'])
      .where('on_premises_connector_id', '=', connectorId)
      .orderBy('upn_key')
      .execute();
    expect(after).toEqual(before);
  });

  it('never gives out more units than are left to two runs racing for them', async () => {
    const connectorId = randomUUID();
    await leaveUnits(batched, 5, 0);
    const context = systemContext('sync-page-race');
    const pages = [0, 1].map((run) =>
      Array.from({ length: 4 }, (_, i) => entry(connectorId, `race${run}-${i}`)),
    );
    const results = await Promise.all(
      pages.map((page) => batched.users.startSyncRun().applyPage(context, page)),
    );
    expect(results.flat().map(comparable)).toEqual(Array(8).fill('created'));
    const licensed = await batched.db.kysely
      .selectFrom('user_licenses')
      .innerJoin('users', 'users.id', 'user_licenses.user_id')
      .select(['users.upn_key'])
      .where('users.on_premises_connector_id', '=', connectorId)
      .where('user_licenses.sku_id', '=', p1)
      .execute();
    expect(licensed).toHaveLength(5);
    const left = await units(batched);
    expect(left[p1]?.consumed).toBe(left[p1]?.enabled);
  });
});
