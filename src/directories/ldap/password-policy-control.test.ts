import { Client, ConstraintViolationError, InvalidCredentialsError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, type TestSlapd } from '../../../test/support/slapd.js';
import { fixtureUsers } from '../../../test/support/slapd-fixtures.js';
import { encodePasswordModifyRequest, passwordModifyOid } from './ldap-directory.js';
import { decodePasswordPolicyResponse, PasswordPolicyControl } from './password-policy-control.js';

describe('decodePasswordPolicyResponse', () => {
  it('reads an empty value as no warning and no error', () => {
    expect(decodePasswordPolicyResponse(Buffer.alloc(0))).toEqual({});
    expect(decodePasswordPolicyResponse(Buffer.from([0x30, 0x00]))).toEqual({});
  });

  it('reads every error by its number', () => {
    const names = [
      'passwordExpired',
      'accountLocked',
      'changeAfterReset',
      'passwordModNotAllowed',
      'mustSupplyOldPassword',
      'insufficientPasswordQuality',
      'passwordTooShort',
      'passwordTooYoung',
      'passwordInHistory',
    ];
    names.forEach((name, number) => {
      expect(decodePasswordPolicyResponse(Buffer.from([0x30, 0x03, 0x81, 0x01, number]))).toEqual({
        error: name,
      });
    });
  });

  it('reads both warnings, with multi-byte integers, beside an error', () => {
    // timeBeforeExpiration 86399 = 0x01517f
    expect(
      decodePasswordPolicyResponse(Buffer.from([0x30, 0x07, 0xa0, 0x05, 0x80, 0x03, 0x01, 0x51, 0x7f])),
    ).toEqual({ timeBeforeExpiration: 86_399 });
    expect(
      decodePasswordPolicyResponse(Buffer.from([0x30, 0x08, 0xa0, 0x03, 0x81, 0x01, 0x02, 0x81, 0x01, 0x00])),
    ).toEqual({ graceAuthNsRemaining: 2, error: 'passwordExpired' });
  });

  it('keeps an error number it does not know, and drops noError (65535)', () => {
    expect(decodePasswordPolicyResponse(Buffer.from([0x30, 0x03, 0x81, 0x01, 0x20]))).toEqual({
      unknownErrorNumber: 32,
    });
    expect(decodePasswordPolicyResponse(Buffer.from([0x30, 0x05, 0x81, 0x03, 0x00, 0xff, 0xff]))).toEqual({});
  });

  it('refuses a value that is not the sequence', () => {
    expect(() => decodePasswordPolicyResponse(Buffer.from([0x04, 0x01, 0x00]))).toThrow(/SEQUENCE/);
    expect(() => decodePasswordPolicyResponse(Buffer.from([0x30, 0x05, 0x81]))).toThrow(/truncated/);
  });
});

describe('the password-policy control on ldapts, against a real slapd', () => {
  let slapd: TestSlapd;
  beforeAll(async () => {
    slapd = await startSlapd();
  });
  afterAll(async () => {
    await slapd.close();
  });

  async function withClient<T>(run: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ url: slapd.url, timeout: 5_000 });
    try {
      return await run(client);
    } finally {
      await client.unbind();
    }
  }

  it('ldapts drops response controls from the error of a failed bind, and the request control keeps them', async () => {
    const control = new PasswordPolicyControl();
    const { pam } = fixtureUsers;
    const error = await withClient((client) => client.bind(pam.dn, pam.password, control)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidCredentialsError);
    // The error itself has the result code and the text, and nothing of the controls.
    expect(Object.keys(error as object).sort()).toEqual(['code', 'name']);
    expect(control.response).toEqual({ error: 'passwordExpired' });
  });

  it('without the control the same failure cannot be told from a wrong password', async () => {
    const { pam } = fixtureUsers;
    const error = await withClient((client) => client.bind(pam.dn, pam.password)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect((error as InvalidCredentialsError).code).toBe(49);
  });

  it('keeps the reason of a failed password-modify extended operation', async () => {
    const { ann } = fixtureUsers;
    const control = new PasswordPolicyControl();
    const error = await withClient(async (client) => {
      await client.bind(ann.dn, ann.password);
      return client.exop(
        passwordModifyOid,
        encodePasswordModifyRequest({ oldPassword: ann.password, newPassword: 'short' }),
        control,
      );
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConstraintViolationError);
    expect(control.response).toEqual({ error: 'passwordTooShort' });
  });

  it('reads a warning on a successful bind', async () => {
    const { ray } = fixtureUsers;
    const control = new PasswordPolicyControl();
    await withClient((client) => client.bind(ray.dn, ray.password, control));
    const seconds = control.response?.timeBeforeExpiration ?? 0;
    // Ray's password was set 2 hours ago and lasts a day.
    expect(seconds).toBeGreaterThan(21 * 3600);
    expect(seconds).toBeLessThanOrEqual(22 * 3600);
  });

  it('reads "nothing to report" on a plain successful bind, and leaves a control the server never answered unset', async () => {
    const { ann } = fixtureUsers;
    const answered = new PasswordPolicyControl();
    await withClient((client) => client.bind(ann.dn, ann.password, answered));
    expect(answered.response).toEqual({});
    const unanswered = new PasswordPolicyControl();
    await withClient(async (client) => {
      await client.bind(ann.dn, ann.password);
      await client.search(slapd.baseDn, { scope: 'base' }, unanswered);
    });
    expect(unanswered.response).toBeUndefined();
  });
});
