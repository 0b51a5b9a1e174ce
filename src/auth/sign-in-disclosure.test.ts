import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode } from '../../test/support/http-helpers.js';
import { cliClientId, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { systemContext } from '../platform/request-context.js';
import { listSignInsByCorrelation } from '../sign-ins/sign-in-store.js';
import { applySignInPatch, defaultSignInSettings } from './sign-in-disclosure.js';

/*
 * `signInErrorDisclosure`: what a refused sign-in tells a caller who has not proven who they are.
 * `uniform` (the default) answers an unknown user, a wrong password and a locked or disabled
 * account tried with a wrong password alike; `entraCompatible` answers as Entra does. The sign-in
 * and audit logs keep the true reason in both.
 */

const password = 'Quiet-Harbor-7!';

/** The parts of an OAuth error body that differ between two requests whatever they asked. */
function withoutIds(body: Record<string, unknown>): Record<string, unknown> {
  const { trace_id: _trace, correlation_id: _correlation, timestamp: _timestamp, ...rest } = body;
  const description = String(rest['error_description'])
    .split(/\r?\n/)
    .filter((line) => !/^(Trace ID|Correlation ID|Timestamp):/.test(line))
    .join('\n');
  return { ...rest, error_description: description };
}

describe.each(dialects)('sign-in error disclosure on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let serial = 0;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());
  afterEach(async () => {
    await rekey.settings.updateSignIn(systemContext('disclosure-test-reset'), defaultSignInSettings);
  });

  function signIn(upn: string, pass: string, correlationId: string): Promise<LightMyRequestResponse> {
    return rekey.tokenRequest(
      { grant_type: 'password', client_id: cliClientId, username: upn, password: pass },
      { 'client-request-id': correlationId },
    );
  }

  function expiredChange(upn: string, current: string): Promise<LightMyRequestResponse> {
    serial += 1;
    return rekey.app.inject({
      method: 'POST',
      url: '/example.com/password/change',
      payload: { userPrincipalName: upn, currentPassword: current, newPassword: 'Brand-New-Orbit-84!' },
      headers: { 'client-request-id': `change-${dialect}-${serial}` },
    });
  }

  async function loggedCode(correlationId: string) {
    const rows = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlationId);
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  function patchSettings(body: unknown, query = '', token = admin, correlationId = 'disclosure-patch') {
    return rekey.app.inject({
      method: 'PATCH',
      url: `/rekey/v1/settings/signIn${query}`,
      payload: JSON.stringify(body),
      headers: { ...bearer(token), 'content-type': 'application/json', 'client-request-id': correlationId },
    });
  }

  /** A new user locked on the unfamiliar-network counter (every request here is from 127.0.0.1). */
  async function lockedUser(alias: string) {
    const user = await rekey.createUser(alias, password);
    const threshold = (await rekey.settings.getSmartLockout()).lockoutThreshold;
    for (let i = 0; i < threshold; i += 1)
      await signIn(user.userPrincipalName, `Wrong-${i}-Guess!`, `lock-${alias}`);
    return user;
  }

  it('is uniform by default: an unknown user and a wrong password get the same answer, the log keeps 50034 and 50126', async () => {
    const got = await rekey.app.inject({
      method: 'GET',
      url: '/rekey/v1/settings/signIn',
      headers: bearer(admin),
    });
    expect(got.json()).toEqual({ signInErrorDisclosure: 'uniform' });
    const known = await rekey.createUser('uniform.known', password);
    const unknown = await signIn('nobody.uniform@example.com', password, `u-unknown-${dialect}`);
    const wrong = await signIn(known.userPrincipalName, 'Not-Her-Password-1!', `u-wrong-${dialect}`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error_codes).toEqual([50126]);
    expect(withoutIds(unknown.json())).toEqual(withoutIds(wrong.json()));
    expect(await loggedCode(`u-unknown-${dialect}`)).toMatchObject({ error_code: 50034, user_id: null });
    expect((await loggedCode(`u-unknown-${dialect}`))?.additional_details).toContain(
      'The caller was answered AADSTS50126',
    );
    expect(await loggedCode(`u-wrong-${dialect}`)).toMatchObject({ error_code: 50126, user_id: known.id });
  });

  it('answers a locked account like a wrong password unless the right password is given; the log says 50053 each time', async () => {
    const user = await lockedUser('uniform.locked');
    const upn = user.userPrincipalName;
    const reference = await signIn('nobody.reference@example.com', password, `u-ref-${dialect}`);
    const lockedWrong = await signIn(upn, 'Yet-Another-Guess-1!', `u-locked-wrong-${dialect}`);
    expect(withoutIds(lockedWrong.json())).toEqual(withoutIds(reference.json()));
    const lockedRight = await signIn(upn, password, `u-locked-right-${dialect}`);
    expect(lockedRight.json().error_codes).toEqual([50053]);
    const wrongRow = await loggedCode(`u-locked-wrong-${dialect}`);
    expect(wrongRow).toMatchObject({ error_code: 50053, user_id: user.id });
    expect(wrongRow?.additional_details).toContain('The password given was wrong.');
    expect(wrongRow?.additional_details).toContain('The caller was answered AADSTS50126');
    const rightRow = await loggedCode(`u-locked-right-${dialect}`);
    expect(rightRow).toMatchObject({ error_code: 50053, user_id: user.id });
    expect(rightRow?.additional_details).toContain('The password given was right.');
    expect(rightRow?.additional_details).not.toContain('The caller was answered');
    // The attempt that locked was a wrong password: answered as one, logged as the lock.
    const locking = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, 'lock-uniform.locked');
    expect(locking.filter((row) => row.error_code === 50053)).toHaveLength(1);
    expect(locking.filter((row) => row.error_code === 50126)).toHaveLength(locking.length - 1);
  });

  it('tells a disabled account only to a caller with the right password, and says it in the log', async () => {
    const user = await rekey.createUser('uniform.disabled', password, { accountEnabled: false });
    const reference = await signIn('nobody.disabled@example.com', password, `d-ref-${dialect}`);
    const wrong = await signIn(user.userPrincipalName, 'Not-Her-Password-1!', `d-wrong-${dialect}`);
    expect(withoutIds(wrong.json())).toEqual(withoutIds(reference.json()));
    const row = await loggedCode(`d-wrong-${dialect}`);
    expect(row).toMatchObject({ error_code: 50126, user_id: user.id });
    expect(row?.additional_details).toContain('disabled (AADSTS50057)');
    const right = await signIn(user.userPrincipalName, password, `d-right-${dialect}`);
    expect(right.json().error_codes).toEqual([50057]);
    expect(await loggedCode(`d-right-${dialect}`)).toMatchObject({ error_code: 50057 });
  });

  it('applies the same rule to the expired-password change, and the audit row keeps the true reason', async () => {
    const user = await lockedUser('uniform.change');
    const upn = user.userPrincipalName;
    expectErrorCode(await expiredChange('nobody.change@example.com', password), 400, 120000);
    const wrong = await expiredChange(upn, 'Yet-Another-Guess-1!');
    expectErrorCode(wrong, 400, 120000);
    const [audit] = await listAuditsByCorrelation(
      rekey.db.kysely,
      rekey.tenant.id,
      String(wrong.headers['client-request-id']),
    );
    expect(audit?.result_reason).toContain('7700501');
    expect(JSON.stringify(audit)).toContain('answeredCode');
    expectErrorCode(await expiredChange(upn, password), 400, 7700501);

    await rekey.settings.updateSignIn(systemContext('disclosure-test'), {
      signInErrorDisclosure: 'entraCompatible',
    });
    expectErrorCode(await expiredChange(upn, 'Yet-Another-Guess-2!'), 400, 7700501);
  });

  it('answers as Entra does in entraCompatible mode: 50034 for an unknown user, 50053 for a locked account', async () => {
    const changed = await patchSettings(
      { signInErrorDisclosure: 'entraCompatible' },
      '',
      admin,
      `disclosure-patch-${dialect}`,
    );
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toEqual({ signInErrorDisclosure: 'entraCompatible' });
    const [audit] = await listAuditsByCorrelation(
      rekey.db.kysely,
      rekey.tenant.id,
      `disclosure-patch-${dialect}`,
    );
    expect(audit).toMatchObject({
      activity_display_name: 'Update sign-in error disclosure policy',
      category: 'Policy',
      result: 'success',
    });
    expect(JSON.stringify(audit)).toContain('entraCompatible');

    const unknown = await signIn('nobody.entra@example.com', password, `e-unknown-${dialect}`);
    expect(unknown.json().error_codes).toEqual([50034]);
    expect(unknown.json().error_description).toMatch(/^AADSTS50034: /);
    expect(unknown.json().error_uri).toBe('http://rekey.test/error?code=50034');
    expect((await loggedCode(`e-unknown-${dialect}`))?.additional_details ?? '').not.toContain(
      'The caller was answered',
    );
    const user = await lockedUser('entra.locked');
    const lockedWrong = await signIn(user.userPrincipalName, 'Yet-Another-Guess-1!', `e-locked-${dialect}`);
    expect(lockedWrong.json().error_codes).toEqual([50053]);
    expect(await loggedCode(`e-locked-${dialect}`)).toMatchObject({ error_code: 50053 });
  });

  it('validates the setting, previews a change, and lets only policy administrators change it', async () => {
    const bad = await patchSettings({ signInErrorDisclosure: 'loud' });
    expectErrorCode(bad, 400, 7700001);
    expect(bad.json().error.message).toContain(
      'signInErrorDisclosure must be one of uniform, entraCompatible',
    );
    expectErrorCode(await patchSettings({ disclosure: 'uniform' }), 400, 7700001);
    expectErrorCode(await patchSettings(['uniform']), 400, 7700001);
    const preview = await patchSettings({ signInErrorDisclosure: 'entraCompatible' }, '?preview=true');
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toMatchObject({
      changes: [{ field: 'signInErrorDisclosure', oldValue: 'uniform', newValue: 'entraCompatible' }],
      impact: { note: expect.stringContaining('50034') },
    });
    expect((await rekey.settings.getSignIn()).signInErrorDisclosure).toBe('uniform');
    const plain = await rekey.createUserWithToken('disclosure.plain', password);
    expectErrorCode(
      await patchSettings({ signInErrorDisclosure: 'entraCompatible' }, '', plain.token),
      403,
      7700103,
    );
    expect(() => applySignInPatch(defaultSignInSettings, { toString: 'x' })).toThrow(
      /toString is not a setting/,
    );
  });
});
