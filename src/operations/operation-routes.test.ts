import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer } from '../../test/support/http-helpers.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import type { OperationPage, OperationWithHistoryView } from './operation-schemas.js';

/*
 * GET /rekey/v1/operations (filters, keyset paging) and GET /rekey/v1/operations/{id} (with its
 * history), for administrators only; and `rekey operations list|show`, which read the same.
 */

describe.each(dialects)('the operations API and CLI on %s', (dialect) => {
  let cli: CliTestRekey;
  let rekey: TestRekey;
  const password = 'Lantern-Grove-38!';
  let subject: { id: string; userPrincipalName: string };
  let other: { id: string; userPrincipalName: string };
  let resetIds: string[] = [];
  let failedId = '';

  const get = async (url: string, token?: string) =>
    rekey.app.inject({ method: 'GET', url, headers: bearer(token ?? (await rekey.adminToken())) });

  async function reset(userId: string, newPassword: string): Promise<string> {
    const response = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${userId}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: { newPassword },
      headers: bearer(await rekey.adminToken()),
    });
    expect(response.statusCode, response.body).toBe(202);
    return String(response.headers['location']).split('/').pop() ?? '';
  }

  beforeAll(async () => {
    cli = await startCliTestRekey(dialect, 'rekey-operations-');
    rekey = cli.rekey;
    subject = await rekey.createUser('ops.subject', password);
    other = await rekey.createUser('ops.other', password);
    // Five resets of one user and one of another, run by the worker one by one.
    for (let i = 0; i < 5; i += 1) {
      resetIds.push(await reset(subject.id, `Kestrel-Summit-${i}-Bay!`));
      await rekey.operations.runDueOperations();
    }
    await reset(other.id, 'Willow-Cascade-9!');
    await rekey.operations.runDueOperations();
    // One that ends terminated: its user is deleted before the worker runs it.
    const doomed = await rekey.createUser('ops.doomed', password);
    failedId = await reset(doomed.id, 'Granite-Heron-4!');
    await rekey.db.kysely
      .updateTable('users')
      .set({ deleted_at: new Date().toISOString() })
      .where('id', '=', doomed.id)
      .execute();
    await rekey.operations.runDueOperations();
    resetIds = resetIds.reverse();
  });
  afterAll(async () => cli?.close());

  it('lists operations newest first, pages by keyset with a next link, and filters by user', async () => {
    const first = await get(`/rekey/v1/operations?user=${subject.userPrincipalName}&top=2`);
    expect(first.statusCode, first.body).toBe(200);
    const page1 = first.json<OperationPage>();
    expect(page1.value?.map((o) => o.id)).toEqual(resetIds.slice(0, 2));
    expect(page1['@odata.nextLink']).toMatch(
      /^http:\/\/rekey\.test\/rekey\/v1\/operations\?user=.*&top=2&skiptoken=/,
    );
    const seen = [...(page1.value ?? [])];
    let next = page1['@odata.nextLink'];
    while (next) {
      const page = (await get(next.replace('http://rekey.test', ''))).json<OperationPage>();
      seen.push(...(page.value ?? []));
      next = page['@odata.nextLink'];
    }
    expect(seen.map((o) => o.id)).toEqual(resetIds);
    expect(
      seen.every((o) => o.userId === subject.id && o.kind === 'adminReset' && o.state === 'succeeded'),
    ).toBe(true);
    // Whose they are, by name as well as by id.
    expect(new Set(seen.map((o) => o.userPrincipalName))).toEqual(new Set([subject.userPrincipalName]));
    // The sealed password is never part of the answer.
    expect(first.body).not.toContain('secret');
    expect(first.body).not.toContain('Kestrel');
  });

  it('filters by state, code, kind and time', async () => {
    const terminated = (await get('/rekey/v1/operations?state=terminated')).json<OperationPage>();
    expect(terminated.value?.map((o) => o.id)).toEqual([failedId]);
    expect(terminated.value?.[0]?.error).toEqual({
      code: 7700105,
      name: 'DeletedAccount',
      retryable: false,
      detail: expect.any(String),
    });
    expect(
      (await get('/rekey/v1/operations?code=7700105')).json<OperationPage>().value?.map((o) => o.id),
    ).toEqual([failedId]);
    expect((await get('/rekey/v1/operations?kind=selfChange')).json<OperationPage>().value).toEqual([]);
    const future = (await get('/rekey/v1/operations?since=2999-01-01T00:00:00Z')).json<OperationPage>();
    expect(future.value).toEqual([]);
    const all = (await get('/rekey/v1/operations?until=2999-01-01T00:00:00Z&top=200')).json<OperationPage>();
    expect(all.value?.length).toBe(7);
    expect((await get('/rekey/v1/operations?user=nobody@example.com')).json<OperationPage>().value).toEqual(
      [],
    );
  });

  it('shows one operation with its history, each entry with its code and retryable flag', async () => {
    const response = await get(`/rekey/v1/operations/${failedId}`);
    expect(response.statusCode, response.body).toBe(200);
    const view = response.json<OperationWithHistoryView>();
    // A deleted user's operations still name them.
    expect(view).toMatchObject({
      id: failedId,
      state: 'terminated',
      kind: 'adminReset',
      userPrincipalName: 'ops.doomed@example.com',
    });
    expect(view.statusDetail).toContain('cause AADSTS7700105');
    expect(view.history.map((e) => [e.state, e.code, e.retryable])).toEqual([
      ['notStarted', null, null],
      ['running', null, null],
      ['terminated', 7700105, false],
    ]);
  });

  it('refuses bad input with catalog codes, unknown ids with 404, and non-administrators with 403', async () => {
    const badState = await get('/rekey/v1/operations?state=lost');
    expect(badState.statusCode).toBe(400);
    expect(aadstsCodeOf(badState)).toBe(7700001);
    const badToken = await get('/rekey/v1/operations?skiptoken=not-a-token');
    expect(badToken.statusCode).toBe(400);
    expect(aadstsCodeOf(badToken)).toBe(7700007);
    const backwards = await get('/rekey/v1/operations?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z');
    expect(aadstsCodeOf(backwards)).toBe(7700007);
    const missing = await get('/rekey/v1/operations/00000000-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    const user = await rekey.createUserWithToken('ops.plain', password);
    expect((await get('/rekey/v1/operations', user.token)).statusCode).toBe(403);
    expect((await get(`/rekey/v1/operations/${failedId}`, user.token)).statusCode).toBe(403);
  });

  it('`rekey operations list` and `show` print the same, as text and JSON', async () => {
    const listed = await runRekeyCli(cli.env, [
      'operations',
      'list',
      '--user',
      subject.userPrincipalName,
      '--json',
    ]);
    expect(listed.code, listed.err).toBe(0);
    expect((JSON.parse(listed.out) as Array<{ id: string }>).map((o) => o.id)).toEqual(resetIds);
    const text = await runRekeyCli(cli.env, ['operations', 'list', '--state', 'terminated', '--since', '1d']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(failedId);
    expect(text.out).toContain('7700105 DeletedAccount');
    // The user by name, in the table and in the single view.
    expect(text.out).toMatch(/\buser\b/);
    expect(text.out).toContain('ops.doomed@example.com');
    const shown = await runRekeyCli(cli.env, ['operations', 'show', failedId]);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain('state: terminated');
    expect(shown.out).toContain('user: ops.doomed@example.com (');
    expect(shown.out).toMatch(/terminated\s+validate AADSTS7700105 \(not retryable\)/);
    const bad = await runRekeyCli(cli.env, ['operations', 'list', '--state', 'lost']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('7700001');
    const unknown = await runRekeyCli(cli.env, [
      'operations',
      'show',
      '00000000-0000-4000-8000-000000000000',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('7700008');
  });
});
