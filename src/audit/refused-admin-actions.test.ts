import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { listAuditsByCorrelation } from './audit-store.js';

/*
 * "Every refused administrative action writes an audit row" (issue 9, item 9): a Helpdesk
 * Administrator refused a reset, an unlock and a PATCH leaves one failure row each, naming the
 * caller, the target and the reason; and a caller who keeps being refused is throttled (429)
 * instead of filling the log.
 */

const password = 'Harbor-Signal-27!';

describe.each(dialects)('audited refusals of administrative actions on %s', (dialect) => {
  let rekey: TestRekey;
  let helpdesk: { id: string; userPrincipalName: string; token: string };
  let globalAdmin: { id: string; userPrincipalName: string };
  let plain: { id: string; userPrincipalName: string };

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { env: { REKEY_RATE_LIMIT_REFUSED_ADMIN: '5' } });
    helpdesk = await rekey.createUserWithToken('helpdesk', password, { roles: ['Helpdesk Administrator'] });
    globalAdmin = await rekey.createUser('global', password, { roles: ['Global Administrator'] });
    plain = await rekey.createUser('plain', password);
  });
  afterAll(async () => rekey?.close());

  const requests = {
    reset: (targetId: string) => ({
      method: 'POST' as const,
      url: `/v1.0/users/${targetId}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: { newPassword: 'Granite-Valley-58!' },
    }),
    unlock: (targetId: string) => ({ method: 'POST' as const, url: `/rekey/v1/users/${targetId}/unlock` }),
    patch: (targetId: string) => ({
      method: 'PATCH' as const,
      url: `/v1.0/users/${targetId}`,
      payload: { displayName: 'Changed by the help desk' },
    }),
  };

  async function refusedRows(
    action: keyof typeof requests,
    target: { id: string },
    correlationId: string,
  ): Promise<Array<readonly unknown[]>> {
    const response = await rekey.app.inject({
      ...requests[action](target.id),
      headers: { ...bearer(helpdesk.token), 'client-request-id': correlationId },
    });
    expectErrorCode(response, 403, 7700103);
    const rows = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlationId);
    return rows.map((row) => [
      row.activity_display_name,
      row.result,
      row.initiated_by_upn,
      JSON.parse(row.target_resources)[0]?.id,
      row.result_reason.startsWith('AADSTS7700103: '),
    ]);
  }

  it.each([
    ['reset', 'Reset password (by admin)'],
    ['unlock', 'Unlock user account'],
    ['patch', 'Update user'],
  ] as const)(
    "writes one failure row for a Helpdesk Administrator's refused %s",
    async (action, activity) => {
      // A PATCH is refused for any target (the role is not in the sensitive-action table); a reset
      // and an unlock are refused for a Global Administrator.
      const target = action === 'patch' ? plain : globalAdmin;
      const rows = await refusedRows(action, target, `hd-${action}-${dialect}`);
      expect(rows).toEqual([[activity, 'failure', helpdesk.userPrincipalName, target.id, true]]);
    },
  );

  it('throttles a caller past the limit of refused actions: 429 with Retry-After, no more rows', async () => {
    const caller = await rekey.createUserWithToken('prober', password, { roles: ['Helpdesk Administrator'] });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const response = await rekey.app.inject({
        ...requests.patch(plain.id),
        headers: { ...bearer(caller.token), 'client-request-id': `probe-${dialect}-${i}` },
      });
      statuses.push(response.statusCode);
      if (response.statusCode === 429) {
        expect(response.headers['retry-after']).toBeDefined();
        expect(
          response.json<{ error: { innerError: { aadstsCode: number } } }>().error.innerError.aadstsCode,
        ).toBe(7700701);
      }
    }
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429]);
    const rows = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select('id')
      .where('initiated_by_user_id', '=', caller.id)
      .execute();
    expect(rows).toHaveLength(5);
  });

  it('counts the refusals a service audits (a reset of a Global Administrator) toward the same limit', async () => {
    const caller = await rekey.createUserWithToken('prober.two', password, {
      roles: ['Helpdesk Administrator'],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const response = await rekey.app.inject({
        ...requests.reset(globalAdmin.id),
        headers: bearer(caller.token),
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
    const rows = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select('id')
      .where('initiated_by_user_id', '=', caller.id)
      .execute();
    expect(rows).toHaveLength(5);
  });
});
