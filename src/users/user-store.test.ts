import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import {
  clearUserDeleted,
  listEnabledGlobalAdministratorIds,
  markUserDeleted,
  purgeDeletedUser,
  updateUser,
} from './user-store.js';

describe.each(dialects)('user store on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  it('lists only live, enabled Global Administrators', async () => {
    const db = rekey.db.kysely;
    const tenantId = rekey.tenant.id;
    const [admin] = await listEnabledGlobalAdministratorIds(db, tenantId, { lock: false });
    const other = await rekey.createUser('ga.two', 'Quiet-Harbor-7!', { roles: ['Global Administrator'] });
    const helper = await rekey.createUser('helpdesk', 'Quiet-Harbor-7!', {
      roles: ['Helpdesk Administrator'],
    });
    const ids = await listEnabledGlobalAdministratorIds(db, tenantId, { lock: false });
    expect(ids.sort()).toEqual([admin, other.id].sort());
    expect(ids).not.toContain(helper.id);
    await updateUser(db, other.id, { account_enabled: 0 });
    expect(await listEnabledGlobalAdministratorIds(db, tenantId, { lock: false })).toEqual([admin]);
    await updateUser(db, other.id, { account_enabled: 1 });
    await markUserDeleted(db, other.id, new Date().toISOString());
    expect(await listEnabledGlobalAdministratorIds(db, tenantId, { lock: false })).toEqual([admin]);
  });

  it.runIf(dialect === 'postgres')(
    'holds the administrators’ rows locked until the transaction that read them ends',
    async () => {
      const db = rekey.db.kysely;
      const tenantId = rekey.tenant.id;
      const order: string[] = [];
      let locked: () => void = () => {};
      const firstHasLock = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const first = db.transaction().execute(async (trx) => {
        await listEnabledGlobalAdministratorIds(trx, tenantId, { lock: true });
        order.push('first locked');
        locked();
        await new Promise((resolve) => setTimeout(resolve, 200));
        order.push('first commits');
      });
      await firstHasLock;
      const second = db.transaction().execute(async (trx) => {
        await listEnabledGlobalAdministratorIds(trx, tenantId, { lock: true });
        order.push('second locked');
      });
      await Promise.all([first, second]);
      expect(order).toEqual(['first locked', 'first commits', 'second locked']);
    },
  );

  it('soft-deletes once, restores once, and purges only deleted users with their credentials', async () => {
    const db = rekey.db.kysely;
    const tenantId = rekey.tenant.id;
    const user = await rekey.createUser('purge.me', 'Quiet-Harbor-7!');
    const at = new Date().toISOString();
    expect(await purgeDeletedUser(db, tenantId, user.id)).toBe(false);
    expect(await markUserDeleted(db, user.id, at)).toBe(true);
    expect(await markUserDeleted(db, user.id, at)).toBe(false);
    expect(await clearUserDeleted(db, user.id, at)).toBe(true);
    expect(await clearUserDeleted(db, user.id, at)).toBe(false);
    await markUserDeleted(db, user.id, at);
    expect(await purgeDeletedUser(db, 'another-tenant', user.id)).toBe(false);
    expect(await purgeDeletedUser(db, tenantId, user.id)).toBe(true);
    const leftovers = await Promise.all([
      db.selectFrom('users').select('id').where('id', '=', user.id).execute(),
      db.selectFrom('credentials').select('user_id').where('user_id', '=', user.id).execute(),
      db.selectFrom('password_history').select('id').where('user_id', '=', user.id).execute(),
    ]);
    expect(leftovers).toEqual([[], [], []]);
  });
});
