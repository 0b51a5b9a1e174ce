import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { Codes } from '../platform/errors/catalog.js';

// `POST /rekey/v1/me/passwordPolicy/evaluate`: My account's live feedback as a user types.

describe.each(dialects)('the self-service policy dry run on %s', (dialect) => {
  let rekey: TestRekey;
  let user: { id: string; userPrincipalName: string; token: string };
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    user = await rekey.createUserWithToken('juniper', 'Copper-Meadow-41-Xq!', {
      displayName: 'Juniper Okafor',
    });
  });
  afterAll(async () => rekey?.close());

  const evaluate = (token: string | undefined, body: unknown) =>
    rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/me/passwordPolicy/evaluate',
      headers: token ? bearer(token) : {},
      payload: body as Record<string, unknown>,
    });

  it('judges a password for the caller, naming each failing rule and its code', async () => {
    const response = await evaluate(user.token, { password: 'short' });
    expect(response.statusCode).toBe(200);
    const verdict = response.json<{ valid: boolean; failures: { code: number }[]; user: { id: string } }>();
    expect(verdict.valid).toBe(false);
    expect(verdict.failures.length).toBeGreaterThan(0);
    expect(verdict.user.id).toBe(user.id);
    expect(response.body).not.toContain('short"');
  });

  it('refuses a password made of the user own name (the policy engine knows who asks)', async () => {
    const verdict = (await evaluate(user.token, { password: 'Juniper-Okafor-2026!' })).json<{
      passwordProtection: { matchedSources: string[] };
    }>();
    expect(verdict.passwordProtection.matchedSources).toContain('userName');
  });

  it('accepts a strong password', async () => {
    const verdict = (await evaluate(user.token, { password: 'Tundra-Harbour-Quill-88!' })).json<{
      valid: boolean;
    }>();
    expect(verdict.valid).toBe(true);
  });

  it('takes no other user: a userId in the body is refused', async () => {
    const response = await evaluate(user.token, { password: 'Tundra-Harbour-Quill-88!', userId: 'x' });
    expectErrorCode(response, 400, Codes.RequestValidationFailed);
  });

  it('needs a signed-in caller', async () => {
    expect((await evaluate(undefined, { password: 'Tundra-Harbour-Quill-88!' })).statusCode).toBe(401);
  });

  it('never writes the password to the log', async () => {
    await evaluate(user.token, { password: 'Marigold-Secret-Value-77!' });
    expect(rekey.logLines.join('\n')).not.toContain('Marigold-Secret-Value-77!');
  });
});
