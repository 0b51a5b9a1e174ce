import { InsufficientAccessError, InvalidCredentialsError, UnwillingToPerformError } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { Codes } from '../../platform/errors/catalog.js';
import { mapDirectoryFailure } from '../directory-outcome.js';
import { bindSubCode, refineActiveDirectoryError, writeErrorNumber } from './active-directory-errors.js';
import { classifyLdapError } from './ldap-errors.js';

/*
 * The answers a Windows domain controller gives that Samba's (test/active-directory.test.ts)
 * does not: 525 for a user that is not there (Samba says 52e), 00002077 for a password write
 * over a plain connection (Samba refuses the bind instead) and 00002098 for a missing right
 * (Samba's text has no number). The texts are Windows's forms.
 */

function refined(error: Error, step: 'userBind' | 'serviceBind' | 'passwordModify') {
  return refineActiveDirectoryError(classifyLdapError(error, step, undefined), step);
}

const bindText = (code: string) =>
  `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data ${code}, v4563`;

describe("Active Directory's sub-codes", () => {
  it('reads the data code of a bind and the error number of a write', () => {
    expect(bindSubCode(bindText('52E'))).toBe('52e');
    expect(bindSubCode('no sub-code here')).toBeUndefined();
    expect(writeErrorNumber('0000052d: Constraint violation')).toBe('0000052D');
    expect(writeErrorNumber(undefined)).toBeUndefined();
  });

  it('525 (no such user) is the entry gone: 50126 at sign-in, 120016 in a change', () => {
    const classified = refined(new InvalidCredentialsError(bindText('525')), 'userBind');
    expect(classified).toMatchObject({ reason: 'entryNotFound', directoryCode: '525' });
    expect(mapDirectoryFailure('signIn', classified.reason).code).toBe(Codes.InvalidUserNameOrPassword);
    expect(mapDirectoryFailure('writeback', classified.reason).code).toBe(
      Codes.PasswordChangeUserNotFoundBySspr,
    );
  });

  it("a sub-code of the service account's own bind is the connector's configuration (120015, 80007)", () => {
    const classified = refined(new InvalidCredentialsError(bindText('775')), 'serviceBind');
    expect(classified).toMatchObject({ reason: 'serviceBindFailed', directoryCode: '775' });
    expect(classified.detail).toMatch(/service account.*locked out/);
    expect(mapDirectoryFailure('writeback', classified.reason).code).toBe(
      Codes.PasswordChangeADAdminActionRequired,
    );
    expect(mapDirectoryFailure('signIn', classified.reason).code).toBe(
      Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
    );
  });

  it('00002077 (a password write over a plain connection) is 120015 naming ldaps:// or startTls', () => {
    const classified = refined(
      new UnwillingToPerformError('00002077: SvcErr: DSID-03190F4C, problem 5003 (WILL_NOT_PERFORM), data 0'),
      'passwordModify',
    );
    expect(classified).toMatchObject({ reason: 'confidentialityRequired', directoryCode: '00002077' });
    expect(classified.detail).toMatch(/ldaps:\/\/.*startTls/);
    expect(mapDirectoryFailure('writeback', classified.reason).code).toBe(
      Codes.PasswordChangeADAdminActionRequired,
    );
  });

  it('00002098 (insufficient rights) is 120015; an unknown number is kept with the LDAP reason', () => {
    expect(
      refined(
        new InsufficientAccessError(
          '00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0',
        ),
        'passwordModify',
      ),
    ).toMatchObject({ reason: 'insufficientAccess', directoryCode: '00002098' });
    expect(
      refined(new UnwillingToPerformError('0000001F: SvcErr: DSID-031A12D2, problem 5003'), 'passwordModify'),
    ).toMatchObject({ reason: 'passwordChangeRefused', directoryCode: '0000001F' });
  });
});
